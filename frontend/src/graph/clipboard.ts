// Copy / paste of a selection, within a pipeline or into another one. The clipboard is plain JSON,
// so it can travel through localStorage (another tab, another pipeline) or the system clipboard.
import { allIds, freshId } from "./ops";
import type { GraphDoc, GraphEdge, GraphNode, StickyNote, XY } from "./types";

export const CLIPBOARD_FORMAT = "studio.clipboard/1";

export interface Clipboard {
  format: typeof CLIPBOARD_FORMAT;
  nodes: GraphNode[];
  edges: GraphEdge[]; // only the edges between copied nodes
  comments: StickyNote[];
}

export function copySelection(doc: GraphDoc, nodeIds: Iterable<string>, commentIds: Iterable<string> = []): Clipboard {
  const ids = new Set(nodeIds);
  const notes = new Set(commentIds);
  const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  return {
    format: CLIPBOARD_FORMAT,
    nodes: clone(doc.nodes.filter((n) => ids.has(n.id))),
    edges: clone(doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target))),
    comments: clone(doc.comments.filter((c) => notes.has(c.id))),
  };
}

/** Read a clipboard back from text; null when the text is not one (anything else the user copied). */
export function parseClipboard(text: string | null | undefined): Clipboard | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<Clipboard>;
    if (value?.format !== CLIPBOARD_FORMAT || !Array.isArray(value.nodes) || !Array.isArray(value.edges)) return null;
    return { format: CLIPBOARD_FORMAT, nodes: value.nodes, edges: value.edges, comments: value.comments ?? [] };
  } catch {
    return null;
  }
}

/**
 * Add the clipboard's nodes, their edges and notes to the document, shifted by `offset`. Ids that
 * are taken get a new one and edges follow the rename; parameters and labels are kept.
 */
export function pasteClipboard(
  doc: GraphDoc,
  clip: Clipboard,
  offset: XY = { x: 40, y: 40 },
): { doc: GraphDoc; nodeIds: string[]; commentIds: string[] } {
  const taken = allIds(doc);
  const rename = new Map<string, string>();
  const shift = (p: XY): XY => ({ x: p.x + offset.x, y: p.y + offset.y });
  const nodes = clip.nodes.map((n) => {
    const id = freshId(taken, n.id);
    taken.add(id);
    rename.set(n.id, id);
    return { ...n, id, params: JSON.parse(JSON.stringify(n.params ?? {})), position: shift(n.position) };
  });
  const edges = clip.edges
    .filter((e) => rename.has(e.source) && rename.has(e.target))
    .map((e) => ({ ...e, source: rename.get(e.source)!, target: rename.get(e.target)! }));
  const comments = clip.comments.map((c) => {
    const id = freshId(taken, c.id);
    taken.add(id);
    return { ...c, id, position: shift(c.position) };
  });
  return {
    doc: {
      ...doc,
      nodes: [...doc.nodes, ...nodes],
      edges: [...doc.edges, ...edges],
      comments: [...doc.comments, ...comments],
    },
    nodeIds: nodes.map((n) => n.id),
    commentIds: comments.map((c) => c.id),
  };
}
