import type { Edge, EdgeChange, NodeChange } from "@xyflow/react";
import { useCallback, useMemo, useRef } from "react";
import { edgeId } from "../graph/connection";
import { moveNodes, setCommentText } from "../graph/ops";
import type { GraphDoc, GraphError, OperatorSpec, XY } from "../graph/types";
import { NOTE_PREFIX, type FlowNode, type NodeRunState, type NoteFlowNode } from "./nodeData";
import { portColor } from "./ports";
import type { useHistory } from "./useHistory";

export const NO_ERRORS: GraphError[] = [];

type History = ReturnType<typeof useHistory>;

/** What the canvas shows of the document; every field is compared by identity to decide what to rebuild. */
interface NodeInputs {
  doc: GraphDoc;
  catalogue: ReadonlyMap<string, OperatorSpec>;
  errorsByNode: ReadonlyMap<string, GraphError[]>;
  runStates: ReadonlyMap<string, NodeRunState>;
  selectedNodes: ReadonlySet<string>;
}

interface FlowInputs extends NodeInputs {
  selectedEdges: ReadonlySet<string>;
  onNodeSelectChanges: (changes: NodeChange<FlowNode>[]) => void;
  onEdgeSelectChanges: (changes: EdgeChange[]) => void;
  change: History["change"];
  endGroup: History["endGroup"];
}

type Measured = Map<string, { width: number; height: number }>;
type Cache = Map<string, { deps: unknown[]; rf: FlowNode }>;

/** React Flow nodes of the document, rebuilt only for graph nodes whose inputs changed (500-node pipelines stay fast). */
function buildFlowNodes(
  inputs: NodeInputs,
  measured: Measured,
  cache: { current: Cache },
  note: Pick<NoteFlowNode["data"], "onText" | "onDone">,
): FlowNode[] {
  const { doc, catalogue, errorsByNode, runStates, selectedNodes: selected } = inputs;
  const out: FlowNode[] = [];
  const next: Cache = new Map();
  const reuse = (id: string, deps: unknown[], build: () => FlowNode) => {
    const prev = cache.current.get(id);
    const rf = prev && prev.deps.every((d, i) => d === deps[i]) ? prev.rf : build();
    next.set(id, { deps, rf });
    out.push(rf);
  };
  for (const n of doc.nodes) {
    const spec = catalogue.get(n.operator);
    const errs = errorsByNode.get(n.id) ?? NO_ERRORS;
    const run = runStates.get(n.id);
    const sel = selected.has(n.id);
    reuse(n.id, [n, spec, errs, run, sel], () => ({
      id: n.id, type: "operator", position: n.position, selected: sel, measured: measured.get(n.id),
      data: { node: n, spec, errors: errs, run },
    }));
  }
  for (const c of doc.comments) {
    const id = NOTE_PREFIX + c.id;
    const sel = selected.has(id);
    reuse(id, [c, sel], () => ({
      id, type: "note", position: c.position, selected: sel, measured: measured.get(id), dragHandle: ".note-node",
      data: { text: c.text, noteId: c.id, ...note },
    }));
  }
  cache.current = next;
  return out;
}

/** The document as React Flow's controlled nodes and edges, and React Flow's changes back into the document. */
export function useFlowNodes(inputs: FlowInputs) {
  const { doc, catalogue, errorsByNode, runStates, selectedNodes, selectedEdges, change, endGroup } = inputs;
  const { onNodeSelectChanges, onEdgeSelectChanges } = inputs;
  // Sizes React Flow measured. Kept in a ref, not state: React Flow already holds them for nodes whose object
  // did not change, so a measurement must not rebuild every node (that doubles the first render of big graphs);
  // a node object that is rebuilt (moved, new status) carries its last size so it is not hidden and measured again.
  const measured = useRef<Measured>(new Map());
  const cache = useRef<Cache>(new Map());
  const onNoteText = useCallback(
    (id: string, text: string) => change((d) => setCommentText(d, id, text), `note:${id}`),
    [change],
  );
  const flowNodes = useMemo(
    () =>
      buildFlowNodes({ doc, catalogue, errorsByNode, runStates, selectedNodes }, measured.current, cache, {
        onText: onNoteText,
        onDone: endGroup,
      }),
    [doc, catalogue, errorsByNode, runStates, selectedNodes, onNoteText, endGroup],
  );

  const flowEdges = useMemo<Edge[]>(
    () =>
      doc.edges.map((e) => {
        const id = edgeId(e);
        const type = catalogue.get(doc.nodes.find((n) => n.id === e.source)?.operator ?? "")?.outputs.find((p) => p.name === e.source_port)?.type;
        return {
          id, source: e.source, sourceHandle: e.source_port, target: e.target, targetHandle: e.target_port,
          selected: selectedEdges.has(id), style: { stroke: portColor(type ?? ""), strokeWidth: 2 },
        };
      }),
    [doc.edges, doc.nodes, catalogue, selectedEdges],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<FlowNode>[]) => {
      const moves = new Map<string, XY>();
      let dragEnded = false;
      for (const c of changes) {
        if (c.type === "position" && c.position) {
          moves.set(c.id.startsWith(NOTE_PREFIX) ? c.id.slice(NOTE_PREFIX.length) : c.id, c.position);
          if (c.dragging === false) dragEnded = true;
        } else if (c.type === "position" && c.dragging === false) {
          dragEnded = true;
        } else if (c.type === "dimensions" && c.dimensions) {
          measured.current.set(c.id, { width: c.dimensions.width, height: c.dimensions.height });
        }
      }
      if (moves.size) change((d) => moveNodes(d, moves), "drag");
      if (dragEnded) endGroup();
      onNodeSelectChanges(changes);
    },
    [change, endGroup, onNodeSelectChanges],
  );
  const onEdgesChange = useCallback((changes: EdgeChange[]) => onEdgeSelectChanges(changes), [onEdgeSelectChanges]);

  return { flowNodes, flowEdges, onNodesChange, onEdgesChange };
}
