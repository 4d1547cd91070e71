import { useMemo } from "react";
import { Plot } from "../outputs/Plot";
import { anyRequests, latencyFigure, requestsFigure, type VersionMetrics } from "./logic";
import { scoresFigure } from "./rollout";

/** GET /api/deployments/{id}/serving/ (an untyped object in the schema). */
export interface ServingState {
  reachable: boolean;
  live_version?: string | number | null;
  error?: string;
  metrics?: Record<string, VersionMetrics>;
  curl?: string;
}

/** The serving process answers with the deployment's live version (or both say there is none). */
export function servingInSync(serving: ServingState | null, live: number | null | undefined): boolean {
  if (!serving?.reachable) return false;
  return String(serving.live_version ?? "") === String(live ?? "");
}

function FiguresTable({ metrics, versions }: { metrics: Record<string, VersionMetrics>; versions: string[] }) {
  return (
    <table className="data" aria-label="Serving figures">
      <thead>
        <tr><th scope="col">Version</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Mean latency</th></tr>
      </thead>
      <tbody>
        {[...versions].sort((a, b) => Number(a) - Number(b)).map((v) => (
          <tr key={v}>
            <td>v{v}</td>
            <td>{metrics[v].requests}</td>
            <td>{metrics[v].errors}</td>
            <td>{metrics[v].latency_mean_seconds == null ? "—" : `${(metrics[v].latency_mean_seconds! * 1000).toFixed(2)} ms`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What the serving process reports: whether it answers and with which version, and requests / latency / scores. */
export function ServingCharts({ serving, onRefresh, waiting }: { serving: ServingState | null; onRefresh: () => void; waiting: number | null }) {
  const metrics = serving?.metrics ?? {};
  const known = Object.keys(metrics).filter((v) => v !== "");
  const latency = useMemo(() => latencyFigure(metrics), [serving]); // eslint-disable-line react-hooks/exhaustive-deps
  const requests = useMemo(() => requestsFigure(metrics), [serving]); // eslint-disable-line react-hooks/exhaustive-deps
  const scores = useMemo(() => scoresFigure(metrics), [serving]); // eslint-disable-line react-hooks/exhaustive-deps
  if (serving === null) return <p className="muted">Loading…</p>;
  return (
    <div>
      <div className="row">
        {serving.reachable ? (
          <span>Serving process answers; live there: {serving.live_version == null ? "none" : `v${serving.live_version}`}</span>
        ) : null}
        {waiting !== null ? (
          <span className="muted" role="status">Waiting for the serving process to load v{waiting}…</span>
        ) : (
          serving.error && <span className="muted">{serving.error}</span>
        )}
        <button type="button" onClick={onRefresh}>Refresh</button>
      </div>
      {known.length === 0 ? (
        <p className="muted">No requests recorded since the serving process started.</p>
      ) : (
        <>
          <FiguresTable metrics={metrics} versions={known} />
          {anyRequests(metrics) ? (
            <>
              <Plot figure={requests} name="requests" />
              <Plot figure={latency} name="latency" />
              <Plot figure={scores} name="scores" />
            </>
          ) : (
            <p className="muted">No request answered yet: score a row with Try it or the curl line, and the charts of requests, latency and scores appear here.</p>
          )}
        </>
      )}
    </div>
  );
}
