// An autosaved draft per pipeline, kept in this browser while the canvas has unsaved changes, so a page that
// was closed without saving (a crash, a killed tab) offers to restore them when it is opened again.
import { canonicalJson, toPipelineJson } from "../graph/serialize";
import type { GraphDoc } from "../graph/types";

export interface Draft {
  graph: ReturnType<typeof toPipelineJson>;
  /** the saved version the edits started from */
  base: number;
  at: string;
}

const key = (pipelineId: number | string) => `studio.draft.pipeline.${pipelineId}`;

export function readDraft(pipelineId: number | string): Draft | null {
  try {
    const raw = window.localStorage.getItem(key(pipelineId));
    const draft = raw ? (JSON.parse(raw) as Draft) : null;
    return draft && typeof draft === "object" && draft.graph && Array.isArray(draft.graph.nodes) ? draft : null;
  } catch {
    return null; // unreadable: as if there were none
  }
}

export function writeDraft(pipelineId: number | string, doc: GraphDoc, base: number): void {
  try {
    window.localStorage.setItem(key(pipelineId), JSON.stringify({ graph: toPipelineJson(doc), base, at: new Date().toISOString() }));
  } catch {
    // storage full or disabled: the navigation guard still asks before leaving
  }
}

export function clearDraft(pipelineId: number | string): void {
  try {
    window.localStorage.removeItem(key(pipelineId));
  } catch {
    // nothing to clear
  }
}

/** A draft worth offering: it differs from the saved graph the page opened with. */
export function differs(draft: Draft | null, saved: GraphDoc): boolean {
  return draft !== null && canonicalJson(draft.graph) !== canonicalJson(toPipelineJson(saved));
}
