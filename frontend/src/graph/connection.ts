import type { Catalogue, GraphDoc, GraphEdge } from "./types";

export type ConnectionCheck = { ok: true } | { ok: false; reason: string };

export function edgeId(e: GraphEdge): string {
  return `${e.source}:${e.source_port}->${e.target}:${e.target_port}`;
}

function nodeName(doc: GraphDoc, id: string): string {
  const node = doc.nodes.find((n) => n.id === id);
  return node?.label ? `"${node.label}"` : `"${id}"`;
}

/** Would `downstream` reach `upstream` by following edges? Then joining upstream -> downstream closes a cycle. */
function pathBetween(doc: GraphDoc, from: string, to: string): string[] | null {
  const next = new Map<string, string[]>();
  for (const e of doc.edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const cameFrom = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length) {
    const here = queue.shift()!;
    if (here === to) {
      const path = [to];
      while (path[0] !== from) path.unshift(cameFrom.get(path[0])!);
      return path;
    }
    for (const n of next.get(here) ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        cameFrom.set(n, here);
        queue.push(n);
      }
    }
  }
  return null;
}

/**
 * May this edge be added? The same rules as pipelines.validation, checked before the edge exists,
 * so the canvas can refuse it and say why: ports must exist, an output feeds only an input of the
 * same port type, an input takes one edge, and the graph stays acyclic.
 */
export function checkConnection(doc: GraphDoc, catalogue: Catalogue, edge: GraphEdge): ConnectionCheck {
  const source = doc.nodes.find((n) => n.id === edge.source);
  const target = doc.nodes.find((n) => n.id === edge.target);
  if (!source) return { ok: false, reason: `There is no node "${edge.source}".` };
  if (!target) return { ok: false, reason: `There is no node "${edge.target}".` };
  if (source.id === target.id) return { ok: false, reason: "A node cannot feed its own input." };
  const srcOp = catalogue.get(source.operator);
  const dstOp = catalogue.get(target.operator);
  if (!srcOp) return { ok: false, reason: `${nodeName(doc, source.id)} uses an unknown operator "${source.operator}".` };
  if (!dstOp) return { ok: false, reason: `${nodeName(doc, target.id)} uses an unknown operator "${target.operator}".` };
  const out = srcOp.outputs.find((p) => p.name === edge.source_port);
  const inp = dstOp.inputs.find((p) => p.name === edge.target_port);
  if (!out) return { ok: false, reason: `${nodeName(doc, source.id)} has no output "${edge.source_port}".` };
  if (!inp) return { ok: false, reason: `${nodeName(doc, target.id)} has no input "${edge.target_port}".` };
  if (out.type !== inp.type) {
    return {
      ok: false,
      reason:
        `Input "${inp.name}" of ${nodeName(doc, target.id)} takes ${inp.type}, ` +
        `but output "${out.name}" of ${nodeName(doc, source.id)} gives ${out.type}.`,
    };
  }
  const taken = doc.edges.find((e) => e.target === edge.target && e.target_port === edge.target_port);
  if (taken) {
    return {
      ok: false,
      reason:
        `Input "${inp.name}" of ${nodeName(doc, target.id)} is already fed by ${nodeName(doc, taken.source)}; ` +
        "delete that edge first.",
    };
  }
  const cycle = pathBetween(doc, target.id, source.id);
  if (cycle) {
    return { ok: false, reason: `This edge would close a cycle: ${[...cycle, target.id].join(" → ")}.` };
  }
  return { ok: true };
}
