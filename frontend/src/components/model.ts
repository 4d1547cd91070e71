// Components on the canvas. The server stores a component node as {operator: "component", params: {component,
// params}, version?}; the canvas holds it as {operator: "component:<name>", params: <exposed values>, version?},
// so the palette, ports, connection checks and the parameter form work from a catalogue entry per component,
// as they do for operators. toCanvas / fromCanvas convert at load and save.
import type { NodeRunState } from "../canvas/nodeData";
import type { GraphDoc, GraphNode, OperatorSpec, PortSpec } from "../graph/types";

export const COMPONENT = "component";
export const PREFIX = "component:";

export interface ComponentPort {
  name: string;
  type: string | null;
  node?: string;
  port?: string;
}

export interface ComponentGraph {
  nodes: GraphNode[];
  edges: unknown[];
  parameters?: Record<string, { default?: unknown; description?: string; type?: string }>;
  ports?: { inputs?: ComponentPort[]; outputs?: ComponentPort[] };
  [extra: string]: unknown;
}

export interface ComponentVersion {
  id: number;
  number: number;
  digest: string;
  valid: boolean;
  errors: { message: string; node?: string }[];
  message: string;
  created_at: string;
  graph: ComponentGraph;
}

export interface Component {
  id: number;
  project: number;
  name: string;
  description: string;
  latest: ComponentVersion | null;
}

export interface UsedBy {
  id: number;
  name: string;
  version: number;
  follows: boolean;
  nodes: { id: string; pinned: number | null }[];
}

export interface WhereUsed {
  latest: number | null;
  pipelines: UsedBy[];
  components: UsedBy[];
}

const port = (p: ComponentPort): PortSpec => ({ name: p.name, type: p.type ?? "any", description: "", optional: false });

/** One catalogue entry per component: its ports and its exposed parameters as the form's schema. */
export function componentSpec(c: Component): OperatorSpec {
  const graph = c.latest?.graph;
  const properties: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(graph?.parameters ?? {})) {
    properties[name] = { title: name, description: p.description ?? "", default: p.default, ...(p.type ? { type: p.type } : {}) };
  }
  return {
    name: PREFIX + c.name,
    category: "Components",
    version: "",
    description: c.description || `Component ${c.name}`,
    inputs: (graph?.ports?.inputs ?? []).map(port),
    outputs: (graph?.ports?.outputs ?? []).map(port),
    params_schema: { type: "object", title: c.name, properties },
  };
}

export const isComponentNode = (n: Pick<GraphNode, "operator">) => n.operator.startsWith(PREFIX);
export const componentName = (n: Pick<GraphNode, "operator">) => n.operator.slice(PREFIX.length);

/** Server JSON -> canvas: component nodes take a per-component operator name. */
export function toCanvas(doc: GraphDoc): GraphDoc {
  if (!doc.nodes.some((n) => n.operator === COMPONENT)) return doc;
  const nodes = doc.nodes.map((n) => {
    if (n.operator !== COMPONENT) return n;
    const name = String(n.params.component ?? "");
    const values = (n.params.params as Record<string, unknown> | undefined) ?? {};
    return { ...n, operator: PREFIX + name, params: values };
  });
  return { ...doc, nodes };
}

/** Canvas -> server JSON: the inverse of toCanvas (an empty version means "follow the latest"). */
export function fromCanvas(doc: GraphDoc): GraphDoc {
  if (!doc.nodes.some(isComponentNode)) return doc;
  const nodes = doc.nodes.map((n) => {
    if (!isComponentNode(n)) return n;
    const { version, ...rest } = n;
    const out: GraphNode = { ...rest, operator: COMPONENT, params: { component: componentName(n), params: n.params } };
    if (version) out.version = version;
    return out;
  });
  return { ...doc, nodes };
}

const RANK: Record<string, number> = { failed: 6, cancelled: 5, running: 4, queued: 3, skipped: 2, succeeded: 1, cached: 0 };

/** Run states of expanded nodes ("c1.split") folded onto their component node ("c1"): the worst status wins,
 * progress is the mean of the inner nodes'. `componentIds` are the doc's component nodes. */
export function foldRunStates(states: ReadonlyMap<string, NodeRunState>, componentIds: ReadonlySet<string>): ReadonlyMap<string, NodeRunState> {
  if (componentIds.size === 0) return states;
  const out = new Map(states);
  const inner = new Map<string, NodeRunState[]>();
  for (const [id, state] of states) {
    const owner = id.split(".")[0];
    if (id.includes(".") && componentIds.has(owner)) inner.set(owner, [...(inner.get(owner) ?? []), state]);
  }
  for (const [owner, list] of inner) {
    const worst = list.reduce((a, b) => ((RANK[b.status] ?? 0) > (RANK[a.status] ?? 0) ? b : a));
    const allCached = list.every((s) => s.status === "cached");
    const progress = list.reduce((sum, s) => sum + (s.status === "succeeded" || s.status === "cached" ? 1 : (s.progress ?? 0)), 0) / list.length;
    out.set(owner, { status: allCached ? "cached" : worst.status, progress, error: list.find((s) => s.error)?.error });
  }
  return out;
}

/**
 * What a selection offers: a lone component node, its version bar; two nodes or more, "Make component" (as KNIME
 * offers "Create Component" for a group of nodes: one node wrapped alone would only hide its form one level down,
 * so a single ordinary node gets no bar at all).
 */
export function selectionOffers(nodeIds: string[], doc: GraphDoc): { component?: GraphNode; make: boolean } {
  const only = nodeIds.length === 1 ? doc.nodes.find((n) => n.id === nodeIds[0]) : undefined;
  return { component: only && isComponentNode(only) ? only : undefined, make: nodeIds.length >= 2 };
}
