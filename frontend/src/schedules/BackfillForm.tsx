import { useState } from "react";
import { ApiFailure, post } from "../api/client";
import type { BackfillResult } from "./logic";

/** Run the schedule for past dates: each fire time in the range once (running it again makes nothing new). */
export function BackfillForm({ scheduleId, onDone }: { scheduleId: number; onDone: () => void }) {
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    setMessage("");
    post<BackfillResult>(`/api/schedules/${scheduleId}/backfill/`, { start, end })
      .then((r) => { setMessage(`${r.created.length} run(s) started; ${r.existing} fire time(s) had run already.`); onDone(); })
      .catch((x) => setError(x instanceof ApiFailure && x.errors.length ? x.errors.map((m) => `${m.path}: ${m.message}`).join("; ") : String(x)))
      .finally(() => setBusy(false));
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Backfill">
      <label>From <input type="date" value={start} required onChange={(e) => setStart(e.target.value)} /></label>
      <label>To <input type="date" value={end} required onChange={(e) => setEnd(e.target.value)} /></label>
      <button type="submit" disabled={busy || !start || !end}>Backfill</button>
      {message && <span role="status">{message}</span>}
      {error && <span className="error-text" role="alert">{error}</span>}
    </form>
  );
}
