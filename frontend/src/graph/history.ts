import type { GraphDoc } from "./types";

/**
 * Undo history over immutable documents. One user action is one step: an action that changes the
 * document many times (dragging nodes, typing into a parameter field) passes the same `group` key on
 * each change, and the changes merge into one step until the group is closed (drag stop, blur) or a
 * change with another key arrives.
 */
export interface History {
  readonly past: readonly GraphDoc[];
  readonly present: GraphDoc;
  readonly future: readonly GraphDoc[];
  readonly openGroup: string | null;
}

export const HISTORY_LIMIT = 200;

export function createHistory(doc: GraphDoc): History {
  return { past: [], present: doc, future: [], openGroup: null };
}

export function record(h: History, next: GraphDoc, group?: string): History {
  if (next === h.present) return h;
  if (group !== undefined && h.openGroup === group) {
    return { ...h, present: next, future: [] };
  }
  const past = [...h.past, h.present];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [], openGroup: group ?? null };
}

export function closeGroup(h: History): History {
  return h.openGroup === null ? h : { ...h, openGroup: null };
}

export const canUndo = (h: History): boolean => h.past.length > 0;
export const canRedo = (h: History): boolean => h.future.length > 0;

export function undo(h: History): History {
  if (!canUndo(h)) return h;
  const previous = h.past[h.past.length - 1];
  return { past: h.past.slice(0, -1), present: previous, future: [h.present, ...h.future], openGroup: null };
}

export function redo(h: History): History {
  if (!canRedo(h)) return h;
  const [next, ...rest] = h.future;
  return { past: [...h.past, h.present], present: next, future: rest, openGroup: null };
}
