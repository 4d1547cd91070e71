import { useEffect, useMemo, useState } from "react";
import { ApiFailure, get, patch, post } from "../api/client";
import { items } from "../api/lists";
import type { Page, Pipeline } from "../api/types";
import { navigate } from "../router";
import { CronField } from "../schedules/CronField";
import { fieldErrors, fromLocalInput, notSavedText, paramSpecs, paramTexts, paramValues, toLocalInput, type Schedule } from "../schedules/logic";
import { ParamsForm } from "../schedules/ParamsForm";
import { PolicyFields, type Policy } from "../schedules/PolicyFields";
import { RepublishNote } from "../schedules/RepublishNote";

const DEFAULT_POLICY: Policy = { catchup: "latest", catchup_limit: 10, concurrency: "skip", retries: 0, retry_delay: 60, retry_delay_max: 3600 };

/** Create a schedule for a pipeline (`pipelineId`) or change one (`scheduleId`). */
export function ScheduleEditor({ pipelineId, scheduleId }: { pipelineId?: string; scheduleId?: string }) {
  const [existing, setExisting] = useState<Schedule | null>(null);
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [members, setMembers] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [cron, setCron] = useState("0 2 * * *");
  const [zone, setZone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const [engine, setEngine] = useState("local");
  const [version, setVersion] = useState("");
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [policy, setPolicy] = useState<Policy>(DEFAULT_POLICY);
  const [window_, setWindow] = useState({ start: "", end: "" });
  const [notify, setNotify] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const load = async () => {
      const schedule = scheduleId ? await get<Schedule>(`/api/schedules/${scheduleId}/`) : null;
      const p = await get<Pipeline>(`/api/pipelines/${schedule?.pipeline ?? pipelineId}/`);
      const people = await get<Page<{ username: string }>>(`/api/projects/${p.project}/members/?limit=1000`);
      setMembers(items(people).map((m) => m.username));
      // The form shows (setPipeline) with its fields filled in, in one render: shown before the members came, a
      // name typed meanwhile was replaced by the default, or run into it.
      if (!schedule) {
        setEngine(p.engine ?? "local"); // the pipeline's Engine picker
        setName(`${p.name} (scheduled)`);
        return setPipeline(p);
      }
      setExisting(schedule);
      setName(schedule.name); setCron(schedule.cron); setZone(schedule.timezone ?? "UTC"); setEngine(schedule.engine ?? "local");
      setVersion(schedule.version ? String(schedule.version) : ""); setTexts(paramTexts(schedule.params as Record<string, unknown>));
      setPolicy({ catchup: schedule.catchup ?? "latest", catchup_limit: schedule.catchup_limit ?? 10, concurrency: schedule.concurrency ?? "skip",
        retries: schedule.retries ?? 0, retry_delay: schedule.retry_delay ?? 60, retry_delay_max: schedule.retry_delay_max ?? 3600 });
      setWindow({ start: toLocalInput(schedule.start_at), end: toLocalInput(schedule.end_at) });
      setNotify(schedule.notify ?? []);
      setPipeline(p);
    };
    load().catch((e: Error) => setErrors({ "": e.message }));
  }, [pipelineId, scheduleId]);

  const specs = useMemo(() => paramSpecs((pipeline?.latest?.graph as { parameters?: unknown } | undefined)?.parameters), [pipeline]);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    const body = {
      name, cron, timezone: zone, engine, version: version ? Number(version) : null, params: paramValues(specs, texts), ...policy,
      start_at: fromLocalInput(window_.start), end_at: fromLocalInput(window_.end), notify,
    };
    try {
      const saved = existing ? await patch<Schedule>(`/api/schedules/${existing.id}/`, body) : await post<Schedule>("/api/schedules/", { ...body, pipeline: Number(pipelineId) });
      navigate(`/schedules/${saved.id}`);
    } catch (err) {
      setErrors(err instanceof ApiFailure && err.errors.length ? fieldErrors(err.errors) : { "": (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  if (!pipeline) return <div className="page"><h1>Schedule</h1>{errors[""] ? <p className="error-text" role="alert">{errors[""]}</p> : <p className="muted">Loading…</p>}</div>;
  // A new zone answers the save's refusal of the old one: that error goes (the preview checks the new one).
  const changeZone = (z: string) => {
    setZone(z);
    setErrors(({ timezone: _, ...rest }) => rest);
  };
  const err = (key: string) => errors[key] && <small className="error-text">{errors[key]}</small>;
  return (
    <form className="page schedule-editor" onSubmit={save} aria-label="Schedule" noValidate>
      <h1>{existing ? `Edit schedule: ${existing.name}` : `Schedule “${pipeline.name}”`}</h1>
      <label className="field">
        <span>Name</span>
        <input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} aria-invalid={errors.name ? true : undefined} />
        {err("name")}
      </label>
      <CronField cron={cron} zone={zone} errors={errors} onCron={setCron} onZone={changeZone} />
      <fieldset className="card">
        <legend>What runs</legend>
        <div className="row">
          <label className="field">
            <span>Engine</span>
            <select value={engine} onChange={(e) => setEngine(e.target.value)}><option value="local">local</option><option value="spark">spark</option></select>
          </label>
          <label className="field">
            <span>Pinned version (empty: the latest at fire time)</span>
            <input type="number" min={1} value={version} placeholder={`latest (now v${pipeline.latest?.number ?? 0})`} onChange={(e) => setVersion(e.target.value)} />
            {err("version")}
          </label>
          <label className="field"><span>Not before</span><input type="datetime-local" value={window_.start} onChange={(e) => setWindow({ ...window_, start: e.target.value })} /></label>
          <label className="field"><span>Not after</span><input type="datetime-local" value={window_.end} onChange={(e) => setWindow({ ...window_, end: e.target.value })} />{err("end_at")}</label>
        </div>
        <RepublishNote graph={pipeline.latest?.graph} />
      </fieldset>
      <ParamsForm specs={specs} texts={texts} errors={errors} onChange={setTexts} />
      <PolicyFields policy={policy} errors={errors} onChange={setPolicy} />
      <fieldset className="card">
        <legend>E-mail on a final failure</legend>
        {members.map((m) => (
          <label key={m} className="check">
            <input type="checkbox" checked={notify.includes(m)} onChange={(e) => setNotify(e.target.checked ? [...notify, m] : notify.filter((x) => x !== m))} /> {m}
          </label>
        ))}
        {err("notify")}
      </fieldset>
      {Object.keys(errors).length > 0 && <p className="error-text" role="alert">{notSavedText(errors)}</p>}
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>{existing ? "Save schedule" : "Create schedule"}</button>
        <button type="button" onClick={() => navigate(existing ? `/schedules/${existing.id}` : `/pipelines/${pipelineId}`)}>Cancel</button>
      </div>
    </form>
  );
}
