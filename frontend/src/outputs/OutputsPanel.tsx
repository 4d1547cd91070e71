import { useEffect, useState } from "react";
import { ApiFailure, get } from "../api/client";
import type { OperatorSpec } from "../graph/types";
import { Plot, type Figure } from "./Plot";
import { chartOrder, chartTitle, fmt, MetricsView, ModelSummary, type ModelBody } from "./views";

export { MetricsView } from "./views";

/** A port's tab: "Charts" and "Metrics" for those kinds, else its name and type. */
function portTitle(p: { name: string; type: string }): string {
  if (p.type === "report") return p.name === "report" ? "Charts" : `${p.name} (charts)`;
  if (p.type === "metrics") return p.name === "metrics" ? "Metrics" : `${p.name} (metrics)`;
  if (p.name === p.type) return p.name[0].toUpperCase() + p.name.slice(1).replace(/_/g, " ");
  return `${p.name} (${p.type.replace(/_/g, " ")})`;
}

interface Column {
  name: string;
  dtype: string;
}
interface TableBody {
  kind: "table";
  rows_total: number;
  offset: number;
  limit: number;
  columns: Column[];
  rows: unknown[][];
}
interface ProfileColumn {
  name: string;
  dtype: string;
  count: number;
  missing: number;
  distinct: number;
  mean?: number;
  min?: number;
  max?: number;
  histogram?: { counts: number[]; edges: number[] };
  top?: { value: string; count: number }[];
}
interface ProfileBody {
  kind: "profile";
  rows_total: number;
  columns: ProfileColumn[];
}
interface MetricsBody {
  kind: "metrics";
  metrics: Record<string, unknown>;
}
interface ReportBody {
  kind: "report";
  figures: Record<string, Figure>;
  tables: Record<string, Record<string, unknown>[]>;
  text: string;
}
type OutputBody = TableBody | ProfileBody | MetricsBody | ReportBody | { kind: string; [k: string]: unknown };

const PAGE = 50;

function Histogram({ counts }: { counts: number[] }) {
  const max = Math.max(1, ...counts);
  const w = 120 / Math.max(1, counts.length);
  return (
    <svg width="120" height="28" role="img" aria-label="histogram" className="histogram">
      {counts.map((c, i) => (
        <rect key={i} x={i * w} y={28 - (c / max) * 28} width={Math.max(1, w - 1)} height={(c / max) * 28} />
      ))}
    </svg>
  );
}

