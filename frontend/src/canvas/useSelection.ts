import type { EdgeChange, NodeChange } from "@xyflow/react";
import { useCallback, useMemo, useState } from "react";
import type { GraphDoc } from "../graph/types";
import { NOTE_PREFIX, type FlowNode } from "./nodeData";

/** The selection's operator nodes and notes apart (a note's canvas id is NOTE_PREFIX + its comment id). */
export interface SelectedParts {
  nodes: string[];
  comments: string[];
}

/** A copy of `current` with React Flow's select changes applied, or `current` itself when there are none. */
export function withSelectChanges(current: ReadonlySet<string>, changes: (NodeChange<FlowNode> | EdgeChange)[]): ReadonlySet<string> {
  let next: Set<string> | null = null;
  for (const c of changes) {
    if (c.type !== "select") continue;
    next ??= new Set(current);
    if (c.selected) next.add(c.id);
    else next.delete(c.id);
  }
  return next ?? current;
}

/** Which canvas nodes (operator nodes and notes, by canvas id) and edges are selected; the canvas is controlled. */
export function useSelection(doc: GraphDoc) {
  const [selectedNodes, setSelectedNodes] = useState<ReadonlySet<string>>(() => new Set());
  const [selectedEdges, setSelectedEdges] = useState<ReadonlySet<string>>(() => new Set());

  /** Select exactly these canvas nodes (and no edge). */
  const selectOnly = useCallback((nodeIds: Iterable<string>) => {
    setSelectedNodes(new Set(nodeIds));
    setSelectedEdges(new Set());
  }, []);
  const clearSelection = useCallback(() => selectOnly([]), [selectOnly]);
  const selectAll = useCallback(
    () => setSelectedNodes(new Set([...doc.nodes.map((n) => n.id), ...doc.comments.map((c) => NOTE_PREFIX + c.id)])),
    [doc],
  );
  const onNodeSelectChanges = useCallback(
    (changes: NodeChange<FlowNode>[]) => setSelectedNodes((current) => withSelectChanges(current, changes)),
    [],
  );
  const onEdgeSelectChanges = useCallback(
    (changes: EdgeChange[]) => setSelectedEdges((current) => withSelectChanges(current, changes)),
    [],
  );

  const parts = useMemo<SelectedParts>(() => {
    const ids = [...selectedNodes];
    return {
      nodes: ids.filter((id) => !id.startsWith(NOTE_PREFIX)),
      comments: ids.filter((id) => id.startsWith(NOTE_PREFIX)).map((id) => id.slice(NOTE_PREFIX.length)),
    };
  }, [selectedNodes]);
  // The one selected operator node, if the selection is exactly one: what "Run selected" and the form act on.
  const onlySelected = selectedNodes.size === 1 && !parts.comments.length ? parts.nodes[0] : null;

  return {
    selectedNodes, selectedEdges, parts, onlySelected,
    selectOnly, clearSelection, selectAll, onNodeSelectChanges, onEdgeSelectChanges,
  };
}
