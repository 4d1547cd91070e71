import { useState } from "react";
import { ApiFailure, get, patch, post } from "../api/client";
import type { components } from "../api/schema";
import { Plot } from "../outputs/Plot";
import { canaryPercent, comparedAs, describeTraffic, differenceFigure, takeFreshKeys, type ShadowReport } from "./rollout";

type Deployment = components["schemas"]["Deployment"];

function message(e: unknown): string {
  if (e instanceof ApiFailure && e.errors.length) return e.errors.map((x) => (x.path ? `${x.path}: ${x.message}` : x.message)).join("; ");
  return e instanceof Error ? e.message : String(e);
}

/** The endpoint keys: set or not (and their last characters), regenerate either, and the key this page uses. */
export function KeysPanel({ deployment, apiKey, onKey }: { deployment: Deployment; apiKey: string; onKey: (key: string) => void }) {
  const [shown, setShown] = useState<Record<string, string> | null>(() => takeFreshKeys(deployment.id));
  const [error, setError] = useState("");
  const regenerate = (which: "primary" | "secondary") => {
    setError("");
    post<{ which: string; key: string }>(`/api/deployments/${deployment.id}/keys/`, { which })
      .then((answer) => {
        setShown({ [answer.which]: answer.key });
        onKey(answer.key);
      })
      .catch((e) => setError(message(e)));
  };
  const keys = deployment.keys as Record<string, { set: boolean; hint: string }>;
  return (
    <div data-testid="keys">
      <ul>
        {(["primary", "secondary"] as const).map((which) => (
          <li key={which}>
            {which} key: {keys[which]?.set ? <>set (ends in <code>…{keys[which].hint}</code>)</> : "none yet"}{" "}
            <button type="button" onClick={() => regenerate(which)}>Regenerate {which} key</button>
          </li>
        ))}
      </ul>
      {shown && (
        <div className="card" role="status">
          <p><strong>Copy now: a key is shown once.</strong> The other key keeps working until you regenerate it.</p>
          {Object.entries(shown).map(([which, key]) => (
            <label key={which} className="field">
              <span>New {which} key</span>
              <input readOnly value={key} className="secret-key" />
            </label>
          ))}
        </div>
      )}
      <label className="field">
        <span>Endpoint key (used by Try it and the curl line; kept in this tab only)</span>
        <input type="password" value={apiKey} onChange={(e) => onKey(e.target.value.trim())} autoComplete="off" />
      </label>
      {error && <p className="error-text" role="alert">{error}</p>}
    </div>
  );
}

/** Traffic: the split, a canary of a version at X%, promote, and the shadow version. */
export function TrafficPanel({ deployment, busy, act }: { deployment: Deployment; busy: boolean; act: (path: string, body: unknown) => void }) {
  const traffic = (deployment.traffic ?? {}) as Record<string, number>;
  const numbers = deployment.versions.map((v) => v.number).sort((a, b) => b - a);
  const [version, setVersion] = useState(String(numbers.find((n) => n !== deployment.live_version) ?? ""));
  const [percent, setPercent] = useState("10");
  const [shadow, setShadow] = useState(deployment.shadow_version == null ? "" : String(deployment.shadow_version));
  const [error, setError] = useState("");
  const startCanary = (e: React.FormEvent) => {
    e.preventDefault();
    const checked = canaryPercent(percent);
    if (!checked.ok) return setError(`Canary percent: ${checked.error}`);
    setError("");
    act("canary", { version: Number(version), percent: checked.value });
  };
  return (
    <div>
      <p data-testid="traffic">Traffic: {Object.keys(traffic).length ? describeTraffic(traffic) : "none (not live)"}
        {deployment.shadow_version != null && <> · shadow v{deployment.shadow_version}</>}</p>
      <div className="row">
        {Object.entries(traffic).filter(([, w]) => w < 100).map(([v]) => (
          <button key={v} type="button" disabled={busy} onClick={() => act("promote", { version: Number(v) })}>Promote v{v} to 100%</button>
        ))}
      </div>
      {numbers.length > 1 && (
        <form className="inline-form" aria-label="Canary" onSubmit={startCanary}>
          <label>Canary version{" "}
            <select value={version} onChange={(e) => setVersion(e.target.value)}>
              {numbers.filter((n) => n !== deployment.live_version).map((n) => <option key={n} value={n}>v{n}</option>)}
            </select>
          </label>{" "}
          <label>at percent <input value={percent} onChange={(e) => setPercent(e.target.value)} inputMode="numeric" size={3} /></label>{" "}
          <button type="submit" disabled={busy || !version}>Start canary</button>
        </form>
      )}
      <form className="inline-form" aria-label="Shadow" onSubmit={(e) => { e.preventDefault(); act("shadow", { version: shadow ? Number(shadow) : null }); }}>
        <label>Shadow version{" "}
          <select value={shadow} onChange={(e) => setShadow(e.target.value)}>
            <option value="">none</option>
            {numbers.map((n) => <option key={n} value={n}>v{n}</option>)}
          </select>
        </label>{" "}
        <button type="submit" disabled={busy}>Set shadow</button>
      </form>
      {error && <p className="error-text" role="alert">{error}</p>}
    </div>
  );
}

