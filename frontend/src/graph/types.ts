// The shapes the canvas shares with the backend. The operator catalogue is exactly what
// `python -m pipelines catalogue` and the API's operator endpoint return; the graph is
// pipelines/schema/pipeline.schema.json ("studio.pipeline/1").

export type PortType = string; // "table" | "features" | "feature_state" | "model" | "metrics" | "report"

export interface PortSpec {
  name: string;
  type: PortType;
  description: string;
  optional: boolean;
}

export type JsonSchema = Record<string, unknown>;

export interface OperatorSpec {
  name: string;
  category: string;
  version: string;
  description: string;
  docs?: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  params_schema: JsonSchema;
  cacheable?: boolean;
}

export type Catalogue = ReadonlyMap<string, OperatorSpec>;

export function catalogueFrom(list: readonly OperatorSpec[]): Catalogue {
  return new Map(list.map((op) => [op.name, op]));
}

export interface XY {
  x: number;
  y: number;
}

export interface GraphNode {
  id: string;
  operator: string;
  version?: string;
  label?: string;
  params: Record<string, unknown>;
  position: XY;
  // Any other key a node carried in the JSON is kept as it was.
  [extra: string]: unknown;
}

export interface GraphEdge {
  source: string;
  source_port: string;
  target: string;
  target_port: string;
}

/** A sticky note. Only id, text and position are read by the canvas; other keys are kept verbatim. */
export interface StickyNote {
  id: string;
  text: string;
  position: XY;
  [extra: string]: unknown;
}

/** The editable document: a pipeline graph, with its top-level keys other than the three lists kept in `extra`. */
export interface GraphDoc {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly comments: readonly StickyNote[];
  readonly extra: Readonly<Record<string, unknown>>;
}

export const emptyDoc: GraphDoc = { nodes: [], edges: [], comments: [], extra: { format: "studio.pipeline/1" } };

/** A validation error as the API and pipelines.validation report it. */
export interface GraphError {
  code: string;
  message: string;
  node?: string;
  field?: string;
  port?: string;
}
