// Readable outputs (issue 15): two models' metrics side by side with the better value marked, a model as a
// summary (raw JSON behind a toggle), and the chart names a person reads.
import { useState } from "react";

/** Metrics where a bigger value is better, and where a smaller one is; the others are not compared. */
const HIGHER = new Set(["auc", "ks", "pr_auc", "average_precision", "accuracy", "precision", "recall", "f1", "gini"]);
const LOWER = new Set(["logloss", "brier"]);

/** The one formatter of a value in a table: numbers to 4 significant digits, missing as "—", and a cell of a date /
 * time column (`dtype` "datetime64[ns]", "datetime", "date32[day]", ...) by `dateTimeText`. */
export function fmt(v: unknown, dtype = "", dateOnly = false): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (v === null || v === undefined) return "—";
  if (typeof v === "string" && isDateTimeType(dtype)) return dateTimeText(v, dateOnly);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

export function isDateTimeType(dtype: string): boolean {
  return /^(datetime|date|timestamp)/i.test(dtype);
}

/** An ISO date / time as a person reads it: "2024-01-10T13:45:00.000" -> "2024-01-10 13:45:00", fractions of a
 * second only when not zero (".250" -> ".25"), and the date alone for a date column (`dateOnly`: every value at
 * midnight) or "2024-01-10T00:00:00.000Z" -> "2024-01-10 00:00:00 UTC". Anything else comes back unchanged. */
export function dateTimeText(text: string, dateOnly = false): string {
  const m = ISO.exec(text);
  if (!m) return text;
  const [, day, hm, sec, frac, zone] = m;
  if (dateOnly || !hm) return day;
  const fraction = (frac ?? "").replace(/0+$/, "");
  return `${day} ${hm}:${sec ?? "00"}${fraction ? `.${fraction}` : ""}${zone ? (zone === "Z" ? " UTC" : ` ${zone}`) : ""}`;
}

/** Whether a date / time column shows dates only: every value it shows at midnight (a column of dates, which pandas
 * holds as timestamps). */
export function isDateColumn(values: readonly unknown[]): boolean {
  const texts = values.filter((v): v is string => typeof v === "string");
  return texts.length > 0 && texts.every((v) => {
    const m = ISO.exec(v);
    return m !== null && (!m[2] || (m[2] === "00:00" && /^0*$/.test(m[3] ?? "") && /^0*$/.test(m[4] ?? "")));
  });
}

/** The formatter of each column of a table of rows: `fmt` with the column's type, dates alone in a date column. */
export function columnFormatters(dtypes: readonly string[], rows: readonly (readonly unknown[])[]): ((v: unknown) => string)[] {
  return dtypes.map((dtype, j) => {
    const dateOnly = isDateTimeType(dtype) && isDateColumn(rows.map((r) => r[j]));
    return (v: unknown) => fmt(v, dtype, dateOnly);
  });
}

/** Which side is better for one metric: "a", "b" or "" (equal, not comparable, or not numbers). */
export function better(metric: string, a: unknown, b: unknown): "a" | "b" | "" {
  if (typeof a !== "number" || typeof b !== "number" || a === b) return "";
  if (HIGHER.has(metric)) return a > b ? "a" : "b";
  if (LOWER.has(metric)) return a < b ? "a" : "b";
  return "";
}

/** An evaluation of two models (the second's metrics prefixed b_) as one row per metric, a column per model. */
export function pairedMetrics(metrics: Record<string, unknown>): { names: [string, string]; rows: [string, unknown, unknown][] } | null {
  const keys = Object.keys(metrics);
  if (!keys.some((k) => k.startsWith("b_"))) return null;
  const skip = new Set(["model", "model_b", "positive_class", "negative_class"]);
  const rows: [string, unknown, unknown][] = keys
    .filter((k) => !k.startsWith("b_") && !skip.has(k))
    .map((k) => [k, metrics[k], metrics[`b_${k}`]]);
  return { names: [String(metrics.model ?? "model A"), String(metrics.model_b ?? "model B")], rows };
}

