// The Schedules screens' logic as plain TypeScript (no React): the plain-language preview of a cron expression
// (cronstrue), the form of a pipeline's parameters, and the request body of the editor.
import cronstrue from "cronstrue";
import type { components } from "../api/schema";

type S = components["schemas"];
export type Schedule = S["Schedule"];
export type Fire = S["Fire"];
export type FireTime = S["FireTime"];
export type BackfillResult = S["BackfillResult"];

/** The presets the API accepts (studio/schedules/timing.py), as five fields for cronstrue. */
export const PRESETS: Record<string, string> = {
  "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
};

/**
 * "At 02:00, Monday through Friday, Europe/Berlin"; null when the expression cannot be read. Pass the zone only when
 * it is a zone (see `isZone`): the line says what will happen, and "Paris" is not where anything fires.
 */
export function describeCron(cron: string, zone: string): string | null {
  const text = cron.trim().replace(/\s+/g, " ");
  if (!text) return null;
  const expression = PRESETS[text.toLowerCase()] ?? text;
  if (expression.split(" ").length !== 5) return null;
  try {
    const words = cronstrue.toString(expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
    return zone ? `${words}, ${zone}` : words;
  } catch {
    return null;
  }
}

export interface ParamSpec {
  name: string;
  kind: "integer" | "number" | "boolean" | "text";
  default: unknown;
  description: string;
}

/** The pipeline's declared parameters ({name: {type, default, description}}) as form fields, by name. */
export function paramSpecs(parameters: unknown): ParamSpec[] {
  if (!parameters || typeof parameters !== "object") return [];
  return Object.entries(parameters as Record<string, Record<string, unknown>>)
    .map(([name, spec]) => {
      const type = String(spec?.type ?? typeof spec?.default);
      const kind: ParamSpec["kind"] = type === "integer" || type === "number" || type === "boolean" ? type : "text";
      return { name, kind, default: spec?.default, description: String(spec?.description ?? "") };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Form text -> parameter values; an empty field means "the pipeline's default" and is left out. */
export function paramValues(specs: ParamSpec[], texts: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const text = texts[spec.name];
    if (text === undefined || text === "") continue;
    if (spec.kind === "integer" || spec.kind === "number") out[spec.name] = Number(text);
    else if (spec.kind === "boolean") out[spec.name] = text === "true";
    else out[spec.name] = text;
  }
  return out;
}

/** Parameter values -> form text. */
export function paramTexts(values: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, String(v)]));
}

/** The editor's label of each field the API may name in an error ("timezone" is the field labelled "Time zone"). */
const FIELD_LABELS: Record<string, string> = {
  name: "Name", cron: "Cron expression", timezone: "Time zone", engine: "Engine", version: "Pinned version",
  start_at: "Not before", end_at: "Not after", params: "Parameters", notify: "E-mail on a final failure",
  catchup: "Catch-up", catchup_limit: "Catch-up limit", concurrency: "While the previous run is still going",
  retries: "Retries after a failure", retry_delay: "First retry delay (s)", retry_delay_max: "Longest retry delay (s)",
};

/** An API error path as the form labels the field: "timezone" -> "Time zone", "params.seed" -> "seed". */
export function fieldLabel(path: string): string {
  if (path.startsWith("params.")) return path.slice("params.".length);
  return FIELD_LABELS[path] ?? path;
}

/** The "Not saved: ..." line: each error after the label of its field, as the form shows it. */
export function notSavedText(errors: Record<string, string>): string {
  return `Not saved: ${Object.entries(errors).map(([k, v]) => (k ? `${fieldLabel(k)}: ${v}` : v)).join("; ")}`;
}

/** Whether the browser knows `zone` as an IANA time zone by that exact name ("Europe/Paris" yes, "Paris" no). */
export function isZone(zone: string, known: ReadonlySet<string>): boolean {
  if (!zone) return false;
  if (known.has(zone)) return true;
  try {
    return new Intl.DateTimeFormat("en", { timeZone: zone }).resolvedOptions().timeZone === zone;
  } catch {
    return false;
  }
}

/** An API error list -> {field path: message}; paths below a field ("params.seed") stay as they are. */
export function fieldErrors(errors: { path?: string; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const key = e.path || "";
    out[key] = out[key] ? `${out[key]}; ${e.message}` : e.message;
  }
  return out;
}

/** A datetime-local input's value (the browser's zone) -> ISO UTC, and back. */
export function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A fire time in the schedule's zone, e.g. "2025-01-06 02:00 (Europe/Berlin)"; in UTC, so labelled, for a zone
 * the browser does not know (Intl throws a RangeError for "Paris": the form holds the fire times of the last zone
 * it checked while a person types a new one, and an exception there blanked the page). */
export function inZone(iso: string, zone: string): string {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
  } catch {
    return zone === "UTC" ? iso : inZone(iso, "UTC");
  }
  const parts = format.formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} (${zone})`;
}

/** A fire time as the list shows it: in the schedule's zone, then in UTC, once when the two read the same. */
export function fireTimeText(iso: string, zone: string): string {
  const local = inZone(iso, zone || "UTC");
  const utc = iso.replace("T", " ").replace(/:00(\.000)?Z$/, " UTC");
  return local.replace(/ \((UTC|Etc\/UTC|Etc\/GMT|GMT)\)$/, " UTC") === utc ? utc : `${local} · ${utc}`;
}

/** The IANA zones the browser knows, for the zone field's suggestions. */
export function zoneNames(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? ["UTC", ...intl.supportedValuesOf("timeZone")] : ["UTC"];
}

/** The operators through which a scheduled run republishes a model. */
export const PUBLISHING_OPERATORS = ["publish_model", "publish_if_better"];

/** The nodes of a pipeline graph that publish (publish_model, publish_if_better): a schedule republishes only
 * through them. */
export function publishingNodes(graph: unknown): { id: string; operator: string }[] {
  const nodes = (graph as { nodes?: { id?: unknown; operator?: unknown }[] } | undefined)?.nodes;
  if (!Array.isArray(nodes)) return [];
  return nodes
    .filter((n) => typeof n.operator === "string" && PUBLISHING_OPERATORS.includes(n.operator))
    .map((n) => ({ id: String(n.id), operator: String(n.operator) }));
}
