import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { copySelection, parseClipboard, pasteClipboard } from "../graph/clipboard";
import { checkConnection, edgeId } from "../graph/connection";
import { canRedo, canUndo } from "../graph/history";
import { autoLayout } from "../graph/layout";
import { addComment, addNode, connect, moveNodes, removeElements, setCommentText, setLabel, setParams } from "../graph/ops";
import { canonicalJson, toPipelineJson } from "../graph/serialize";
import type { GraphDoc, GraphEdge, GraphError, OperatorSpec, XY } from "../graph/types";
import { catalogueFrom } from "../graph/types";
import { useCanvasFileDrop } from "../data/useCanvasFileDrop";
import { HelpPanel } from "./HelpPanel";
import { NOTE_PREFIX, type FlowNode, type NodeRunState } from "./nodeData";
import { NoteNode } from "./NoteNode";
import { OperatorNode } from "./OperatorNode";
import { DRAG_MIME, Palette } from "./Palette";
import { portColor } from "./ports";
import { useHistory } from "./useHistory";

const nodeTypes = { operator: OperatorNode, note: NoteNode };
// The form library and its JSON-Schema validator are a third of the code: loaded when a node is first selected.
const ParamPanel = lazy(() => import("./ParamPanel").then((m) => ({ default: m.ParamPanel })));
const CLIPBOARD_KEY = "studio.clipboard";
const NO_ERRORS: GraphError[] = [];

export type RunMode = "all" | "from" | "only";

export interface EditorProps {
  operators: OperatorSpec[];
  initial: GraphDoc;
  errors: GraphError[];
  runStates: ReadonlyMap<string, NodeRunState>;
  columnsOf?: (nodeId: string, doc: GraphDoc) => string[] | undefined;
  onSave: (doc: GraphDoc) => Promise<GraphError[] | void>;
  onRun?: (mode: RunMode, node: string | null, force: boolean, doc: GraphDoc, dirty: boolean) => void;
  onSelectNode?: (nodeId: string | null) => void;
  toolbarExtra?: ReactNode;
  bottom?: ReactNode;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

function EditorInner(props: EditorProps) {
  const { operators, initial, runStates, onSave, onRun, onSelectNode } = props;
  const catalogue = useMemo(() => catalogueFrom(operators), [operators]);
  const { history, doc, change, endGroup, undo, redo } = useHistory(initial);
  const [savedCanon, setSavedCanon] = useState(() => canonicalJson(toPipelineJson(initial)));
  const [saving, setSaving] = useState(false);
  const [serverErrors, setServerErrors] = useState<GraphError[]>(props.errors);
  const [selectedNodes, setSelectedNodes] = useState<ReadonlySet<string>>(new Set());
  const [selectedEdges, setSelectedEdges] = useState<ReadonlySet<string>>(new Set());
  // Sizes React Flow measured. Kept in a ref, not state: React Flow already holds them for nodes whose object
  // did not change, so a measurement must not rebuild every node (that doubles the first render of big graphs);
  // a node object that is rebuilt (moved, new status) carries its last size so it is not hidden and measured again.
  const measured = useRef(new Map<string, { width: number; height: number }>());
  const [notice, setNotice] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const [showHelp, setShowHelp] = useState(false);
  const flow = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);

  useEffect(() => setServerErrors(props.errors), [props.errors]);

  const canon = useMemo(() => canonicalJson(toPipelineJson(doc)), [doc]);
  const dirty = canon !== savedCanon;

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const say = useCallback((kind: "error" | "info", text: string) => setNotice({ kind, text }), []);
  // Confirmations fade after a few seconds; errors stay until dismissed or replaced.
  useEffect(() => {
    if (notice?.kind !== "info") return;
    const timer = window.setTimeout(() => setNotice((n) => (n === notice ? null : n)), 4000);
    return () => window.clearTimeout(timer);
  }, [notice]);

  const errorsByNode = useMemo(() => {
    const out = new Map<string, GraphError[]>();
    for (const e of serverErrors) if (e.node) out.set(e.node, [...(out.get(e.node) ?? []), e]);
    return out;
  }, [serverErrors]);

