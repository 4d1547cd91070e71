// A project's database connections (what an import_sql node's `connection` names): listed by name, the URL
// write-only on the API and shown masked.
import { get } from "../api/client";
import { items } from "../api/lists";
import type { Page } from "../api/types";
import type { components } from "../api/schema";

export type Connection = components["schemas"]["Connection"];

export const listConnections = (projectId: number | string) =>
  get<Page<Connection> | Connection[]>(`/api/connections/?project=${projectId}&limit=500`).then(items);

/** The URL's shape, as a placeholder a person can copy and fill in. */
export const URL_EXAMPLE = "postgresql://user:password@host:5432/database";
