import type { GraphDoc, GraphEdge, GraphNode, StickyNote } from "./types";

/** Read pipeline JSON into the editable document, filling the optional fields the canvas needs. */
export function fromPipelineJson(json: unknown): GraphDoc {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error("a pipeline must be a JSON object with 'nodes' and 'edges'");
  }
  const { nodes, edges, comments, ...extra } = json as Record<string, unknown>;
  if (!Array.isArray(nodes)) throw new Error("pipeline JSON: 'nodes' must be a list");
  if (!Array.isArray(edges)) throw new Error("pipeline JSON: 'edges' must be a list");
  const docNodes: GraphNode[] = nodes.map((raw, i) => {
    const n = raw as Partial<GraphNode>;
    if (typeof n?.id !== "string" || typeof n.operator !== "string") {
      throw new Error(`pipeline JSON: nodes[${i}] needs a string 'id' and 'operator'`);
    }
    return {
      ...n,
      id: n.id,
      operator: n.operator,
      params: (n.params as Record<string, unknown>) ?? {},
      position: n.position ?? { x: 0, y: i * 120 },
    };
  });
  const docEdges: GraphEdge[] = edges.map((raw, i) => {
    const e = raw as Partial<GraphEdge>;
    for (const key of ["source", "source_port", "target", "target_port"] as const) {
      if (typeof e?.[key] !== "string") throw new Error(`pipeline JSON: edges[${i}] needs a string '${key}'`);
    }
    return { source: e.source!, source_port: e.source_port!, target: e.target!, target_port: e.target_port! };
  });
  const docComments: StickyNote[] = Array.isArray(comments)
    ? comments.map((raw, i) => {
        const c = (raw ?? {}) as Partial<StickyNote>;
        return {
          ...c,
          id: typeof c.id === "string" ? c.id : `note_${i + 1}`,
          text: typeof c.text === "string" ? c.text : "",
          position: c.position ?? { x: 0, y: 0 },
        };
      })
    : [];
  return { nodes: docNodes, edges: docEdges, comments: docComments, extra };
}

/** Write the document back as pipeline JSON; unknown top-level keys come back unchanged. */
export function toPipelineJson(doc: GraphDoc): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc.extra, nodes: doc.nodes, edges: doc.edges };
  if (doc.comments.length > 0) out.comments = doc.comments;
  return out;
}

/** A stable text for comparing two documents (the unsaved-changes indicator). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  });
}
