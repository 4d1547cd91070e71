import { useEffect, useState } from "react";
import { failureMessage, del, get, post } from "../api/client";
import { usePipelineNames } from "../api/usePipelineNames";
import { navigate } from "../router";
import { BackfillForm } from "../schedules/BackfillForm";
import { EnableSwitch } from "../schedules/EnableSwitch";
import { FireHistory } from "../schedules/FireHistory";
import { describeCron, inZone, type Fire, type FireTime, type Schedule } from "../schedules/logic";
import { WebhookForm } from "../schedules/WebhookForm";

/** One schedule: when it fires next, run now, enable / disable, its history of fires, backfill, the webhook. */
export function ScheduleDetail({ id }: { id: string }) {
  const [schedule, setSchedule] = useState<Schedule | null>(null);
  const [next, setNext] = useState<FireTime[]>([]);
  const [error, setError] = useState("");
  const [refresh, setRefresh] = useState(0);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const names = usePipelineNames(schedule?.project);

  useEffect(() => {
    get<Schedule>(`/api/schedules/${id}/`).then(setSchedule).catch((e) => setError(failureMessage(e)));
    get<FireTime[]>(`/api/schedules/${id}/next/?n=5`).then(setNext).catch((e) => setError(failureMessage(e)));
  }, [id, refresh]);

  const runNow = () => {
    setBusy(true);
    setError("");
    post<Fire>(`/api/schedules/${id}/run/`).then(() => setRefresh((r) => r + 1)).catch((e) => setError(failureMessage(e))).finally(() => setBusy(false));
  };
  const remove = () => del(`/api/schedules/${id}/`).then(() => navigate("/schedules")).catch((e) => setError(failureMessage(e)));

  if (!schedule) {
    return <div className="page"><h1>Schedule</h1>{error ? <p className="error-text" role="alert">{error}</p> : <p className="muted">Loading…</p>}</div>;
  }
  const go = (e: React.MouseEvent, path: string) => { e.preventDefault(); navigate(path); };
  return (
    <div className="page schedule-detail">
      <p><a href="/schedules" onClick={(e) => go(e, "/schedules")}>← Schedules</a></p>
      <h1>{schedule.name}</h1>
      <p>
        <strong>{describeCron(schedule.cron, schedule.timezone ?? "UTC") ?? schedule.cron}</strong> <code>{schedule.cron}</code> · pipeline{" "}
        <a href={`/pipelines/${schedule.pipeline}`} onClick={(e) => go(e, `/pipelines/${schedule.pipeline}`)}>{names.get(schedule.pipeline) ?? `#${schedule.pipeline}`}</a>
        {schedule.version ? ` pinned to v${schedule.version}` : " (latest version)"} · {schedule.engine} engine
      </p>
      <div className="row">
        <EnableSwitch schedule={schedule} onChange={(s) => { setSchedule(s); setRefresh((r) => r + 1); }} />
        <button type="button" className="primary" disabled={busy} onClick={runNow}>Run now</button>
        <button type="button" onClick={() => navigate(`/schedules/${id}/edit`)}>Edit</button>
        {confirmDelete ? (
          <><button type="button" className="danger" onClick={() => void remove()}>Confirm delete</button><button type="button" onClick={() => setConfirmDelete(false)}>Keep it</button></>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>Delete</button>
        )}
      </div>
      {error && <p className="error-text" role="alert">{error}</p>}
      <p className="muted">
        Catch-up: {schedule.catchup}{schedule.catchup === "each" ? ` (up to ${schedule.catchup_limit})` : ""} · while a run is going: {schedule.concurrency} ·
        retries: {schedule.retries} (from {schedule.retry_delay} s, doubling, at most {schedule.retry_delay_max} s)
      </p>
      <h2>Next fire times</h2>
      {schedule.enabled && next.length > 0 ? (
        <ol aria-label="Next fire times">{next.map((t) => <li key={t.utc}>{inZone(t.utc, schedule.timezone ?? "UTC")}</li>)}</ol>
      ) : (
        <p className="muted">{schedule.enabled ? "None: the schedule has ended." : "Disabled: it does not fire."}</p>
      )}
      <h2>History</h2>
      <FireHistory scheduleId={schedule.id} pipelineId={schedule.pipeline} zone={schedule.timezone ?? "UTC"} refresh={refresh} />
      <h2>Backfill</h2>
      <BackfillForm scheduleId={schedule.id} onDone={() => setRefresh((r) => r + 1)} />
      <h2>Notifications</h2>
      <p className="muted">E-mail on a final failure: {schedule.notify?.length ? schedule.notify.join(", ") : "nobody"} (change it in Edit).</p>
      <WebhookForm projectId={schedule.project} />
    </div>
  );
}