function Cell({ value, best }: { value: unknown; best: boolean }) {
  return <td className={best ? "better" : ""}>{fmt(value)}{best && <span title="better of the two"> ★<span className="sr-only"> (better)</span></span>}</td>;
}

export function MetricsView({ metrics }: { metrics: Record<string, unknown> }) {
  const paired = pairedMetrics(metrics);
  if (paired) {
    return (
      <table className="data metrics metrics-compare" aria-label="Metrics of both models">
        <thead>
          <tr><th scope="col">metric</th><th scope="col">{paired.names[0]}</th><th scope="col">{paired.names[1]}</th></tr>
        </thead>
        <tbody>
          {paired.rows.map(([k, a, b]) => {
            const side = better(k, a, b);
            return (
              <tr key={k}>
                <th scope="row">{k}</th>
                <Cell value={a} best={side === "a"} />
                <Cell value={b} best={side === "b"} />
              </tr>
            );
          })}
        </tbody>
      </table>
    );
  }
  return (
    <table className="data metrics">
      <tbody>
        {Object.entries(metrics).map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{fmt(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface ModelBody {
  kind: "model";
  model_kind: string;
  state: Record<string, unknown>;
  summary?: { features?: number; trees?: number; coefficients?: number; intercept?: number; top_features?: { name: string; weight: number }[] };
}

const KIND_NAME: Record<string, string> = { lightgbm: "Gradient-boosted trees (LightGBM)", lr: "Logistic regression" };

/** A trained model as a person reads it: kind, size, parameters, top features; the raw state behind a toggle. */
export function ModelSummary({ body }: { body: ModelBody }) {
  const [raw, setRaw] = useState(false);
  const s = body.summary ?? {};
  const params = (body.state.params as Record<string, unknown> | undefined) ?? Object.fromEntries(["penalty", "C", "n_iter"].filter((k) => k in body.state).map((k) => [k, body.state[k]]));
  return (
    <div className="model-summary">
      <dl>
        <dt>Kind</dt><dd>{KIND_NAME[body.model_kind] ?? body.model_kind}</dd>
        {s.trees !== undefined && (<><dt>Trees</dt><dd>{s.trees}</dd></>)}
        {s.coefficients !== undefined && (<><dt>Coefficients</dt><dd>{s.coefficients} (intercept {fmt(s.intercept)})</dd></>)}
        <dt>Features</dt><dd>{s.features ?? "—"}</dd>
        <dt>Parameters</dt><dd>{Object.entries(params).map(([k, v]) => `${k} = ${fmt(v)}`).join(", ") || "—"}</dd>
      </dl>
      {s.top_features && (
        <table className="data" aria-label="Top features">
          <thead><tr><th scope="col">Feature</th><th scope="col">Share of importance</th></tr></thead>
          <tbody>
            {s.top_features.map((f) => <tr key={f.name}><td>{f.name}</td><td>{(f.weight * 100).toFixed(1)} %</td></tr>)}
          </tbody>
        </table>
      )}
      <button type="button" aria-expanded={raw} onClick={() => setRaw(!raw)}>{raw ? "Hide raw JSON" : "Show raw JSON"}</button>
      {raw && <pre className="json">{JSON.stringify(body, null, 2)}</pre>}
    </div>
  );
}

/** Chart names a person reads, and their order: ROC first. */
const CHARTS: [string, string][] = [
  ["roc", "ROC"], ["pr", "Precision-recall"], ["ks", "KS"], ["gain", "Cumulative gain"], ["lift", "Lift"],
  ["calibration", "Calibration"], ["score_distribution", "Score distribution"], ["iterations", "By iteration"],
  ["importance", "Feature importance"],
];

export function chartOrder(names: string[]): string[] {
  const rank = (n: string) => {
    const i = CHARTS.findIndex(([k]) => k === n);
    return i < 0 ? CHARTS.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b));
}

export function chartTitle(name: string): string {
  return CHARTS.find(([k]) => k === name)?.[1] ?? name.replace(/_/g, " ");
}
