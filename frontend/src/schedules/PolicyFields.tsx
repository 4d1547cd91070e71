export interface Policy {
  catchup: string;
  catchup_limit: number;
  concurrency: string;
  retries: number;
  retry_delay: number;
  retry_delay_max: number;
}

interface Props {
  policy: Policy;
  errors: Record<string, string>;
  onChange: (policy: Policy) => void;
}

function NumberField({ label, value, min, max, error, onChange }: { label: string; value: number; min: number; max: number; error?: string; onChange: (v: number) => void }) {
  return (
    <label className="field">
      <span>{label}</span>
      <input type="number" min={min} max={max} step={1} value={value} onChange={(e) => onChange(Number(e.target.value))} aria-invalid={error ? true : undefined} />
      {error && <small className="error-text">{error}</small>}
    </label>
  );
}

/** Catch-up (fires missed while no scheduler ran), concurrency (a previous run still going) and retries. */
export function PolicyFields({ policy, errors, onChange }: Props) {
  const set = <K extends keyof Policy>(key: K, value: Policy[K]) => onChange({ ...policy, [key]: value });
  return (
    <fieldset className="card">
      <legend>Policies</legend>
      <div className="row">
        <label className="field">
          <span>Missed fire times (catch-up)</span>
          <select value={policy.catchup} onChange={(e) => set("catchup", e.target.value)}>
            <option value="skip">Skip them</option>
            <option value="latest">Run the latest once</option>
            <option value="each">Run each, up to a limit</option>
          </select>
        </label>
        {policy.catchup === "each" && (
          <NumberField label="Catch-up limit" value={policy.catchup_limit} min={0} max={1000} error={errors.catchup_limit} onChange={(v) => set("catchup_limit", v)} />
        )}
        <label className="field">
          <span>While the previous run is still going</span>
          <select value={policy.concurrency} onChange={(e) => set("concurrency", e.target.value)}>
            <option value="skip">Skip this fire</option>
            <option value="queue">Queue it after the previous run</option>
            <option value="cancel">Cancel the previous run</option>
          </select>
        </label>
      </div>
      <div className="row">
        <NumberField label="Retries after a failure" value={policy.retries} min={0} max={20} error={errors.retries} onChange={(v) => set("retries", v)} />
        <NumberField label="First retry delay (s)" value={policy.retry_delay} min={1} max={86400} error={errors.retry_delay} onChange={(v) => set("retry_delay", v)} />
        <NumberField label="Longest retry delay (s)" value={policy.retry_delay_max} min={1} max={604800} error={errors.retry_delay_max} onChange={(v) => set("retry_delay_max", v)} />
      </div>
    </fieldset>
  );
}
