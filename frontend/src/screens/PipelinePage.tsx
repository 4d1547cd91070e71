import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiFailure, get, patch, post } from "../api/client";
import { items } from "../api/lists";
import type { Operator, Page, Pipeline, Project, Run } from "../api/types";
import { Editor, type RunMode } from "../canvas/Editor";
import { fromCanvas, toCanvas } from "../components/model";
import { usePipelineComponents } from "../components/usePipelineComponents";
import { ProjectDataContext } from "../data/projectContext";
import { useNodeColumns, useProjectUploads } from "../data/useNodeColumns";
import { fromPipelineJson, toPipelineJson } from "../graph/serialize";
import type { GraphDoc, GraphError, OperatorSpec } from "../graph/types";
import { clearDraft, differs, readDraft, type Draft } from "../canvas/draft";
import { DraftBanner } from "../canvas/DraftBanner";
import { EngineSelect, engineReadOnlyReason } from "../canvas/EngineSelect";
import { useEngineChoice } from "../canvas/useEngineChoice";
import { PublishDialog } from "../deployments/PublishDialog";
import { deploymentName, publishable } from "../deployments/publishing";
import { RunPanel } from "../outputs/RunPanel";
import { PipelineHeader } from "./PipelineHeader";
import { useRunEvents } from "../runs/useRunEvents";

function asErrors(list: unknown): GraphError[] {
  return Array.isArray(list) ? (list as GraphError[]) : [];
}

function failureErrors(e: unknown): GraphError[] {
  if (!(e instanceof ApiFailure)) return [];
  return e.errors.map((x) => ({ code: x.code ?? e.code, message: x.message, node: x.node ?? undefined, field: x.field ?? undefined, port: x.port ?? undefined }));
}

