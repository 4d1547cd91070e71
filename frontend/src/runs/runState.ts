// Folding a run's ordered event stream into what the canvas shows: a status per node, a log, the run's status.
// Events carry a seq; anything at or below the last seq seen is a replay and is ignored, so a client that
// reconnects with ?after=<last seq> and one that receives a duplicate both end in the same state.
import type { NodeRunState, NodeStatus } from "../canvas/nodeData";

export interface RunEventMsg {
  seq: number;
  type: string;
  node: string | null;
  data: Record<string, unknown>;
  time: number;
}

export interface RunView {
  lastSeq: number;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  nodes: ReadonlyMap<string, NodeRunState>;
  log: readonly string[];
  metrics: Record<string, unknown>;
  reason: string;
}

export const emptyRun: RunView = { lastSeq: 0, status: "queued", nodes: new Map(), log: [], metrics: {}, reason: "" };

const NODE_EVENT: Record<string, NodeStatus> = {
  node_queued: "queued",
  node_running: "running",
  node_succeeded: "succeeded",
  node_cached: "cached",
  node_failed: "failed",
  node_skipped: "skipped",
  node_cancelled: "cancelled",
};

const LOG_LIMIT = 2000;

function stamp(time: number): string {
  return new Date(time * 1000).toISOString().slice(11, 19);
}

export function applyEvents(view: RunView, events: readonly RunEventMsg[]): RunView {
  let next = view;
  let nodes: Map<string, NodeRunState> | null = null;
  const log: string[] = [];
  for (const e of events) {
    if (e.seq <= next.lastSeq) continue;
    next = { ...next, lastSeq: e.seq };
    const data = e.data ?? {};
    const node = e.node ?? "";
    const at = stamp(e.time);
    if (e.type === "run_started") {
      nodes = new Map((data.nodes as string[] | undefined)?.map((n) => [n, { status: "queued" as NodeStatus }]) ?? []);
      next = { ...next, status: "running" };
      log.push(`${at} run started`);
    } else if (e.type === "run_finished") {
      const status = (data.status as RunView["status"]) ?? "failed";
      next = { ...next, status, metrics: (data.metrics as Record<string, unknown>) ?? {}, reason: String(data.reason ?? "") };
      log.push(`${at} run ${status}${data.reason ? `: ${data.reason}` : ""}`);
    } else if (e.type === "node_progress") {
      nodes ??= new Map(next.nodes);
      const prev = nodes.get(node) ?? { status: "running" as NodeStatus };
      nodes.set(node, { ...prev, progress: Number(data.progress ?? 0) });
      if (data.message) log.push(`${at} ${node}: ${data.message}`);
    } else if (e.type === "node_log") {
      log.push(`${at} ${node}: ${String(data.line ?? data.message ?? "")}`);
    } else if (e.type in NODE_EVENT) {
      nodes ??= new Map(next.nodes);
      const status = NODE_EVENT[e.type];
      const error = data.error as { message?: string } | undefined;
      const text = error?.message ?? (data.reason as string | undefined);
      nodes.set(node, {
        status,
        progress: status === "succeeded" || status === "cached" ? 1 : status === "running" ? 0 : undefined,
        duration: (data.duration as number | undefined) ?? null,
        error: text,
      });
      if (status !== "queued") {
        const took = typeof data.duration === "number" ? ` in ${data.duration.toFixed(2)} s` : "";
        log.push(`${at} ${node}: ${status}${took}${text ? ` — ${text}` : ""}`);
      }
    }
  }
  if (next === view) return view;
  const merged = log.length ? [...next.log, ...log].slice(-LOG_LIMIT) : next.log;
  return { ...next, nodes: nodes ?? next.nodes, log: merged };
}
