import { Fragment, useEffect, useState } from "react";
import { ApiFailure, get, post } from "../api/client";
import { items } from "../api/lists";
import type { Operator, Page, Run } from "../api/types";
import type { OperatorSpec } from "../graph/types";
import { modelNodes, modelOperators } from "../deployments/publishing";
import { usePipelineNames } from "../api/usePipelineNames";
import { navigate } from "../router";
import { handOffKeys } from "../deployments/rollout";
import { failedNodeReasons } from "../runs/failure";
import { runReads } from "../data/versions";

function duration(run: Run): string {
  if (!run.started_at) return "—";
  const end = run.finished_at ? new Date(run.finished_at).getTime() : Date.now();
  const s = (end - new Date(run.started_at).getTime()) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** "Publish" on a finished run: its model and feature state become a new live version of a deployment. The form
 * has a row of the table to itself, under the run's (in the run's last cell, its name box ran past the page's right
 * edge at 1280 and 1440 px). */
function PublishRun({ run, onClose }: { run: Run; onClose: () => void }) {
  const [name, setName] = useState("");
  const [modelNode, setModelNode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [models, setModels] = useState<Set<string> | null>(null); // operators declaring a model output
  useEffect(() => {
    if (models !== null) return;
    get<Operator[]>("/api/operators/")
      .then((ops) => setModels(modelOperators(ops as OperatorSpec[])))
      .catch((e: Error) => setError(e.message));
  }, [models]);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const body: Record<string, unknown> = { run: run.id, name };
      if (modelNode) body.model_node = modelNode;
      const deployment = await post<{ id: number; new_keys?: Record<string, string> }>("/api/deployments/publish/", body);
      handOffKeys(deployment.id, deployment.new_keys); // a new deployment's keys: its page shows them once
      navigate(`/deployments/${deployment.id}`);
    } catch (err) {
      const failure = err as ApiFailure;
      const details = (failure.errors ?? []).map((x) => (x.path ? `${x.path}: ${x.message}` : x.message));
      setError(details.length ? details.join("; ") : failure.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Publish run ${run.id}`}>
      <label>
        Deployment name{" "}
        <input
          value={name}
          required
          // The API's rule (studio.deployments.services.NAME). Browsers compile `pattern` with the v flag, where a
          // bare "-" in a class is a syntax error (the pattern was ignored, with a console error): escape it.
          pattern="[a-z0-9][a-z0-9_\-]*"
          title="Lower-case letters, digits, '-' or '_' (it becomes the URL /v2/models/<name>)"
          onChange={(e) => setName(e.target.value)}
        />
      </label>{" "}
      <label>
        Model node{" "}
        <select value={modelNode} onChange={(e) => setModelNode(e.target.value)}>
          <option value="">the run's only model</option>
          {modelNodes(run.nodes ?? [], models ?? new Set<string>()).map((n) => <option key={n.node} value={n.node}>{n.node}</option>)}
        </select>
      </label>{" "}
      <button type="submit" disabled={busy || !name}>Publish</button>{" "}
      <button type="button" onClick={onClose}>Cancel</button>
      {error && <p className="error-text" role="alert">{error}</p>}
    </form>
  );
}

const COLUMNS = 9;

export function Runs({ projectId }: { projectId: string }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState("");
  const names = usePipelineNames(projectId);
  const [publishing, setPublishing] = useState<number | null>(null); // the run whose Publish form is open
  useEffect(() => {
    const load = () => get<Page<Run>>(`/api/runs/?project=${projectId}&limit=100`).then((r) => setRuns(items(r))).catch((e: Error) => setError(e.message));
    void load();
    const timer = window.setInterval(load, 5000);
    return () => window.clearInterval(timer);
  }, [projectId]);
  return (
    <div className="page">
      <h1>Run history</h1>
      {error && <p className="error-text" role="alert">{error}</p>}
      {runs === null ? (
        <p className="muted">Loading…</p>
      ) : runs.length === 0 ? (
        <p className="muted">No run yet.</p>
      ) : (
        <table className="data list" aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">Run</th><th scope="col">Pipeline</th><th scope="col">Version</th><th scope="col">Mode</th>
              <th scope="col">Status</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">By</th><th scope="col">Publish</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <Fragment key={r.id}>
                <tr>
                  <td>
                    <a href={`/pipelines/${r.pipeline}`} onClick={(e) => { e.preventDefault(); navigate(`/pipelines/${r.pipeline}`); }}>#{r.id}</a>
                  </td>
                  <td className="wrap">
                    {names.get(r.pipeline) ?? `#${r.pipeline}`}
                    {runReads(r.uploads).map((line) => <p key={line} className="muted run-reads">{line}</p>)}
                  </td>
                  <td>v{r.version}</td>
                  <td>{r.mode}{r.node ? ` ${r.node}` : ""}{r.force ? " (forced)" : ""}</td>
                  <td className="wrap">
                    <span className={`status-badge status-${r.status}`}>{r.status}</span>{r.error ? ` ${r.error}` : ""}
                    {failedNodeReasons(r).map((reason) => <p key={reason} className="run-reason error-text">{reason}</p>)}
                  </td>
                  <td>{r.started_at ? new Date(r.started_at).toLocaleString() : "—"}</td>
                  <td>{duration(r)}</td>
                  <td>{r.requested_by ?? ""}</td>
                  <td>
                    {r.status === "succeeded" && (
                      <button type="button" aria-expanded={publishing === r.id} onClick={() => setPublishing(publishing === r.id ? null : r.id)}>Publish…</button>
                    )}
                  </td>
                </tr>
                {publishing === r.id && r.status === "succeeded" && (
                  <tr className="publish-row">
                    <td colSpan={COLUMNS}><PublishRun run={r} onClose={() => setPublishing(null)} /></td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
