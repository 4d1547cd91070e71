// Pure edits of a GraphDoc. Each returns a new document (or the same one when nothing changed), so
// the history can keep every step without copying and React can compare by reference.
import { checkConnection, edgeId, type ConnectionCheck } from "./connection";
import { canonicalJson } from "./serialize";
import type { Catalogue, GraphDoc, GraphEdge, GraphNode, OperatorSpec, StickyNote, XY } from "./types";

/** An id not used yet in the document, readable: "train_lr", "train_lr_2", ... */
export function freshId(taken: ReadonlySet<string>, base: string): string {
  const stem = base.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "") || "node";
  if (!taken.has(stem)) return stem;
  for (let i = 2; ; i++) {
    const id = `${stem}_${i}`;
    if (!taken.has(id)) return id;
  }
}

export function allIds(doc: GraphDoc): Set<string> {
  return new Set([...doc.nodes.map((n) => n.id), ...doc.comments.map((c) => c.id)]);
}

/** Defaults of an operator's parameters, read from its JSON Schema. */
export function defaultParams(spec: OperatorSpec): Record<string, unknown> {
  const props = (spec.params_schema.properties ?? {}) as Record<string, { default?: unknown }>;
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(props)) {
    if (prop && "default" in prop) out[name] = prop.default;
  }
  return out;
}

export function addNode(doc: GraphDoc, spec: OperatorSpec, position: XY): { doc: GraphDoc; id: string } {
  const id = freshId(allIds(doc), spec.name);
  const node: GraphNode = { id, operator: spec.name, version: spec.version, params: defaultParams(spec), position };
  return { doc: { ...doc, nodes: [...doc.nodes, node] }, id };
}

export function moveNodes(doc: GraphDoc, moves: ReadonlyMap<string, XY>): GraphDoc {
  if (moves.size === 0) return doc;
  let changed = false;
  const move = <T extends { id: string; position: XY }>(item: T): T => {
    const to = moves.get(item.id);
    if (!to || (to.x === item.position.x && to.y === item.position.y)) return item;
    changed = true;
    return { ...item, position: { x: to.x, y: to.y } };
  };
  const nodes = doc.nodes.map(move);
  const comments = doc.comments.map(move);
  return changed ? { ...doc, nodes, comments } : doc;
}

export interface Removal {
  nodes?: Iterable<string>;
  edges?: Iterable<string>; // edge ids, see edgeId()
  comments?: Iterable<string>;
}

/** Remove nodes (with every edge touching them), edges and sticky notes, all in one document change. */
export function removeElements(doc: GraphDoc, removal: Removal): GraphDoc {
  const nodes = new Set(removal.nodes ?? []);
  const edges = new Set(removal.edges ?? []);
  const comments = new Set(removal.comments ?? []);
  if (nodes.size + edges.size + comments.size === 0) return doc;
  const next: GraphDoc = {
    ...doc,
    nodes: doc.nodes.filter((n) => !nodes.has(n.id)),
    edges: doc.edges.filter((e) => !nodes.has(e.source) && !nodes.has(e.target) && !edges.has(edgeId(e))),
    comments: doc.comments.filter((c) => !comments.has(c.id)),
  };
  const same =
    next.nodes.length === doc.nodes.length &&
    next.edges.length === doc.edges.length &&
    next.comments.length === doc.comments.length;
  return same ? doc : next;
}

export type ConnectResult = { ok: true; doc: GraphDoc } | { ok: false; reason: string; doc: GraphDoc };

export function connect(doc: GraphDoc, catalogue: Catalogue, edge: GraphEdge): ConnectResult {
  const check: ConnectionCheck = checkConnection(doc, catalogue, edge);
  if (!check.ok) return { ok: false, reason: check.reason, doc };
  return { ok: true, doc: { ...doc, edges: [...doc.edges, { ...edge }] } };
}

function updateNode(doc: GraphDoc, id: string, change: (n: GraphNode) => GraphNode): GraphDoc {
  let changed = false;
  const nodes = doc.nodes.map((n) => {
    if (n.id !== id) return n;
    const updated = change(n);
    changed = updated !== n;
    return updated;
  });
  return changed ? { ...doc, nodes } : doc;
}

export function setParams(doc: GraphDoc, id: string, params: Record<string, unknown>): GraphDoc {
  return updateNode(doc, id, (n) => (canonicalJson(n.params) === canonicalJson(params) ? n : { ...n, params }));
}

export function setLabel(doc: GraphDoc, id: string, label: string): GraphDoc {
  return updateNode(doc, id, (n) => {
    if ((n.label ?? "") === label) return n;
    const { label: _old, ...rest } = n;
    return label ? { ...rest, label } : (rest as GraphNode);
  });
}

export function addComment(doc: GraphDoc, position: XY, text = ""): { doc: GraphDoc; id: string } {
  const id = freshId(allIds(doc), "note");
  const note: StickyNote = { id, text, position };
  return { doc: { ...doc, comments: [...doc.comments, note] }, id };
}

export function setCommentText(doc: GraphDoc, id: string, text: string): GraphDoc {
  let changed = false;
  const comments = doc.comments.map((c) => {
    if (c.id !== id || c.text === text) return c;
    changed = true;
    return { ...c, text };
  });
  return changed ? { ...doc, comments } : doc;
}