/** Per-key rate limit and what the prediction log keeps. */
export function SettingsPanel({ deployment, onSaved }: { deployment: Deployment; onSaved: (d: Deployment) => void }) {
  const columns = ((deployment.input_spec ?? []) as { name: string }[]).map((c) => c.name);
  const [rps, setRps] = useState(deployment.rate_limit_rps == null ? "" : String(deployment.rate_limit_rps));
  const [burst, setBurst] = useState(deployment.rate_limit_burst == null ? "" : String(deployment.rate_limit_burst));
  const [share, setShare] = useState(String(Math.round((deployment.log_share ?? 1) * 100)));
  const [exclude, setExclude] = useState<string[]>((deployment.log_exclude ?? []) as string[]);
  const [note, setNote] = useState("");
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    setNote("");
    patch<Deployment>(`/api/deployments/${deployment.id}/`, {
      rate_limit_rps: rps.trim() ? Number(rps) : null, rate_limit_burst: burst.trim() ? Number(burst) : null,
      log_share: Number(share) / 100, log_exclude: exclude,
    }).then((d) => { onSaved(d); setNote("Saved."); }).catch((x) => setNote(message(x)));
  };
  const toggle = (name: string) => setExclude((old) => (old.includes(name) ? old.filter((c) => c !== name) : [...old, name]));
  return (
    <form aria-label="Limits and logging" onSubmit={save}>
      <div className="row">
        <label>Requests per second per key <input value={rps} onChange={(e) => setRps(e.target.value)} placeholder="unlimited" size={8} /></label>
        <label>Burst <input value={burst} onChange={(e) => setBurst(e.target.value)} size={6} /></label>
        <label>Logged share of requests (%) <input value={share} onChange={(e) => setShare(e.target.value)} size={4} /></label>
      </div>
      <fieldset>
        <legend>Inputs never written to the prediction log</legend>
        {columns.map((name) => (
          <label key={name}><input type="checkbox" checked={exclude.includes(name)} onChange={() => toggle(name)} /> {name}</label>
        ))}
      </fieldset>
      <button type="submit">Save limits and logging</button> {note && <span role="status">{note}</span>}
    </form>
  );
}

/** Live vs shadow on the same requests: agreement and the score difference distribution. */
export function ShadowComparison({ id }: { id: string }) {
  const [report, setReport] = useState<ShadowReport | null>(null);
  const load = () => get<ShadowReport>(`/api/deployments/${id}/shadow-comparison/`).then(setReport).catch((e) => setReport({ available: false, reason: message(e) }));
  return (
    <div>
      <button type="button" onClick={() => void load()}>Compare live and shadow</button>
      {report && !report.available && <p className="muted">{report.reason}</p>}
      {report?.available && (
        <>
          <table className="data" aria-label="Shadow comparison">
            <thead><tr><th scope="col">Shadow</th><th scope="col">Rows</th><th scope="col">Label agreement</th><th scope="col">Mean |difference|</th></tr></thead>
            <tbody>
              {Object.entries(report.versions ?? {}).map(([v, r]) => (
                <tr key={v}><td>v{v} vs v{r.live_versions.join(", v")}</td><td>{r.rows}</td><td>{(r.agreement * 100).toFixed(1)}%</td><td>{r.mean_abs_difference.toFixed(4)}</td></tr>
              ))}
            </tbody>
          </table>
          {report.compared_as && <p className="muted">{comparedAs(report)}</p>}
          <Plot figure={differenceFigure(report)} name="shadow-difference" />
        </>
      )}
    </div>
  );
}
