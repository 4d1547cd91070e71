// The editor's pieces that hold no state of their own: the notice banner, the React Flow surface and the
// selected node's parameter panel (loaded lazily).
import { Background, ControlButton, Controls, MiniMap, ReactFlow, type Edge } from "@xyflow/react";
import { lazy, Suspense, type ReactNode } from "react";
import { setLabel, setParams } from "../graph/ops";
import type { Catalogue, GraphDoc, GraphError, GraphNode } from "../graph/types";
import { fitPadding } from "./fit";
import type { FlowNode, NodeRunState } from "./nodeData";
import { InputPicker } from "./InputPicker";
import { NoteNode } from "./NoteNode";
import { OperatorNode } from "./OperatorNode";
import type { useConnections } from "./useConnections";
import type { useFlowNodes } from "./useFlowNodes";
import type { Notice } from "./useNotice";

const nodeTypes = { operator: OperatorNode, note: NoteNode };
const FIT_ON_OPEN = { padding: fitPadding(false), maxZoom: 1 }; // a pipeline opens with no node selected
// The form library and its JSON-Schema validator are a third of the code: loaded when a node is first selected.
const ParamPanel = lazy(() => import("./ParamPanel").then((m) => ({ default: m.ParamPanel })));

export function NoticeBanner({ notice, onDismiss }: { notice: Notice; onDismiss: () => void }) {
  return (
    <div className={`notice notice-${notice.kind}`} role={notice.kind === "error" ? "alert" : "status"} data-testid="notice">
      <span>{notice.text}</span>
      <button type="button" aria-label="Dismiss" onClick={onDismiss}>×</button>
    </div>
  );
}

type FlowState = Pick<ReturnType<typeof useFlowNodes>, "flowNodes" | "flowEdges" | "onNodesChange" | "onEdgesChange">;
type ConnectionHandlers = ReturnType<typeof useConnections>;

/** The graph itself: nodes, edges, zoom controls and (unless hidden) the minimap. */
export function FlowSurface(props: FlowState & ConnectionHandlers & { fitOnOpen: boolean; panelOpen: boolean; showMinimap: boolean; onToggleMinimap: () => void }) {
  const minimapName = props.showMinimap ? "Hide minimap" : "Show minimap";
  return (
    <ReactFlow<FlowNode, Edge>
      nodes={props.flowNodes}
      edges={props.flowEdges}
      nodeTypes={nodeTypes}
      onNodesChange={props.onNodesChange}
      onEdgesChange={props.onEdgesChange}
      onConnect={props.onConnect}
      onConnectEnd={props.onConnectEnd}
      isValidConnection={props.isValidConnection}
      deleteKeyCode={null}
      selectionKeyCode="Shift"
      multiSelectionKeyCode={["Meta", "Control", "Shift"]}
      fitView={props.fitOnOpen}
      fitViewOptions={FIT_ON_OPEN}
      minZoom={0.05}
      proOptions={{ hideAttribution: true }}
    >
      <Background gap={20} />
      {/* The minimap's switch sits with the zoom buttons: a button of its own over the canvas covered the nodes
          laid out at the bottom right, and a click meant for a node hit it. */}
      <Controls fitViewOptions={{ padding: fitPadding(props.panelOpen) }}>
        <ControlButton onClick={props.onToggleMinimap} aria-label={minimapName} title={minimapName} aria-pressed={props.showMinimap} className="minimap-toggle">
          <svg viewBox="0 0 20 20" aria-hidden="true" focusable="false"><path d="M2 4h16v12H2zM11 10h5v4h-5z" fill="none" stroke="currentColor" strokeWidth="1.6" /></svg>
        </ControlButton>
      </Controls>
      {props.showMinimap && <MiniMap pannable zoomable position="top-right" ariaLabel="Minimap" nodeColor={(n) => (n.type === "note" ? "#f5d76e" : "#8c959f")} />}
    </ReactFlow>
  );
}

interface SelectedNodeProps {
  node: GraphNode;
  doc: GraphDoc;
  catalogue: Catalogue;
  errors: GraphError[];
  runState: NodeRunState | undefined;
  change: (fn: (d: GraphDoc) => GraphDoc, group?: string) => void;
  endGroup: () => void;
  columnsOf?: (nodeId: string, doc: GraphDoc) => string[] | undefined;
  nodeActions?: (nodeId: string) => ReactNode;
}

/** The parameter form of the one selected node; its edits are grouped so that undo takes back one field's typing. */
export function SelectedNodePanel({ node, doc, catalogue, errors, runState, change, endGroup, columnsOf, nodeActions }: SelectedNodeProps) {
  return (
    <Suspense fallback={<aside className="param-panel" aria-label="Parameters"><p className="muted">Loading the form…</p></aside>}>
      <ParamPanel
        node={node}
        spec={catalogue.get(node.operator)}
        errors={errors}
        columns={columnsOf?.(node.id, doc)}
        onParams={(params) => change((d) => setParams(d, node.id, params), `params:${node.id}`)}
        onLabel={(label) => change((d) => setLabel(d, node.id, label), `label:${node.id}`)}
        onDone={endGroup}
        actions={nodeActions?.(node.id)}
        runError={runState?.status === "failed" ? runState.error : undefined}
        inputs={<InputPicker doc={doc} catalogue={catalogue} nodeId={node.id} change={change} />}
      />
    </Suspense>
  );
}
