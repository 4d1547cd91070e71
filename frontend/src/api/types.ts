// Types of the studio API, generated from its OpenAPI schema (src/api/schema.d.ts, `make api-types`).
import type { components } from "./schema";

type S = components["schemas"];
export type Project = S["Project"];
export type Pipeline = S["Pipeline"];
export type PipelineVersion = S["PipelineVersion"];
export type Run = S["Run"];
export type NodeRun = S["NodeRun"];
export type RunEvent = S["RunEvent"];
export type Operator = S["Operator"];
export type Session = S["Session"];
export type DiffResult = S["DiffResult"];
export type ValidationResult = S["ValidationResult"];
export interface Page<T> {
  count: number;
  next?: string | null;
  previous?: string | null;
  results: T[];
}
