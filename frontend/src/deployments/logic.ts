// Pure logic of the Deployments page: the "try it" form derived from a deployment's input_spec, and the
// serving figures (per-version requests, errors, latency histogram) turned into plotly figures.
import type { Figure } from "../outputs/Plot";

/** One raw input column of a bundle's manifest (the API's input_spec entries). */
export interface InputColumn {
  name: string;
  datatype: string;
  nullable?: boolean;
  categories?: (string | number)[] | null;
}

export type FieldKind = "number" | "integer" | "select" | "text";

/** Which control asks for a column: a select when the column has allowed categories, a number for FP/INT, else text. */
export function fieldKind(column: InputColumn): FieldKind {
  if (column.categories && column.categories.length > 0) return "select";
  if (/^INT/.test(column.datatype)) return "integer";
  if (/^FP/.test(column.datatype)) return "number";
  return "text";
}

const TYPE_WORDS: [RegExp, string][] = [[/^FP/, "number"], [/^U?INT/, "whole number"], [/^BOOL/, "true / false"], [/^BYTES$/, "text"]];

/** A try-it field's label in a person's words: "age (number, required)", not the protocol's "FP64". */
export function fieldLabel(column: InputColumn): string {
  const type = column.categories && column.categories.length > 0
    ? "choose one"
    : TYPE_WORDS.find(([pattern]) => pattern.test(column.datatype))?.[1] ?? column.datatype;
  return `${column.name} (${type}${column.nullable === false ? ", required" : ""})`;
}

/** A select's categories in an order a person can scan: numbers by value, words alphabetically (the bundle keeps
 * them in the order training met them). */
export function sortedCategories(categories: readonly (string | number)[]): (string | number)[] {
  const numeric = categories.every((c) => c !== "" && Number.isFinite(Number(c)));
  return [...categories].sort((a, b) => (numeric ? Number(a) - Number(b) : String(a).localeCompare(String(b))));
}

/** input_spec as the API gives it (objects of unknown shape) -> typed columns; entries without a name are dropped. */
export function inputColumns(spec: readonly { [key: string]: unknown }[] | undefined): InputColumn[] {
  return (spec ?? [])
    .filter((s) => typeof s.name === "string" && s.name !== "")
    .map((s) => ({
      name: s.name as string,
      datatype: typeof s.datatype === "string" ? s.datatype : "BYTES",
      nullable: s.nullable === undefined ? true : Boolean(s.nullable),
      categories: Array.isArray(s.categories) ? (s.categories as (string | number)[]) : null,
    }));
}

/** A column of the training rows the model makes no feature of (the API's left_out_inputs entries). */
export interface LeftOutInput {
  name: string;
  reason: string;
}

/** The Try it form's note on a column left out of the features: "purchase_date is not used by this model (a
 * date/time: …)", so nobody fills a date it ignores or wonders where the column went. */
export function leftOutText({ name, reason }: LeftOutInput): string {
  return `${name} is not used by this model${reason ? ` — ${reason}` : ""}. A value sent for it changes nothing.`;
}

export interface TryRequest {
  instances: Record<string, string | number | null>[];
  explain: boolean;
}

export type TryBuild = { ok: true; request: TryRequest } | { ok: false; errors: Record<string, string> };

/** The first choice of a Try it list: none yet for a required column; for one that may be empty, sending it
 * missing, in words (it read "(null)"). */
export function emptyChoice(column: Pick<InputColumn, "nullable">): string {
  return column.nullable === false ? "— choose —" : "— missing —";
}

/**
 * What Try it says when scoring failed. Without a key in "Endpoint key" a refusal for want of one (the serving
 * process asks for its deployment's key) points at the two controls above the form: a person on this very page was
 * told "the deployment page shows how to create one".
 */
export function tryFailure(message: string, hasKey: boolean): string {
  if (hasKey || !/\bkey\b/i.test(message)) return message;
  return "Try it needs this deployment's key: paste it into “Endpoint key” above, or press “Regenerate primary key” " +
    "(the new key fills that box; the old one stops working).";
}

/**
 * Form values (strings, as inputs hold them) -> the try request of one row. An empty field is a null, which
 * only a nullable column takes; numbers must parse (integers must be whole). Errors are keyed by column.
 */
