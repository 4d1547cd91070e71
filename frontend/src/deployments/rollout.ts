import type { Figure } from "../outputs/Plot";
import type { VersionMetrics } from "./logic";

/** The curl line's stand-in for the key (studio.deployments.services.KEY_PLACEHOLDER). */
export const KEY_PLACEHOLDER = "$SERVING_KEY";

/**
 * Keys the user holds in this tab: the ones shown once (a new deployment's, a regenerated one) or pasted in.
 * Kept in memory only (never in storage), per deployment id, so that leaving and coming back to the page keeps
 * the try-it form and the curl line working until the tab is closed.
 */
const held = new Map<string, string>();

export function holdKey(id: string | number, key: string): void {
  if (key) held.set(String(id), key);
  else held.delete(String(id));
}

export function heldKey(id: string | number): string {
  return held.get(String(id)) ?? "";
}

/** The curl line with the key in place of its placeholder (quoted for a POSIX shell). */
export function curlWithKey(curl: string, key: string): string {
  if (!key) return curl;
  return curl.replace(`"Authorization: Bearer ${KEY_PLACEHOLDER}"`, `'Authorization: Bearer ${key.replace(/'/g, "")}'`);
}

/** A traffic split as the page shows it: "v1 90% · v2 10%", heaviest first. */
export function describeTraffic(traffic: Record<string, number>): string {
  return Object.entries(traffic)
    .sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))
    .map(([v, w]) => `v${v} ${w}%`)
    .join(" · ");
}

/** A percent typed in a form: a whole number 1-99, or the reason it is not. */
export function canaryPercent(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value < 1 || value > 99) return { ok: false, error: "a whole percent from 1 to 99" };
  return { ok: true, value };
}

/** Scores per version (serving_scores bins), as a share of each version's rows: live and canary side by side. */
export function scoresFigure(metrics: Record<string, VersionMetrics & { scores?: Record<string, number> }>): Figure {
  const versions = Object.keys(metrics).filter((v) => v !== "" && Object.keys(metrics[v].scores ?? {}).length > 0);
  const bins = Array.from({ length: 10 }, (_, i) => (i / 10).toFixed(1));
  return {
    data: versions.sort((a, b) => Number(a) - Number(b)).map((v) => {
      const scores = metrics[v].scores ?? {};
      const total = bins.reduce((sum, b) => sum + (scores[b] ?? 0), 0) || 1;
      return { type: "bar", name: `v${v}`, x: bins.map((b) => `${b}–${(Number(b) + 0.1).toFixed(1)}`), y: bins.map((b) => (scores[b] ?? 0) / total) };
    }),
    layout: {
      title: { text: "Score distribution per version (share of rows)" }, barmode: "group",
      xaxis: { type: "category", title: { text: "Probability" } }, yaxis: { title: { text: "Share of rows" }, rangemode: "tozero" },
    },
  };
}

export interface ShadowReport {
  available: boolean;
  reason?: string;
  versions?: Record<string, { rows: number; agreement: number; mean_abs_difference: number; live_versions: string[]; difference_histogram: { edges: number[]; counts: number[] } }>;
  /** The one form both sides are compared in: the live version's [negative, positive]. */
  compared_as?: [unknown, unknown];
}

/** Which form the comparison is in: versions answering 0 / 1, "no" / "yes" or "yes" / "no" are all read as the live
 * version's classes before their labels are matched and their probabilities subtracted. */
export function comparedAs(report: ShadowReport): string {
  if (!report.compared_as) return "";
  const [negative, positive] = report.compared_as.map((v) => JSON.stringify(v));
  return `Labels and probabilities of every version read as the live version's classes (positive ${positive}, negative ${negative}) before they are compared.`;
}

/** Shadow minus live probability on the same requests, one bar per difference bucket. */
export function differenceFigure(report: ShadowReport): Figure {
  return {
    data: Object.entries(report.versions ?? {}).map(([v, r]) => {
      const edges = r.difference_histogram.edges;
      return { type: "bar", name: `shadow v${v}`, x: r.difference_histogram.counts.map((_, i) => `${edges[i]} to ${edges[i + 1]}`), y: r.difference_histogram.counts };
    }),
    layout: { title: { text: "Shadow − live probability on the same requests" }, xaxis: { type: "category" } },
  };
}

/** Keys just made (a new deployment's, from the publish answer): shown once by the page it opens. */
const fresh = new Map<string, Record<string, string>>();

export function handOffKeys(id: string | number, keys: Record<string, string> | undefined): void {
  if (!keys) return;
  fresh.set(String(id), keys);
  holdKey(id, keys.primary ?? "");
}

export function takeFreshKeys(id: string | number): Record<string, string> | null {
  const keys = fresh.get(String(id)) ?? null;
  fresh.delete(String(id));
  return keys;
}