export function PipelinePage({ id }: { id: string }) {
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [operators, setOperators] = useState<OperatorSpec[] | null>(null);
  const [failure, setFailure] = useState("");
  const [errors, setErrors] = useState<GraphError[]>([]);
  const [runId, setRunId] = useState<number | null>(null);
  const [runError, setRunError] = useState("");
  // The engine the run buttons use: the pipeline's saved choice, or the engine of the run a ?run= link opens.
  const { engine, runEngine, setRunEngine, open: openRun, choose: chooseEngine } = useEngineChoice(id, setRunError);
  // The user's role in the pipeline's project: a viewer sees the Engine picker read-only, with why.
  const [role, setRole] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<"outputs" | "log">("outputs");
  const run = useRunEvents(runId);
  const parts = usePipelineComponents(pipeline, operators, setPipeline, run.nodes);
  const [publishing, setPublishing] = useState<string | null>(null);
  // An autosaved draft that differs from the saved graph is offered; restoring remounts the editor on it.
  const [offered, setOffered] = useState<Draft | null>(null);
  const [start, setStart] = useState<GraphDoc | undefined>(undefined);
  const [editorKey, setEditorKey] = useState(0);

  useEffect(() => {
    let alive = true;
    Promise.all([
      get<Pipeline>(`/api/pipelines/${id}/`),
      get<Operator[]>("/api/operators/"),
      get<Page<Run>>(`/api/runs/?pipeline=${id}&limit=1`),
    ])
      .then(([p, ops, runs]) => {
        if (!alive) return;
        setPipeline(p);
        setOperators(ops as OperatorSpec[]);
        get<Project>(`/api/projects/${p.project}/`).then((project) => alive && setRole(project.role ?? null)).catch(() => undefined);
        const draft = readDraft(id);
        if (differs(draft, fromPipelineJson(p.latest?.graph ?? { nodes: [], edges: [] }))) setOffered(draft);
        setErrors(asErrors(p.latest?.errors));
        // ?run=<id> (a link from a schedule's history) opens that run, on its engine; otherwise the latest one.
        const asked = Number(new URLSearchParams(window.location.search).get("run"));
        setRunId(openRun(p, items(runs)[0], asked, () => alive));
      })
      .catch((e: Error) => alive && setFailure(e.message));
    return () => {
      alive = false;
    };
  }, [id, openRun]);

  const initial = useMemo<GraphDoc | null>(() => (pipeline ? toCanvas(fromPipelineJson(pipeline.latest?.graph ?? { nodes: [], edges: [] })) : null), [pipeline?.id, parts.reload]); // eslint-disable-line react-hooks/exhaustive-deps
  const [doc, setDoc] = useState<GraphDoc | null>(null);

  const save = useCallback(
    async (next: GraphDoc, message = ""): Promise<GraphError[]> => {
      try {
        const saved = await patch<Pipeline>(`/api/pipelines/${id}/`, { graph: toPipelineJson(fromCanvas(next)), ...(message ? { message } : {}) });
        const errs = asErrors(saved.latest?.errors);
        setErrors(errs);
        setDoc(next);
        setPipeline(saved); // the header names the version just saved
        return errs;
      } catch (e) {
        const errs = failureErrors(e);
        if (errs.length) setErrors(errs);
        throw e;
      }
    },
    [id],
  );

  // The editor saved unsaved edits first; Run all refuses an invalid pipeline here, a run of selected nodes
  // asks the API, which checks only the nodes that run needs.
  const startRun = useCallback(
    async (mode: RunMode, node: string | null, force: boolean, saveErrors: GraphError[]) => {
      setRunError("");
      try {
        if (mode === "all" && saveErrors.length) {
          setRunError(`Not run: the pipeline has ${saveErrors.length} validation error(s), shown on the nodes.`);
          return;
        }
        const created = await post<Run>("/api/runs/", { pipeline: Number(id), mode, node: node ?? "", force, engine });
        setRunId(created.id);
        setRunEngine(created.engine);
        setTab("log");
      } catch (e) {
        const errs = failureErrors(e);
        if (errs.some((x) => x.node)) setErrors(errs);
        setRunError(`Not run: ${(e as Error).message}`);
      }
    },
    [id, engine, setRunEngine],
  );

  const cancel = useCallback(async () => {
    if (runId === null) return;
    try {
      await post(`/api/runs/${runId}/cancel/`);
    } catch (e) {
      setRunError((e as Error).message);
    }
  }, [runId]);

  const graph = doc ?? initial;
  const { uploads, projectData } = useProjectUploads(pipeline?.project);
  const columnsOf = useNodeColumns({ selected, graph, runId, runNodes: run.nodes, uploads });

  const { fold } = parts;
  const runStates = useMemo(() => fold(run.nodes, graph), [fold, run.nodes, graph]);

  if (failure) return <p className="error-text" role="alert">Could not open the pipeline: {failure}</p>;
  const catalogue = parts.catalogue;
  if (!pipeline || !catalogue || !initial) return <p className="muted">Loading the pipeline…</p>;
  const specOf = (node: string | null) => (node ? catalogue.find((o) => o.name === graph?.nodes.find((n) => n.id === node)?.operator) : undefined);
  // A component node has no run row of its own: its inner nodes' states are folded onto it (runStates), and the
  // API reads its output ports from the inner nodes behind them.
  const finished = (node: string | null) => ["succeeded", "cached"].includes((node && runStates.get(node)?.status) || "");
  const bottom = (
    <RunPanel
      pipelineId={Number(id)} runId={runId} status={run.status} running={run.status === "running" || (runId !== null && run.lastSeq === 0)}
      engine={runEngine} log={run.log} tab={tab} onTab={setTab} selected={selected} spec={specOf(selected)} ready={finished(selected)}
      runError={runError} onCancel={() => void cancel()}
    />
  );
  const nodeActions = (node: string) =>
    runId !== null && finished(node) && publishable(specOf(node), new Set(graph?.edges.filter((e) => e.target === node).map((e) => e.target_port))) ? (
      <button type="button" className="primary" onClick={() => setPublishing(node)}>Publish…</button>
    ) : null;

  return (
    <div className="pipeline-page">
      <PipelineHeader pipeline={pipeline}><EngineSelect value={engine} onChange={chooseEngine} readOnly={engineReadOnlyReason(role)} /></PipelineHeader>
      {offered && (
        <DraftBanner draft={offered} onRestore={() => { setStart(fromPipelineJson(offered.graph)); setEditorKey((k) => k + 1); setOffered(null); }} onDiscard={() => { clearDraft(id); setOffered(null); }} />
      )}
      <ProjectDataContext.Provider value={projectData}>
      <Editor
        key={`${pipeline.id}:${parts.reload}:${editorKey}`}
        operators={catalogue}
        initial={initial}
        start={start}
        draft={{ pipelineId: pipeline.id, base: pipeline.latest?.number ?? 0 }}
        errors={errors}
        runStates={runStates}
        selectionBar={parts.selectionBar}
        columnsOf={columnsOf}
        onSave={save}
        onRun={(m, n, f, errs) => void startRun(m, n, f, errs)}
        onSelectNode={setSelected}
        nodeActions={nodeActions}
        bottom={bottom}
      />
      </ProjectDataContext.Provider>
      {publishing && runId !== null && (
        <PublishDialog
          runId={runId} node={publishing} defaultName={deploymentName(pipeline.name)}
          what={`${graph?.nodes.find((n) => n.id === publishing)?.label || publishing} of run #${runId}`}
          onClose={() => setPublishing(null)}
        />
      )}
    </div>
  );
}
