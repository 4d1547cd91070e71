import type { Edge, EdgeChange, NodeChange } from "@xyflow/react";
import { startTransition, useCallback, useMemo, useRef, useState } from "react";
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
    reuse(n.id, [n, spec, errs, run, sel, measured.get(n.id)], () => ({
      id: n.id, type: "operator", position: n.position, selected: sel, measured: measured.get(n.id),
      data: { node: n, spec, errors: errs, run },
    }));
  }
  for (const c of doc.comments) {
    const id = NOTE_PREFIX + c.id;
    const sel = selected.has(id);
    reuse(id, [c, sel, measured.get(id)], () => ({
      id, type: "note", position: c.position, selected: sel, measured: measured.get(id), dragHandle: ".note-node",
      data: { text: c.text, noteId: c.id, ...note },
    }));
  }
  cache.current = next;
  return out;
}

/** `was` with the sizes that differ from it, or `was` itself when none does (so nothing is rebuilt). */
function withSizes(was: Measured, sizes: { id: string; width: number; height: number }[]): Measured {
  const changed = sizes.filter((s) => was.get(s.id)?.width !== s.width || was.get(s.id)?.height !== s.height);
  if (!changed.length) return was;
  const next = new Map(was);
  for (const s of changed) next.set(s.id, { width: s.width, height: s.height });
  return next;
}

/** The document as React Flow's controlled nodes and edges, and React Flow's changes back into the document. */
export function useFlowNodes(inputs: FlowInputs) {
  const { doc, catalogue, errorsByNode, runStates, selectedNodes, selectedEdges, change, endGroup } = inputs;
  const { onNodeSelectChanges, onEdgeSelectChanges } = inputs;
  // Sizes React Flow measured, handed back on our node objects as `measured`: the minimap draws only nodes that
  // carry a size (without it, it was an empty box). A batch of new sizes rebuilds only the nodes whose size changed
  // (one state update per batch); the node components are memoised on their data, so none renders again for it.
  const [measured, setMeasured] = useState<Measured>(() => new Map());
  const cache = useRef<Cache>(new Map());
  const onNoteText = useCallback(
    (id: string, text: string) => change((d) => setCommentText(d, id, text), `note:${id}`),
    [change],
  );
  const flowNodes = useMemo(
    () =>
      buildFlowNodes({ doc, catalogue, errorsByNode, runStates, selectedNodes }, measured, cache, {
        onText: onNoteText,
        onDone: endGroup,
      }),
    [doc, catalogue, errorsByNode, runStates, selectedNodes, onNoteText, endGroup, measured],
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
      const sizes: { id: string; width: number; height: number }[] = [];
      for (const c of changes) {
        if (c.type === "position" && c.position) {
          moves.set(c.id.startsWith(NOTE_PREFIX) ? c.id.slice(NOTE_PREFIX.length) : c.id, c.position);
          if (c.dragging === false) dragEnded = true;
        } else if (c.type === "position" && c.dragging === false) {
          dragEnded = true;
        } else if (c.type === "dimensions" && c.dimensions) {
          sizes.push({ id: c.id, width: c.dimensions.width, height: c.dimensions.height });
        }
      }
      // a transition: the nodes are on screen first, and the minimap's copy of their sizes follows
      if (sizes.length) startTransition(() => setMeasured((was) => withSizes(was, sizes)));
      if (moves.size) change((d) => moveNodes(d, moves), "drag");
      if (dragEnded) endGroup();
      onNodeSelectChanges(changes);
    },
    [change, endGroup, onNodeSelectChanges],
  );
  const onEdgesChange = useCallback((changes: EdgeChange[]) => onEdgeSelectChanges(changes), [onEdgeSelectChanges]);

  return { flowNodes, flowEdges, onNodesChange, onEdgesChange };
}
