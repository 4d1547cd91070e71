import type { Node } from "@xyflow/react";
import type { GraphError, GraphNode, OperatorSpec } from "../graph/types";

export type NodeStatus = "queued" | "running" | "succeeded" | "cached" | "failed" | "skipped" | "cancelled";

export interface NodeRunState {
  status: NodeStatus;
  progress?: number;
  error?: string;
  duration?: number | null;
}

export type OperatorNodeData = {
  node: GraphNode;
  spec: OperatorSpec | undefined;
  errors: GraphError[];
  run: NodeRunState | undefined;
};

export type NoteNodeData = {
  text: string;
  noteId: string;
  onText: (id: string, text: string) => void;
  onDone: () => void;
};

export type OperatorFlowNode = Node<OperatorNodeData, "operator">;
export type NoteFlowNode = Node<NoteNodeData, "note">;
export type FlowNode = OperatorFlowNode | NoteFlowNode;

export const NOTE_PREFIX = "note:";

/**
 * A node's two lines: its name (the label a person gave it, else its id) and, below, the operator it runs, shown
 * only when the name does not already say it (an unnamed node's id is the operator's name, "predict" or
 * "predict_2": one line, not the same word twice).
 */
export function nodeTitles(node: GraphNode, spec: OperatorSpec | undefined): { title: string; operator: string | null } {
  const title = node.label || node.id;
  if (!spec) return { title, operator: `unknown operator ${node.operator}` };
  const said = title === spec.name || (!node.label && title.startsWith(`${spec.name}_`));
  return { title, operator: said ? null : spec.name };
}
