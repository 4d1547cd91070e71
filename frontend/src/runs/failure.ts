// Why a run failed, in its own words: the run's error says only "node 'feature_extraction' failed"; the failed
// node's error says what to change (a label of three values, a column not in the file, …).
import type { Run } from "../api/types";

/** "feature_extraction: label column 'plan' must hold two values; …" for each node that failed (not skipped). */
export function failedNodeReasons(run: Pick<Run, "status" | "nodes">): string[] {
  if (run.status !== "failed") return [];
  return (run.nodes ?? [])
    .filter((n) => n.status === "failed")
    .map((n) => {
      const error = n.error as { message?: unknown } | string | null;
      const message = typeof error === "string" ? error : typeof error?.message === "string" ? error.message : "";
      return message ? `${n.node}: ${message}` : "";
    })
    .filter(Boolean);
}
