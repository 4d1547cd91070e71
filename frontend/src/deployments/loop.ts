// The closed loop on the deployment page: the shapes of GET /api/deployments/{id}/monitoring/ and /drift/
// (untyped objects in the schema), and the live-metrics chart built from them.
import type { Figure } from "../outputs/Plot";

export interface DayLabels {
  day: string;
  labels: number;
}

export interface DayMetrics {
  day: string;
  labeled: number;
  auc: number | null;
  logloss: number;
}

export interface Decision {
  at: string;
  run: number | null;
  node: string;
  metric: string;
  champion_version: number | null;
  champion_score: number | null;
  challenger_score: number;
  margin: number;
  published: boolean;
  version: number | null;
  rows: number;
  reason: string;
}

export interface Monitoring {
  feedback: { total: number; per_day: DayLabels[] };
  live: DayMetrics[];
  decisions: Decision[];
}

export interface DriftFeature {
  name: string;
  kind: string;
  psi: number;
  missing_share: number;
  unseen: number;
}

export interface DriftReport {
  available: boolean;
  reason?: string;
  version?: number;
  rows?: number;
  features?: DriftFeature[];
  score?: { psi: number; mean: number | null } | null;
  alert?: number;
  warn?: number;
  /** fewer served rows than this and a PSI says little (a handful of rows reads as a large shift) */
  min_rows?: number;
  figure?: Figure;
}

export interface FeedbackAnswer {
  stored: number;
  new: number;
  replaced: number;
  unknown_request_ids: string[];
  unknown_rows: { request_id: string; row: number }[];
  /** a CSV's lines with an empty label (the labels template's rows left unfilled), skipped */
  blank_labels?: number;
}

/** AUC and logloss per day (the day rows were served) from the labeled served rows. */
export function liveFigure(days: DayMetrics[]): Figure {
  const x = days.map((d) => d.day);
  return {
    data: [
      { type: "scatter", mode: "lines+markers", name: "AUC", x, y: days.map((d) => d.auc) },
      { type: "scatter", mode: "lines+markers", name: "logloss", x, y: days.map((d) => d.logloss), yaxis: "y2" },
    ],
    layout: {
      title: { text: "Live metrics per day (labeled served rows)" },
      xaxis: { type: "category" },
      yaxis: { title: { text: "AUC" }, range: [0, 1] },
      yaxis2: { title: { text: "logloss" }, overlaying: "y", side: "right", rangemode: "tozero" },
    },
  };
}

/** "stable" below warn, "shift" up to alert, "drift" above: how a PSI reads. */
export function psiLevel(psi: number, warn = 0.1, alert = 0.25): "stable" | "shift" | "drift" {
  if (psi > alert) return "drift";
  return psi > warn ? "shift" : "stable";
}

/** Whether a report holds fewer served rows than its minimum for judging drift. */
export function tooFewToJudge(report: DriftReport): boolean {
  return (report.rows ?? 0) < (report.min_rows ?? 0);
}

/** How an input's PSI reads in a report: by the thresholds, or "too few rows" below the report's minimum. */
export function driftReading(psi: number, report: DriftReport): string {
  if (tooFewToJudge(report)) return "too few rows";
  return psiLevel(psi, report.warn, report.alert);
}

/** One line summing up a feedback upload's answer. */
export function feedbackSummary(answer: FeedbackAnswer): string {
  const parts = [`${answer.stored} stored (${answer.new} new, ${answer.replaced} replaced)`];
  if (answer.unknown_request_ids.length) parts.push(`${answer.unknown_request_ids.length} unknown request ids`);
  if (answer.unknown_rows.length) parts.push(`${answer.unknown_rows.length} unknown rows`);
  if (answer.blank_labels) parts.push(`${answer.blank_labels} ${answer.blank_labels === 1 ? "line" : "lines"} without a label skipped`);
  return parts.join("; ");
}

export interface ServedAnswer {
  row: number;
  label: string | number | boolean | null;
  probability: number | null;
}

export interface ServedRequest {
  request_id: string;
  time: string | null;
  version: string | null;
  rows: number;
  answers: ServedAnswer[];
}

/** How often the page asks the prediction log again for a request it just served (Try it): the serving process
 * writes its log about once a second, so at first the request is not there yet. At most AWAIT_TRIES times. */
export const AWAIT_MS = 1_000;
export const AWAIT_TRIES = 20;

/** Whether the page is still waiting for request `awaited` to land in the prediction log: the requests asked for
 * do not hold it, after `tries` asks. */
export function stillAwaited(requests: readonly ServedRequest[] | null, awaited: string | null | undefined, tries: number): boolean {
  return !!awaited && tries < AWAIT_TRIES && !(requests ?? []).some((r) => r.request_id === awaited);
}

/** A served request's answer in a few words: "no (p 0.250)", or the first rows' labels for a batch. */
export function answerText(request: ServedRequest): string {
  const one = (a: ServedAnswer) => `${a.label ?? "—"}${a.probability === null ? "" : ` (p ${a.probability.toFixed(3)})`}`;
  if (request.rows === 1 && request.answers.length) return one(request.answers[0]);
  const shown = request.answers.map((a) => String(a.label ?? "—")).join(", ");
  return request.answers.length < request.rows ? `${shown}, …` : shown;
}

/** A labels CSV to fill in: one line per served row (request_id, row) with the label left empty. A request id is
 * whatever the model's client sent: one that a spreadsheet would read as a formula (=, +, -, @, tab) gets a
 * leading ' (OWASP's CSV injection advice), which the labels upload takes off again. */
export function labelsTemplate(requests: ServedRequest[]): string {
  const text = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
  const quote = (s: string) => (/[",\n\r]/.test(text(s)) ? `"${text(s).replace(/"/g, '""')}"` : text(s));
  const lines = requests.flatMap((r) => Array.from({ length: r.rows }, (_, row) => `${quote(r.request_id)},${row},`));
  return ["request_id,row,label", ...lines].join("\n") + "\n";
}