function TableView({ body, onPage }: { body: TableBody; onPage: (offset: number) => void }) {
  return (
    <div>
      <div className="pager">
        <span>
          Rows {body.rows_total ? body.offset + 1 : 0}–{Math.min(body.offset + body.limit, body.rows_total)} of {body.rows_total}
        </span>
        <button type="button" disabled={body.offset === 0} onClick={() => onPage(Math.max(0, body.offset - PAGE))}>Previous</button>
        <button type="button" disabled={body.offset + body.limit >= body.rows_total} onClick={() => onPage(body.offset + PAGE)}>Next</button>
      </div>
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Rows">
        <table className="data">
          <thead>
            <tr>
              {body.columns.map((c) => (
                <th key={c.name} scope="col" title={c.dtype}>{c.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.rows.map((row, i) => (
              <tr key={i}>
                {row.map((v, j) => (
                  <td key={j}>{fmt(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function ProfileView({ body }: { body: ProfileBody }) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Column profile">
      <table className="data">
        <thead>
          <tr>
            <th scope="col">column</th><th scope="col">type</th><th scope="col">missing</th><th scope="col">distinct</th>
            <th scope="col">mean</th><th scope="col">min</th><th scope="col">max</th><th scope="col">distribution</th>
          </tr>
        </thead>
        <tbody>
          {body.columns.map((c) => (
            <tr key={c.name}>
              <th scope="row">{c.name}</th>
              <td>{c.dtype}</td>
              <td>{c.missing}</td>
              <td>{c.distinct}</td>
              <td>{fmt(c.mean)}</td>
              <td>{fmt(c.min)}</td>
              <td>{fmt(c.max)}</td>
              <td>
                {c.histogram ? <Histogram counts={c.histogram.counts} /> : c.top?.slice(0, 3).map((t) => `${t.value} (${t.count})`).join(", ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ReportView({ body }: { body: ReportBody }) {
  const names = chartOrder(Object.keys(body.figures));
  const [chart, setChart] = useState(names[0] ?? "");
  return (
    <div>
      {body.text && <p>{body.text}</p>}
      <div className="chart-tabs" role="tablist" aria-label="Charts">
        {names.map((n) => (
          <button key={n} type="button" role="tab" aria-selected={chart === n} className={chart === n ? "active" : ""} onClick={() => setChart(n)} data-testid={`chart-tab-${n}`}>
            {chartTitle(n)}
          </button>
        ))}
      </div>
      {chart && body.figures[chart] && <Plot key={chart} name={chart} title={chartTitle(chart)} figure={body.figures[chart]} />}
    </div>
  );
}

function OutputBodyView({ body, onPage }: { body: OutputBody; onPage: (offset: number) => void }) {
  if (body.kind === "table") return <TableView body={body as TableBody} onPage={onPage} />;
  if (body.kind === "profile") return <ProfileView body={body as ProfileBody} />;
  if (body.kind === "metrics") return <MetricsView metrics={(body as MetricsBody).metrics} />;
  if (body.kind === "report") return <ReportView body={body as ReportBody} />;
  // Trained models read as a summary; a fitted feature state (also kind "model") keeps its full JSON view,
  // where its inputs, label classes and excluded identifiers are named.
  if (body.kind === "model" && "summary" in body) return <ModelSummary body={body as unknown as ModelBody} />;
  return <pre className="json">{JSON.stringify(body, null, 2)}</pre>;
}

interface RunSummary {
  id: number;
  version: number;
  created_at: string;
  nodes: { node: string; status: string }[];
}

/** The same node's output in another run of the pipeline, beside this one (two evaluations side by side). */
function CompareWith({ pipelineId, runId, node, port }: { pipelineId: number; runId: number; node: string; port: string }) {
  const [runs, setRuns] = useState<RunSummary[]>([]);
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
  return (
    <div className="compare">
      <label>
        Compare with{" "}
        <select value={other} onChange={(e) => setOther(e.target.value ? Number(e.target.value) : "")}>
          <option value="">another run…</option>
          {runs.map((r) => (
            <option key={r.id} value={r.id}>
              run #{r.id} (v{r.version}, {new Date(r.created_at).toLocaleString()})
            </option>
          ))}
        </select>
      </label>
      {error && <p className="error-text">{error}</p>}
      {body && <OutputBodyView body={body} onPage={() => undefined} />}
    </div>
  );
}

/** What a node produced in a run: each output port, shown by kind (table, profile, metrics, charts). */
export function OutputsPanel({ runId, node, spec, ready, pipelineId }: { runId: number | null; node: string; spec: OperatorSpec | undefined; ready: boolean; pipelineId?: number }) {
  const ports = spec?.outputs ?? [];
  // A node with charts opens on them (an evaluation's report before its metrics table).
  const firstPort = (ports.find((p) => p.type === "report") ?? ports[0])?.name ?? "";
  const [port, setPort] = useState(firstPort);
  const [view, setView] = useState<"data" | "profile">("data");
  const [offset, setOffset] = useState(0);
  const [body, setBody] = useState<OutputBody | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    setPort(firstPort);
    setOffset(0);
  }, [node, spec]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setBody(null);
    setError("");
    // (right after a switch to another node, `port` may still name the previous node's port: wait for the reset)
    if (runId === null || !port || !ready || !ports.some((p) => p.name === port)) return;
    let alive = true;
    get<OutputBody>(`/api/runs/${runId}/outputs/${encodeURIComponent(node)}/${encodeURIComponent(port)}/?view=${view}&offset=${offset}&limit=${PAGE}`)
      .then((b) => alive && setBody(b))
      .catch((e: Error) => alive && setError(e instanceof ApiFailure && e.status === 404 ? "No output yet: run this node first." : e.message));
    return () => {
      alive = false;
    };
  }, [runId, node, port, view, offset, ready]); // eslint-disable-line react-hooks/exhaustive-deps

  if (runId === null) return <p className="muted">Run the pipeline to see this node's outputs.</p>;
  if (!ready) return <p className="muted">The node has not finished in this run.</p>;
  const portType = ports.find((p) => p.name === port)?.type;
  return (
    <div className="outputs" data-testid="outputs">
      <div className="output-head">
        <div className="output-tabs" role="tablist" aria-label="Output ports">
          {ports.map((p) => (
            <button key={p.name} type="button" role="tab" aria-selected={p.name === port} className={p.name === port ? "active" : ""} onClick={() => { setPort(p.name); setOffset(0); }} data-testid={`output-tab-${p.name}`}>
              {portTitle(p)}
            </button>
          ))}
        </div>
        {portType === "table" && (
          // Outside the tablist: a tablist may hold only tabs (axe: aria-required-children).
          <span className="view-switch" role="group" aria-label="Table view">
            <button type="button" className={view === "data" ? "active" : ""} aria-pressed={view === "data"} onClick={() => setView("data")}>Rows</button>
            <button type="button" className={view === "profile" ? "active" : ""} aria-pressed={view === "profile"} onClick={() => setView("profile")}>Profile</button>
          </span>
        )}
      </div>
      {error && <p className="error-text">{error}</p>}
      {!body && !error && <p className="muted">Loading…</p>}
      {body && (portType === "metrics" || portType === "report") && pipelineId !== undefined ? (
        <div className="side-by-side">
          <div>
            <h3>This run (#{runId})</h3>
            <OutputBodyView body={body} onPage={setOffset} />
          </div>
          <CompareWith pipelineId={pipelineId} runId={runId} node={node} port={port} />
        </div>
      ) : (
        body && <OutputBodyView body={body} onPage={setOffset} />
      )}
    </div>
  );
}
