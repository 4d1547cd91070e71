import { useState } from "react";
import { FeatureStateSummary, FeaturesView, type FeaturesBody, type FeatureStateBody } from "./FeatureStateSummary";
import { Plot, type Figure } from "./Plot";
import { chartOrder, chartTitle, columnFormatters, fmt, MetricsView, ModelSummary, type ModelBody } from "./views";

// The body of one output port, as GET /api/runs/{id}/outputs/{node}/{port}/ answers it, drawn by its kind.

interface Column {
  name: string;
  dtype: string;
}
export interface TableBody {
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
export interface ProfileBody {
  kind: "profile";
  rows_total: number;
  columns: ProfileColumn[];
}
export interface MetricsBody {
  kind: "metrics";
  metrics: Record<string, unknown>;
}
export interface ReportBody {
  kind: "report";
  figures: Record<string, Figure>;
  tables: Record<string, Record<string, unknown>[]>;
  text: string;
}
export type OutputBody = TableBody | ProfileBody | MetricsBody | ReportBody | { kind: string; [k: string]: unknown };

export const PAGE = 50;

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
  const shown = columnFormatters(body.columns.map((c) => c.dtype), body.rows);
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
                  <td key={j}>{shown[j] ? shown[j](v) : fmt(v)}</td>
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

export function OutputBodyView({ body, onPage }: { body: OutputBody; onPage: (offset: number) => void }) {
  if (body.kind === "table") return <TableView body={body as TableBody} onPage={onPage} />;
  if (body.kind === "profile") return <ProfileView body={body as ProfileBody} />;
  if (body.kind === "metrics") return <MetricsView metrics={(body as MetricsBody).metrics} />;
  if (body.kind === "report") return <ReportView body={body as ReportBody} />;
  // Trained models read as a summary; a fitted feature state (also kind "model") as the features it makes of
  // which column and the columns it leaves out (each with its raw JSON behind a toggle).
  if (body.kind === "model" && "summary" in body) return <ModelSummary body={body as unknown as ModelBody} />;
  if (body.kind === "model" && "features_summary" in body) return <FeatureStateSummary body={body as unknown as FeatureStateBody} />;
  if (body.kind === "features") return <FeaturesView body={body as unknown as FeaturesBody} />;
  return <pre className="json">{JSON.stringify(body, null, 2)}</pre>;
}
