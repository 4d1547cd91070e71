import { canonicalJson } from "./serialize";
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
    const before = h.past[h.past.length - 1];
    // A group that ends where it began (typing taken back with the field's own undo) is no step: else the next
    // Ctrl+Z would undo nothing visible.
    if (before !== undefined && sameDoc(before, next)) return { ...h, past: h.past.slice(0, -1), present: before, future: [], openGroup: null };
    return { ...h, present: next, future: [] };
  }
  const past = [...h.past, h.present];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [], openGroup: group ?? null };
}

/** Equal documents, cheaply: documents share what a change left alone, so only the nodes that differ by identity
 * are compared by content. */
function sameDoc(a: GraphDoc, b: GraphDoc): boolean {
  if (a.edges !== b.edges || a.comments !== b.comments || a.extra !== b.extra || a.nodes.length !== b.nodes.length) return false;
  return a.nodes.every((n, i) => n === b.nodes[i] || canonicalJson(n) === canonicalJson(b.nodes[i]));
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