  // React Flow nodes, rebuilt only for graph nodes whose inputs changed, so 500-node pipelines stay fast.
  const cache = useRef(new Map<string, { deps: unknown[]; rf: FlowNode }>());
  const onNoteText = useCallback(
    (id: string, text: string) => change((d) => setCommentText(d, id, text), `note:${id}`),
    [change],
  );
  const flowNodes = useMemo(() => {
    const out: FlowNode[] = [];
    const next = new Map<string, { deps: unknown[]; rf: FlowNode }>();
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
      const sel = selectedNodes.has(n.id);
      reuse(n.id, [n, spec, errs, run, sel], () => ({
        id: n.id, type: "operator", position: n.position, selected: sel, measured: measured.current.get(n.id),
        data: { node: n, spec, errors: errs, run },
      }));
    }
    for (const c of doc.comments) {
      const id = NOTE_PREFIX + c.id;
      const sel = selectedNodes.has(id);
      reuse(id, [c, sel], () => ({
        id, type: "note", position: c.position, selected: sel, measured: measured.current.get(id), dragHandle: ".note-node",
        data: { text: c.text, noteId: c.id, onText: onNoteText, onDone: endGroup },
      }));
    }
    cache.current = next;
    return out;
  }, [doc, catalogue, errorsByNode, runStates, selectedNodes, onNoteText, endGroup]);

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
      let sel: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === "position" && c.position) {
          moves.set(c.id.startsWith(NOTE_PREFIX) ? c.id.slice(NOTE_PREFIX.length) : c.id, c.position);
          if (c.dragging === false) dragEnded = true;
        } else if (c.type === "position" && c.dragging === false) {
          dragEnded = true;
        } else if (c.type === "select") {
          sel ??= new Set(selectedNodes);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        } else if (c.type === "dimensions" && c.dimensions) {
          measured.current.set(c.id, { width: c.dimensions.width, height: c.dimensions.height });
        }
      }
      if (moves.size) change((d) => moveNodes(d, moves), "drag");
      if (dragEnded) endGroup();
      if (sel) setSelectedNodes(sel);
    },
    [change, endGroup, selectedNodes],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      let sel: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === "select") {
          sel ??= new Set(selectedEdges);
          if (c.selected) sel.add(c.id);
          else sel.delete(c.id);
        }
      }
      if (sel) setSelectedEdges(sel);
    },
    [selectedEdges],
  );

  const toEdge = (c: Connection): GraphEdge => ({
    source: c.source, source_port: c.sourceHandle ?? "", target: c.target, target_port: c.targetHandle ?? "",
  });

  const isValidConnection: IsValidConnection = useCallback(
    (c) => checkConnection(doc, catalogue, toEdge(c as Connection)).ok,
    [doc, catalogue],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const result = connect(doc, catalogue, toEdge(c));
      if (result.ok) {
        change(() => result.doc);
        setNotice(null);
      } else say("error", result.reason);
    },
    [doc, catalogue, change, say],
  );

  // A refused connection: say why, in words, where the user looks.
  const onConnectEnd = useCallback(
    (_event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (!state.fromHandle || !state.toHandle || state.isValid) return;
      const from = state.fromHandle;
      const to = state.toHandle;
      const edge: GraphEdge =
        from.type === "source"
          ? { source: from.nodeId, source_port: from.id ?? "", target: to.nodeId, target_port: to.id ?? "" }
          : { source: to.nodeId, source_port: to.id ?? "", target: from.nodeId, target_port: from.id ?? "" };
      const check = checkConnection(doc, catalogue, edge);
      if (!check.ok) say("error", `Connection refused: ${check.reason}`);
    },
    [doc, catalogue, say],
  );

  const addOperatorAt = useCallback(
    (op: OperatorSpec, position: XY) => {
      const r = addNode(doc, op, position);
      change(() => r.doc);
      setSelectedNodes(new Set([r.id]));
      setSelectedEdges(new Set());
    },
    [doc, change],
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
    const nodes = [...selectedNodes].filter((id) => !id.startsWith(NOTE_PREFIX));
    const comments = [...selectedNodes].filter((id) => id.startsWith(NOTE_PREFIX)).map((id) => id.slice(NOTE_PREFIX.length));
    change((d) => removeElements(d, { nodes, comments, edges: selectedEdges }));
    setSelectedNodes(new Set());
    setSelectedEdges(new Set());
  }, [selectedNodes, selectedEdges, change]);

  const copy = useCallback(() => {
    const nodes = [...selectedNodes].filter((id) => !id.startsWith(NOTE_PREFIX));
    const comments = [...selectedNodes].filter((id) => id.startsWith(NOTE_PREFIX)).map((id) => id.slice(NOTE_PREFIX.length));
    if (!nodes.length && !comments.length) return false;
    localStorage.setItem(CLIPBOARD_KEY, JSON.stringify(copySelection(doc, nodes, comments)));
    say("info", `Copied ${nodes.length} node${nodes.length === 1 ? "" : "s"}${comments.length ? ` and ${comments.length} note(s)` : ""}.`);
    return true;
  }, [selectedNodes, doc, say]);

  const paste = useCallback(() => {
    const clip = parseClipboard(localStorage.getItem(CLIPBOARD_KEY));
    if (!clip) return;
    const ids = new Set(doc.nodes.map((n) => n.id));
    const samePipeline = clip.nodes.some((n) => ids.has(n.id));
    const r = pasteClipboard(doc, clip, samePipeline ? { x: 40, y: 40 } : { x: 0, y: 0 });
    change(() => r.doc);
    setSelectedNodes(new Set([...r.nodeIds, ...r.commentIds.map((c) => NOTE_PREFIX + c)]));
    setSelectedEdges(new Set());
  }, [doc, change]);

  const layout = useCallback(() => {
    const positions = autoLayout(doc);
    change((d) => moveNodes(d, positions));
    window.requestAnimationFrame(() => flow.fitView({ padding: 0.15, duration: 200 }));
  }, [doc, change, flow]);

  const save = useCallback(async () => {
    setSaving(true);
    try {
      const errs = await onSave(doc);
      setSavedCanon(canonicalJson(toPipelineJson(doc)));
      if (errs) setServerErrors(errs);
      say(errs && errs.length ? "error" : "info", errs && errs.length ? `Saved, with ${errs.length} validation error(s) shown on the nodes.` : "Saved a new version.");
    } catch (err) {
      say("error", `Not saved: ${(err as Error).message}`);
    } finally {
      setSaving(false);
    }
  }, [doc, onSave, say]);

  const onlySelected = selectedNodes.size === 1 && ![...selectedNodes][0].startsWith(NOTE_PREFIX) ? [...selectedNodes][0] : null;
  useEffect(() => onSelectNode?.(onlySelected), [onlySelected, onSelectNode]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "s") {
        e.preventDefault();
        void save();
        return;
      }
      if (isTyping(e.target)) return;
      if (mod && key === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
      else if (mod && ((key === "z" && e.shiftKey) || key === "y")) { e.preventDefault(); redo(); }
      else if (mod && key === "c") { copy(); }
      else if (mod && key === "x") { if (copy()) deleteSelection(); }
      else if (mod && key === "v") { e.preventDefault(); paste(); }
      else if (mod && key === "a") {
        e.preventDefault();
        setSelectedNodes(new Set([...doc.nodes.map((n) => n.id), ...doc.comments.map((c) => NOTE_PREFIX + c.id)]));
      } else if (!mod && (e.key === "Delete" || e.key === "Backspace")) { e.preventDefault(); deleteSelection(); }
      else if (!mod && e.key === "?") setShowHelp((s) => !s);
      else if (!mod && e.shiftKey && key === "l") layout();
      else if (e.key === "Escape") { setSelectedNodes(new Set()); setSelectedEdges(new Set()); setShowHelp(false); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo, copy, paste, deleteSelection, layout, save, doc]);

  const selectedNode = onlySelected ? doc.nodes.find((n) => n.id === onlySelected) : undefined;

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Pipeline">
        <button type="button" onClick={() => void save()} disabled={saving || !dirty} data-testid="save">
          {saving ? "Saving…" : "Save"}
        </button>
        <span className={`dirty ${dirty ? "on" : ""}`} data-testid="dirty" aria-live="polite">
          {dirty ? "● Unsaved changes" : "All changes saved"}
        </span>
        <span className="sep" />
        <button type="button" onClick={undo} disabled={!canUndo(history)} title="Undo (Ctrl+Z)">Undo</button>
        <button type="button" onClick={redo} disabled={!canRedo(history)} title="Redo (Ctrl+Shift+Z)">Redo</button>
        <button type="button" onClick={layout} title="Auto-layout (Shift+L)">Auto-layout</button>
        <button type="button" onClick={() => flow.fitView({ padding: 0.15, duration: 200 })}>Fit view</button>
        <button type="button" onClick={() => { const r = addComment(doc, centre()); change(() => r.doc); }}>Add note</button>
        <span className="sep" />
        {onRun && (
          <>
            <button type="button" className="primary" data-testid="run-all" onClick={() => onRun("all", null, false, doc, dirty)}>Run all</button>
            <button type="button" disabled={!onlySelected} onClick={() => onRun("from", onlySelected, false, doc, dirty)}>Run from selected</button>
            <button type="button" disabled={!onlySelected} onClick={() => onRun("only", onlySelected, false, doc, dirty)}>Run selected</button>
            <button type="button" onClick={() => onRun("all", null, true, doc, dirty)} title="Run every node again, ignoring the cache">Force rerun</button>
          </>
        )}
        {props.toolbarExtra}
        <span className="grow" />
        <button type="button" onClick={() => setShowHelp((s) => !s)} aria-expanded={showHelp} title="Keyboard shortcuts (?)">Shortcuts</button>
      </div>
      {notice && (
        <div className={`notice notice-${notice.kind}`} role={notice.kind === "error" ? "alert" : "status"} data-testid="notice">
          <span>{notice.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => setNotice(null)}>×</button>
        </div>
      )}
      <div className="editor-body">
        <Palette operators={operators} onAdd={(op) => addOperatorAt(op, centre())} />
        <div
          className={`canvas${fileDrop.over ? " file-over" : ""}`} ref={wrapper} data-testid="canvas" onDragLeave={fileDrop.onDragLeave}
          onDragOver={(e) => { if (!fileDrop.onDragOver(e)) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; } }}
          onDrop={(e) => { if (!fileDrop.onDrop(e)) onDrop(e); }}
        >
          <ReactFlow<FlowNode, Edge>
            nodes={flowNodes}
            edges={flowEdges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onConnectEnd={onConnectEnd}
            isValidConnection={isValidConnection}
            deleteKeyCode={null}
            selectionKeyCode="Shift"
            multiSelectionKeyCode={["Meta", "Control", "Shift"]}
            fitView={initial.nodes.length + initial.comments.length > 0}
            fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
            minZoom={0.05}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={20} />
            <Controls />
            <MiniMap pannable zoomable ariaLabel="Minimap" nodeColor={(n) => (n.type === "note" ? "#f5d76e" : "#8c959f")} />
          </ReactFlow>
          {doc.nodes.length === 0 && doc.comments.length === 0 && (
            <p className="empty-hint">Drag an operator from the left onto the canvas to start.</p>
          )}
          {showHelp && <HelpPanel onClose={() => setShowHelp(false)} />}
          {fileDrop.progress}
        </div>
        {selectedNode && (
          <Suspense fallback={<aside className="param-panel" aria-label="Parameters"><p className="muted">Loading the form…</p></aside>}>
          <ParamPanel
            node={selectedNode}
            spec={catalogue.get(selectedNode.operator)}
            errors={errorsByNode.get(selectedNode.id) ?? NO_ERRORS}
            columns={props.columnsOf?.(selectedNode.id, doc)}
            onParams={(params) => change((d) => setParams(d, selectedNode.id, params), `params:${selectedNode.id}`)}
            onLabel={(label) => change((d) => setLabel(d, selectedNode.id, label), `label:${selectedNode.id}`)}
            onDone={endGroup}
          />
          </Suspense>
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
