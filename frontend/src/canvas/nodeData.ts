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
