import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { canRedo, canUndo } from "../graph/history";
import { autoLayout } from "../graph/layout";
import { addComment, addNode, moveNodes, removeElements } from "../graph/ops";
import type { GraphDoc, GraphError, OperatorSpec, XY } from "../graph/types";
import { catalogueFrom } from "../graph/types";
import { useCanvasFileDrop } from "../data/useCanvasFileDrop";
import { GettingStarted } from "./GettingStarted";
import { HelpPanel } from "./HelpPanel";
import { FlowSurface, NoticeBanner, SelectedNodePanel } from "./EditorParts";
import { fitPadding } from "./fit";
import { usePanelShift } from "./usePanelShift";
import type { NodeRunState } from "./nodeData";
import { DRAG_MIME, Palette } from "./Palette";
import { Toolbar, type RunMode } from "./Toolbar";
import { useClipboard } from "./useClipboard";
import { useConnections } from "./useConnections";
import { useEditorShortcuts } from "./useEditorShortcuts";
import { NO_ERRORS, useFlowNodes } from "./useFlowNodes";
import { useHistory } from "./useHistory";
import { useNotice } from "./useNotice";
import { useSave, type DraftTarget } from "./useSave";
import { useSelection } from "./useSelection";

export type { RunMode } from "./Toolbar";

export interface EditorProps {
  operators: OperatorSpec[];
  /** the saved graph; `start`, when given, is where the edits begin (a restored draft) */
  initial: GraphDoc;
  start?: GraphDoc;
  draft?: DraftTarget;
  errors: GraphError[];
  runStates: ReadonlyMap<string, NodeRunState>;
  columnsOf?: (nodeId: string, doc: GraphDoc) => string[] | undefined;
  onSave: (doc: GraphDoc, message: string) => Promise<GraphError[] | void>;
  /** after unsaved edits were saved first: `errors` are the saved version's validation errors */
  onRun?: (mode: RunMode, node: string | null, force: boolean, errors: GraphError[]) => void;
  /** extra controls in the parameter panel of the selected node (Publish) */
  nodeActions?: (nodeId: string) => ReactNode;
  onSelectNode?: (nodeId: string | null) => void;
  toolbarExtra?: ReactNode;
  bottom?: ReactNode;
  /** what the page offers for the selected nodes (components: "Make component", a component node's version) */
  selectionBar?: (nodeIds: string[], doc: GraphDoc, change: (fn: (d: GraphDoc) => GraphDoc) => void) => ReactNode;
}

/** Server validation errors grouped by the node they name. */
function groupByNode(errors: GraphError[]): Map<string, GraphError[]> {
  const out = new Map<string, GraphError[]>();
  for (const e of errors) if (e.node) out.set(e.node, [...(out.get(e.node) ?? []), e]);
  return out;
}

