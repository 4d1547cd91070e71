import { useEffect, useState } from "react";
import { get } from "./client";
import { items } from "./lists";
import type { Page, Pipeline } from "./types";

/** Pipeline id -> name, so lists show a pipeline's name rather than "#2" (a project's, or all you can see). */
export function usePipelineNames(projectId?: number | string): ReadonlyMap<number, string> {
  const [names, setNames] = useState<ReadonlyMap<number, string>>(new Map());
  useEffect(() => {
    const query = projectId === undefined ? "" : `project=${projectId}&`;
    get<Page<Pipeline>>(`/api/pipelines/?${query}limit=500`)
      .then((p) => setNames(new Map(items(p).map((x) => [x.id, x.name]))))
      .catch(() => undefined); // the ids stay shown
  }, [projectId]);
  return names;
}
