import dagre from "@dagrejs/dagre";
import type { GraphDoc, XY } from "./types";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 72;

/** Top-to-bottom layered layout (dagre): sources on top, every edge pointing down. Returns top-left positions. */
export function autoLayout(doc: GraphDoc, size = { width: NODE_WIDTH, height: NODE_HEIGHT }): Map<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of doc.nodes) g.setNode(n.id, { width: size.width, height: size.height });
  for (const e of doc.edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out = new Map<string, XY>();
  for (const n of doc.nodes) {
    const { x, y } = g.node(n.id);
    out.set(n.id, { x: Math.round(x - size.width / 2), y: Math.round(y - size.height / 2) });
  }
  return out;
}
