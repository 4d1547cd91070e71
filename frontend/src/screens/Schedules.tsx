import { useEffect, useState } from "react";
import { get } from "../api/client";
import { items } from "../api/lists";
import type { Page } from "../api/types";
import { usePipelineNames } from "../api/usePipelineNames";
import { navigate } from "../router";
import { EnableSwitch } from "../schedules/EnableSwitch";
import { describeCron, inZone, type Schedule } from "../schedules/logic";

/** Every schedule of your projects: what it runs and when, its last run and next fire, an on / off switch. */
export function Schedules() {
  const [list, setList] = useState<Schedule[] | null>(null);
  const [error, setError] = useState("");
  const names = usePipelineNames();
  useEffect(() => {
    const load = () => get<Page<Schedule>>("/api/schedules/?limit=500").then((d) => setList(items(d))).catch((e: Error) => setError(e.message));
    void load();
    const timer = window.setInterval(load, 10000);
    return () => window.clearInterval(timer);
  }, []);
  const replace = (s: Schedule) => setList((old) => (old ?? []).map((x) => (x.id === s.id ? s : x)));
  const open = (e: React.MouseEvent, path: string) => { e.preventDefault(); navigate(path); };
  return (
    <div className="page">
      <h1>Schedules</h1>
      {error && <p className="error-text" role="alert">{error}</p>}
      {list === null ? (
        <p className="muted">Loading…</p>
      ) : list.length === 0 ? (
        <p className="muted">No schedule yet. Open a pipeline and choose “Schedule this pipeline”.</p>
      ) : (
        <table className="data list" aria-label="Schedules">
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Pipeline</th><th scope="col">When</th><th scope="col">Next fire</th>
              <th scope="col">Last run</th><th scope="col">On</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <td><a href={`/schedules/${s.id}`} onClick={(e) => open(e, `/schedules/${s.id}`)}>{s.name}</a></td>
                <td><a href={`/pipelines/${s.pipeline}`} onClick={(e) => open(e, `/pipelines/${s.pipeline}`)}>{names.get(s.pipeline) ?? `#${s.pipeline}`}</a></td>
                <td title={s.cron}>{describeCron(s.cron, s.timezone ?? "UTC") ?? s.cron}</td>
                <td>{s.enabled && s.next_fire_at ? inZone(s.next_fire_at, s.timezone ?? "UTC") : "—"}</td>
                <td>
                  {s.last_fire ? (
                    <>
                      <span className={`status-badge status-${s.last_fire.status}`}>{s.last_fire.status}</span>{" "}
                      {s.last_fire.run ? (
                        <a href={`/pipelines/${s.pipeline}?run=${s.last_fire.run}`} onClick={(e) => open(e, `/pipelines/${s.pipeline}?run=${s.last_fire!.run}`)}>
                          run #{s.last_fire.run}
                        </a>
                      ) : null}
                    </>
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td><EnableSwitch schedule={s} onChange={replace} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