export function buildTryRequest(columns: InputColumn[], values: Record<string, string>, explain = false): TryBuild {
  const row: Record<string, string | number | null> = {};
  const errors: Record<string, string> = {};
  for (const column of columns) {
    const raw = (values[column.name] ?? "").trim();
    if (raw === "") {
      if (column.nullable === false) errors[column.name] = `${column.name} is required`;
      else row[column.name] = null;
      continue;
    }
    const kind = fieldKind(column);
    if (kind === "number" || kind === "integer") {
      const n = Number(raw);
      if (!Number.isFinite(n)) errors[column.name] = `${column.name} must be a number`;
      else if (kind === "integer" && !Number.isInteger(n)) errors[column.name] = `${column.name} must be a whole number`;
      else row[column.name] = n;
    } else if (kind === "select") {
      // A select holds strings; a category that is a number in the spec goes back as that number.
      const match = column.categories!.find((c) => String(c) === raw);
      if (match === undefined) errors[column.name] = `${column.name} must be one of ${column.categories!.join(", ")}`;
      else row[column.name] = match;
    } else {
      row[column.name] = raw;
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, request: { instances: [row], explain } };
}

/** What the serving endpoint reports of one version (studio.deployments.services.serving_metrics). */
export interface VersionMetrics {
  requests: number;
  errors: number;
  latency_mean_seconds?: number | null;
  latency_buckets: Record<string, number>;
}

/** Whether any version has answered a request: before the first one the charts would be empty axes. */
export function anyRequests(metrics: Record<string, VersionMetrics>): boolean {
  return versionsOf(metrics).some((v) => metrics[v].requests > 0);
}

/** Versions in numeric order; the "" version (requests for an unknown model) is left out. */
function versionsOf(metrics: Record<string, VersionMetrics>): string[] {
  return Object.keys(metrics)
    .filter((v) => v !== "")
    .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
}

/**
 * Prometheus buckets are cumulative ({le: requests at or under le}); the chart shows how many fell in each
 * bucket, labelled by its upper bound in milliseconds.
 */
export function histogramBars(buckets: Record<string, number>): { label: string; count: number }[] {
  const bounds = Object.keys(buckets).sort((a, b) => parseLe(a) - parseLe(b));
  let previous = 0;
  return bounds.map((le) => {
    const count = Math.max(0, buckets[le] - previous);
    previous = buckets[le];
    return { label: Number.isFinite(parseLe(le)) ? `≤ ${formatMs(parseLe(le))}` : "> last", count };
  });
}

function parseLe(le: string): number {
  return le === "+Inf" ? Infinity : Number(le);
}

function formatMs(seconds: number): string {
  const ms = seconds * 1000;
  return `${ms >= 1 ? Number(ms.toPrecision(3)) : Number(ms.toPrecision(2))} ms`;
}

export function latencyFigure(metrics: Record<string, VersionMetrics>): Figure {
  return {
    data: versionsOf(metrics).map((v) => {
      const bars = histogramBars(metrics[v].latency_buckets);
      return { type: "bar", name: `v${v}`, x: bars.map((b) => b.label), y: bars.map((b) => b.count) };
    }),
    layout: {
      title: { text: "Latency (requests per bucket)" }, barmode: "group",
      xaxis: { type: "category", title: { text: "Time to answer" } }, yaxis: { title: { text: "Requests" }, rangemode: "tozero" },
    },
  };
}

export function requestsFigure(metrics: Record<string, VersionMetrics>): Figure {
  const versions = versionsOf(metrics);
  const x = versions.map((v) => `v${v}`);
  return {
    data: [
      { type: "bar", name: "requests", x, y: versions.map((v) => metrics[v].requests - metrics[v].errors) },
      { type: "bar", name: "errors", x, y: versions.map((v) => metrics[v].errors), marker: { color: "#c0392b" } },
    ],
    layout: {
      title: { text: "Requests and errors per version" }, barmode: "stack",
      xaxis: { type: "category", title: { text: "Version" } }, yaxis: { title: { text: "Requests" }, rangemode: "tozero" },
    },
  };
}
