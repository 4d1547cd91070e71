import { useState } from "react";
import { patch } from "../api/client";
import type { Schedule } from "./logic";

/** The schedule's on / off switch (PATCH enabled); a re-enabled schedule starts from now, without catching up. */
export function EnableSwitch({ schedule, onChange }: { schedule: Schedule; onChange: (s: Schedule) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const toggle = () => {
    setBusy(true);
    setError("");
    patch<Schedule>(`/api/schedules/${schedule.id}/`, { enabled: !schedule.enabled })
      .then(onChange)
      .catch((e: Error) => setError(e.message))
      .finally(() => setBusy(false));
  };
  return (
    <label className="switch">
      <input type="checkbox" role="switch" checked={Boolean(schedule.enabled)} disabled={busy} onChange={toggle}
        aria-label={`Enabled: ${schedule.name}`} />
      <span>{schedule.enabled ? "Enabled" : "Disabled"}</span>
      {error && <span className="error-text" role="alert">{error}</span>}
    </label>
  );
}
