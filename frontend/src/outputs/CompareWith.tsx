import { useEffect, useState } from "react";
import { get } from "../api/client";
import { OutputBodyView, type MetricsBody, type OutputBody } from "./bodies";
import { runsPaired } from "./compareRuns";
import { MetricsView } from "./views";

interface RunSummary {
  id: number;
  version: number;
  created_at: string;
  nodes: { node: string; status: string }[];
}

/** The same node's output in another run of the pipeline, beside this one (two evaluations side by side). */
export function CompareWith({ pipelineId, runId, node, port, mine }: { pipelineId: number; runId: number; node: string; port: string; mine?: OutputBody }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null); // null: not listed yet
  const [other, setOther] = useState<number | "">("");
  const [body, setBody] = useState<OutputBody | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    get<{ results: RunSummary[] }>(`/api/runs/?pipeline=${pipelineId}&status=succeeded&limit=50`)
      .then((r) => setRuns(r.results.filter((x) => x.id !== runId && x.nodes.some((n) => n.node === node && (n.status === "succeeded" || n.status === "cached")))))
      .catch((e: Error) => setError(e.message));
  }, [pipelineId, runId, node]);
  useEffect(() => {
    setBody(null);
    if (other === "") return;
    get<OutputBody>(`/api/runs/${other}/outputs/${encodeURIComponent(node)}/${encodeURIComponent(port)}/`).then(setBody).catch((e: Error) => setError(e.message));
  }, [other, node, port]);
  // The pipeline's first run: a select offering nothing but its placeholder says less than a sentence does.
  if (runs?.length === 0) return <div className="compare"><p className="muted">No other run of this node to compare with yet.</p></div>;
  return (
    <div className="compare">
      <label>
        Compare with{" "}
        <select value={other} onChange={(e) => setOther(e.target.value ? Number(e.target.value) : "")}>
          <option value="">another run…</option>
          {(runs ?? []).map((r) => (
            <option key={r.id} value={r.id}>
              run #{r.id} (v{r.version}, {new Date(r.created_at).toLocaleString()})
            </option>
          ))}
        </select>
      </label>
      {error && <p className="error-text">{error}</p>}
      {body && <OtherBody body={body} mine={mine} runId={runId} other={other} />}
    </div>
  );
}

/** The other run's output; two runs' metrics as one table, a column per run, the better value starred. */
function OtherBody({ body, mine, runId, other }: { body: OutputBody; mine?: OutputBody; runId: number; other: number | "" }) {
  const paired = body.kind === "metrics" && mine?.kind === "metrics"
    ? runsPaired((mine as MetricsBody).metrics, (body as MetricsBody).metrics, `run #${runId}`, `run #${other}`)
    : null;
  if (!paired) return <OutputBodyView body={body} onPage={() => undefined} />;
  return (
    <>
      <p className="muted">This run beside run #{other}; ★ marks the better value.</p>
      <MetricsView metrics={paired} />
    </>
  );
}