function EditorInner(props: EditorProps) {
  const { operators, initial, runStates, onRun, onSelectNode } = props;
  const catalogue = useMemo(() => catalogueFrom(operators), [operators]);
  const { history, doc, change, endGroup, undo, redo } = useHistory(props.start ?? initial);
  const { notice, say, dismiss, dropConfirmation } = useNotice();
  const { dirty, saving, serverErrors, save, message, setMessage } = useSave(initial, doc, props.errors, props.onSave, say, props.draft);
  const [minimap, setMinimap] = useState<boolean | null>(null); // null: shown unless the parameter panel is open
  const selection = useSelection(doc);
  const { selectedNodes, selectedEdges, parts, onlySelected, selectOnly, clearSelection } = selection;
  const [showHelp, setShowHelp] = useState(false);
  const flow = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const errorsByNode = useMemo(() => groupByNode(serverErrors), [serverErrors]);
  const { flowNodes, flowEdges, onNodesChange, onEdgesChange } = useFlowNodes({
    doc, catalogue, errorsByNode, runStates, selectedNodes, selectedEdges, change, endGroup,
    onNodeSelectChanges: selection.onNodeSelectChanges, onEdgeSelectChanges: selection.onEdgeSelectChanges,
  });

  const { isValidConnection, onConnect, onConnectEnd } = useConnections(doc, catalogue, change, { say, dismiss });

  const addOperatorAt = useCallback(
    (op: OperatorSpec, position: XY) => {
      const r = addNode(doc, op, position);
      change(() => r.doc);
      selectOnly([r.id]);
    },
    [doc, change, selectOnly],
  );

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      const name = e.dataTransfer.getData(DRAG_MIME);
      const op = catalogue.get(name);
      if (!op) return;
      e.preventDefault();
      const p = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addOperatorAt(op, { x: Math.round(p.x - 100), y: Math.round(p.y - 20) });
    },
    [catalogue, flow, addOperatorAt],
  );

  const fileDrop = useCanvasFileDrop({ catalogue, change, onError: (text) => say("error", text) });

  const centre = useCallback((): XY => {
    const box = wrapper.current?.getBoundingClientRect();
    const p = flow.screenToFlowPosition({ x: (box?.left ?? 0) + (box?.width ?? 600) / 2, y: (box?.top ?? 0) + (box?.height ?? 400) / 2 });
    return { x: Math.round(p.x - 100), y: Math.round(p.y - 30) };
  }, [flow]);

  const deleteSelection = useCallback(() => {
    change((d) => removeElements(d, { nodes: parts.nodes, comments: parts.comments, edges: selectedEdges }));
    clearSelection();
  }, [parts, selectedEdges, change, clearSelection]);

  const { copy, paste } = useClipboard(doc, parts, change, selectOnly, say);

  const selectedNode = onlySelected ? doc.nodes.find((n) => n.id === onlySelected) : undefined;
  const panelOpen = selectedNode !== undefined;
  const fitView = useCallback(() => void flow.fitView({ padding: fitPadding(panelOpen), duration: 200 }), [flow, panelOpen]);
  usePanelShift(panelOpen, wrapper);
  const layout = useCallback(() => {
    const positions = autoLayout(doc);
    change((d) => moveNodes(d, positions));
    window.requestAnimationFrame(fitView);
  }, [doc, change, fitView]);

  useEffect(() => onSelectNode?.(onlySelected), [onlySelected, onSelectNode]);

  const toggleHelp = useCallback(() => setShowHelp((s) => !s), []);
  const shortcuts = useMemo(() => ({
    save: () => void save(), undo, redo, copy, paste, deleteSelection, selectAll: selection.selectAll, toggleHelp, layout,
    escape: () => { clearSelection(); setShowHelp(false); },
  }), [save, undo, redo, copy, paste, deleteSelection, selection.selectAll, toggleHelp, layout, clearSelection]);
  useEditorShortcuts(shortcuts);

  // The minimap never covers the graph: off while the parameter panel narrows the canvas, unless asked for.
  // An empty canvas has nothing to map (the minimap would be a blank box beside the getting-started card).
  const showMinimap = minimap ?? (!selectedNode && doc.nodes.length + doc.comments.length > 0);
  // Unsaved edits are saved first (a new version, so the toolbar and the header follow; no "Saved a new version."
  // over the run's progress, nor an earlier confirmation), then the run starts and reports below.
  const runSaved = async (mode: RunMode, node: string | null, force: boolean) => {
    dropConfirmation();
    const errs = dirty ? await save({ quiet: true }) : [];
    if (errs !== null) onRun?.(mode, node, force, errs);
  };

  return (
    <div className="editor">
      <Toolbar
        dirty={dirty} saving={saving} canUndo={canUndo(history)} canRedo={canRedo(history)} onlySelected={onlySelected} showHelp={showHelp}
        onSave={shortcuts.save} onUndo={undo} onRedo={redo} onLayout={layout} onFitView={fitView}
        onAddNote={() => { const r = addComment(doc, centre()); change(() => r.doc); }}
        onRun={onRun && ((mode, node, force) => void runSaved(mode, node, force))}
        message={message} onMessage={setMessage}
        onToggleHelp={toggleHelp} extra={props.toolbarExtra}
      />
      <div className="editor-body">
        <Palette operators={operators} onAdd={(op) => addOperatorAt(op, centre())} />
        <div
          className={`canvas${fileDrop.over ? " file-over" : ""}`} ref={wrapper} data-testid="canvas" onDragLeave={fileDrop.onDragLeave}
          role="region" aria-label="Pipeline canvas"
          onDragOver={(e) => { if (!fileDrop.onDragOver(e)) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; } }}
          onDrop={(e) => { if (!fileDrop.onDrop(e)) onDrop(e); }}
        >
          <FlowSurface
            flowNodes={flowNodes} flowEdges={flowEdges} onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
            onConnect={onConnect} onConnectEnd={onConnectEnd} isValidConnection={isValidConnection}
            fitOnOpen={initial.nodes.length + initial.comments.length > 0} panelOpen={panelOpen} showMinimap={showMinimap} onToggleMinimap={() => setMinimap(!showMinimap)}
          />
          {doc.nodes.length === 0 && doc.comments.length === 0 && <GettingStarted onOpenHelp={() => setShowHelp(true)} />}
          <div className="canvas-top">
            {notice && <NoticeBanner notice={notice} onDismiss={dismiss} />}
            {props.selectionBar?.(parts.nodes, doc, change)}
          </div>
          {showHelp && <HelpPanel operators={operators} onClose={() => setShowHelp(false)} />}
          {fileDrop.progress}
        </div>
        {selectedNode && (
          <SelectedNodePanel
            node={selectedNode} doc={doc} catalogue={catalogue} errors={errorsByNode.get(selectedNode.id) ?? NO_ERRORS}
            runState={runStates.get(selectedNode.id)} change={change} endGroup={endGroup}
            columnsOf={props.columnsOf} nodeActions={props.nodeActions}
          />
        )}
      </div>
      {props.bottom}
    </div>
  );
}

export function Editor(props: EditorProps) {
  return (
    <ReactFlowProvider>
      <EditorInner {...props} />
    </ReactFlowProvider>
  );
}
