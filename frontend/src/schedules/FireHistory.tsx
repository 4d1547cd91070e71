import { useEffect, useState } from "react";
import { get } from "../api/client";
import { items } from "../api/lists";
import type { Page } from "../api/types";
import { navigate } from "../router";
import { inZone, type Fire } from "./logic";

/** The schedule's fires, newest first, each with its run's status (a failed run's reasons, in its failed nodes' words)
 * and a link to the run; refreshed every 2 s. */
export function FireHistory({ scheduleId, pipelineId, zone, refresh }: { scheduleId: number; pipelineId: number; zone: string; refresh: number }) {
  const [fires, setFires] = useState<Fire[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const load = () => get<Page<Fire>>(`/api/schedules/${scheduleId}/fires/?limit=100`).then((p) => setFires(items(p))).catch((e: Error) => setError(e.message));
    void load();
    const timer = window.setInterval(load, 2000);
    return () => window.clearInterval(timer);
  }, [scheduleId, refresh]);
  if (error) return <p className="error-text" role="alert">{error}</p>;
  if (fires === null) return <p className="muted">Loading…</p>;
  if (fires.length === 0) return <p className="muted">No fire yet.</p>;
  return (
    <table className="data list" aria-label="History">
      <thead>
        <tr><th scope="col">Fire time</th><th scope="col">Kind</th><th scope="col">Attempt</th><th scope="col">Run</th><th scope="col">Status</th></tr>
      </thead>
      <tbody>
        {fires.map((f) => {
          const status = f.run_status ?? f.status;
          const href = `/pipelines/${pipelineId}?run=${f.run}`;
          return (
            <tr key={f.id}>
              <td>{inZone(f.fire_time, zone)}</td>
              <td>{f.kind}</td>
              <td>{f.attempt === 0 ? "first" : `retry ${f.attempt}`}</td>
              <td>{f.run ? <a href={href} onClick={(e) => { e.preventDefault(); navigate(href); }}>Run #{f.run}</a> : "—"}</td>
              <td className="wrap">
                <span className={`status-badge status-${status}`}>{status}</span>{f.message ? <span className="muted"> {f.message}</span> : null}
                {f.run_reasons.map((reason) => <p key={reason} className="run-reason error-text">{reason}</p>)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
