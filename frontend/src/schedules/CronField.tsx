import { useEffect, useMemo, useState } from "react";
import { failureMessage, get } from "../api/client";
import { describeCron, fireTimeText, isZone, PRESETS, zoneNames, type FireTime } from "./logic";

interface Props {
  cron: string;
  zone: string;
  errors: Record<string, string>;
  onCron: (cron: string) => void;
  onZone: (zone: string) => void;
}

/** The cron and zone fields, the plain-language preview (cronstrue) and the next five fire times (from the API). */
export function CronField({ cron, zone, errors, onCron, onZone }: Props) {
  const [next, setNext] = useState<FireTime[]>([]);
  const [problem, setProblem] = useState("");
  const zones = useMemo(zoneNames, []);
  const known = useMemo(() => new Set(zones), [zones]);
  // The summary names the zone only when it is one: "At 07:00, Paris" beside "unknown time zone" says two things.
  const words = describeCron(cron, isZone(zone, known) ? zone : "");

  useEffect(() => {
    // What cronstrue cannot read is not sent (the API would answer 400); the API checks the rest (e.g. 30 February).
    if (describeCron(cron, zone) === null) {
      setNext([]);
      return;
    }
    const timer = window.setTimeout(() => {
      const query = new URLSearchParams({ cron, timezone: zone || "UTC", n: "5" });
      get<FireTime[]>(`/api/schedules/preview/?${query}`)
        .then((times) => { setNext(times); setProblem(""); })
        .catch((e) => { setNext([]); setProblem(failureMessage(e)); });
    }, 250);
    return () => window.clearTimeout(timer);
  }, [cron, zone]);

  return (
    <fieldset className="card">
      <legend>When</legend>
      <div className="row">
        <label className="field">
          <span>Cron expression</span>
          <input value={cron} onChange={(e) => onCron(e.target.value)} aria-invalid={errors.cron ? true : undefined}
            aria-describedby="cron-words" maxLength={100} spellCheck={false} placeholder="0 2 * * 1-5" />
        </label>
        <label className="field">
          <span>Preset</span>
          <select value="" onChange={(e) => e.target.value && onCron(e.target.value)}>
            <option value="">— choose —</option>
            {Object.keys(PRESETS).filter((p) => p !== "@annually" && p !== "@midnight").map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Time zone</span>
          <input value={zone} list="zone-names" onChange={(e) => onZone(e.target.value)} aria-invalid={errors.timezone ? true : undefined} />
          <datalist id="zone-names">{zones.map((z) => <option key={z} value={z} />)}</datalist>
        </label>
      </div>
      <p id="cron-words" data-testid="cron-preview" aria-live="polite">{words ?? <span className="muted">Not a cron expression yet.</span>}</p>
      {(errors.cron || errors.timezone || problem) && (
        <p className="error-text" role="alert">{errors.cron || errors.timezone || problem}</p>
      )}
      {next.length > 0 && !problem && (
        <>
          <h3>Next fire times</h3>
          <ol aria-label="Next fire times">
            {next.map((t) => <li key={t.utc}>{fireTimeText(t.utc, isZone(zone, known) ? zone : "UTC")}</li>)}
          </ol>
        </>
      )}
    </fieldset>
  );
}
