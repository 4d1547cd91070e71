import { useEffect, useMemo, useRef, useState } from "react";
import { ApiFailure, get, post } from "../api/client";
import type { components } from "../api/schema";
import { buildTryRequest, fieldKind, inputColumns, latencyFigure, requestsFigure, type InputColumn, type TryRequest, type VersionMetrics } from "../deployments/logic";
import { ClosedLoop } from "../deployments/ClosedLoop";
import { KeysPanel, SettingsPanel, ShadowComparison, TrafficPanel } from "../deployments/Rollout";
import { curlWithKey, heldKey, holdKey, scoresFigure } from "../deployments/rollout";
import { curlWithBody } from "../deployments/curl";
import { Plot } from "../outputs/Plot";
import { navigate } from "../router";

type Deployment = components["schemas"]["Deployment"];

/** GET /api/deployments/{id}/serving/ (an untyped object in the schema). */
interface ServingState {
  reachable: boolean;
  live_version?: string | number | null;
  error?: string;
  metrics?: Record<string, VersionMetrics>;
  curl?: string;
}

interface Prediction {
  probability: number;
  label: number;
  contributions?: Record<string, number>;
}

interface TryAnswer {
  id?: string;
  model_version?: string;
  predictions: Prediction[];
}

/** The serving process answers with the deployment's live version (or both say there is none). */
function servingInSync(serving: ServingState | null, live: number | null | undefined): boolean {
  if (!serving?.reachable) return false;
  return String(serving.live_version ?? "") === String(live ?? "");
}

function message(e: unknown): string {
  if (e instanceof ApiFailure && e.errors.length) return e.errors.map((x) => x.message).join("; ");
  return e instanceof Error ? e.message : String(e);
}

/** One deployment: versions (rollback, unpublish), history, a "try it" form, a curl example and serving charts. */
export function DeploymentDetail({ id }: { id: string }) {
  const [deployment, setDeployment] = useState<Deployment | null>(null);
  const [serving, setServing] = useState<ServingState | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirmUnpublish, setConfirmUnpublish] = useState(false);
  const [apiKey, setApiKey] = useState(() => heldKey(id));
  const chooseKey = (key: string) => {
    holdKey(id, key);
    setApiKey(key);
  };

  const loadServing = () =>
    get<ServingState>(`/api/deployments/${id}/serving/`).then(setServing).catch((e) => setServing({ reachable: false, error: message(e) }));
  useEffect(() => {
    get<Deployment>(`/api/deployments/${id}/`).then(setDeployment).catch((e) => setError(message(e)));
    void loadServing();
  }, [id]); // eslint-disable-line react-hooks/exhaustive-deps
  // The page follows the serving process (no Refresh needed): asked again soon while it does not serve the live
  // version yet (it learns of a new version within seconds), and now and then once it does.
  const inSync = servingInSync(serving, deployment?.live_version);
  useEffect(() => {
    const timer = window.setTimeout(() => void loadServing(), inSync ? 10_000 : serving && !serving.reachable ? 5_000 : 1_000);
    return () => window.clearTimeout(timer);
  }, [serving, inSync]); // eslint-disable-line react-hooks/exhaustive-deps

  const act = (path: string, body?: unknown) => {
    setBusy(true);
    setError("");
    post<Deployment>(`/api/deployments/${id}/${path}/`, body)
      .then((d) => {
        setDeployment(d);
        void loadServing();
      })
      .catch((e) => setError(message(e)))
      .finally(() => {
        setBusy(false);
        setConfirmUnpublish(false);
      });
  };

  if (!deployment) {
    return (
      <div className="page">
        <h1>Deployment</h1>
        {error ? <p className="error-text" role="alert">{error}</p> : <p className="muted">Loading…</p>}
      </div>
    );
  }
  const versions = [...deployment.versions].sort((a, b) => b.number - a.number);
  return (
    <div className="page">
      <p>
        <a href="/deployments" onClick={(e) => { e.preventDefault(); navigate("/deployments"); }}>← Deployments</a>
      </p>
      <h1>{deployment.name}</h1>
      <p data-testid="deployment-status">
        Status: <strong>{deployment.status}</strong>
        {deployment.live_version !== null && <> · live version <strong>v{deployment.live_version}</strong></>}
        {serving && !serving.reachable && <span className="muted"> · serving process not reachable</span>}
      </p>
      {deployment.description && <p className="muted">{deployment.description}</p>}
      {error && <p className="error-text" role="alert">{error}</p>}

      <h2>Versions</h2>
      {versions.length === 0 ? (
        <p className="muted">No version yet.</p>
      ) : (
        <table className="data list" aria-label="Versions">
          <thead>
            <tr>
              <th scope="col">Version</th><th scope="col">Live</th><th scope="col">Created</th><th scope="col">By</th>
              <th scope="col">Source run</th><th scope="col">Node</th><th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.number} data-testid={`version-row-${v.number}`}>
                <td>v{v.number}</td>
                <td>{v.live ? <strong>● live</strong> : ""}</td>
                <td>{new Date(v.created_at).toLocaleString()}</td>
                <td>{v.created_by}</td>
                <td>{v.source_run ?? "—"}</td>
                <td>{v.source_node || "—"}</td>
                <td>
                  {v.live ? (
                    confirmUnpublish ? (
                      <>
                        <button type="button" className="danger" disabled={busy} onClick={() => act("unpublish")}>Confirm unpublish</button>{" "}
                        <button type="button" disabled={busy} onClick={() => setConfirmUnpublish(false)}>Cancel</button>
                      </>
                    ) : (
                      <button type="button" className="danger" disabled={busy} onClick={() => setConfirmUnpublish(true)}>Unpublish</button>
                    )
                  ) : (
                    <button type="button" disabled={busy} onClick={() => act("rollback", { version: v.number })}>
                      {deployment.live_version === null || v.number < deployment.live_version ? "Roll back to" : "Make live"} v{v.number}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Traffic</h2>
      <TrafficPanel key={JSON.stringify([deployment.traffic, deployment.shadow_version])} deployment={deployment} busy={busy} act={act} />

      <h2>Keys</h2>
      <KeysPanel deployment={deployment} apiKey={apiKey} onKey={chooseKey} />

      <h2>Try it</h2>
      <TryForm id={id} columns={inputColumns(deployment.input_spec)} live={deployment.status === "live"} apiKey={apiKey} curl={curlWithKey(serving?.curl ?? "", apiKey)} />

      <h2>Request with curl</h2>
      <CurlExample curl={curlWithKey(serving?.curl ?? "", apiKey)} />

      <h2>Serving</h2>
      <ServingCharts serving={serving} onRefresh={() => void loadServing()} waiting={!inSync && deployment.live_version !== null ? deployment.live_version : null} />

      <h2>Shadow</h2>
      <ShadowComparison id={id} />

      <h2>Limits and logging</h2>
      <SettingsPanel deployment={deployment} onSaved={setDeployment} />

      <ClosedLoop id={id} name={deployment.name} />

      <h2>History (newest first)</h2>
      {deployment.history.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <table className="data list" aria-label="History">
          <thead>
            <tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Version</th><th scope="col">User</th></tr>
          </thead>
          <tbody>
            {[...deployment.history].sort((a, b) => b.at.localeCompare(a.at)).map((h, i) => (
              <tr key={i}>
                <td>{new Date(h.at).toLocaleString()}</td>
                <td>{h.action}{h.detail ? ` (${h.detail})` : ""}</td>
                <td>{h.version === null ? "—" : `v${h.version}`}</td>
                <td>{h.user}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function TryForm({ id, columns, live, apiKey, curl }: { id: string; columns: InputColumn[]; live: boolean; apiKey: string; curl: string }) {
  const [sent, setSent] = useState<TryRequest | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [explain, setExplain] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [answer, setAnswer] = useState<TryAnswer | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  if (columns.length === 0) return <p className="muted">This deployment has no input spec.</p>;

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setError("");
    setAnswer(null);
    const built = buildTryRequest(columns, values, explain);
    if (!built.ok) {
      setFieldErrors(built.errors);
      return;
    }
    setFieldErrors({});
    setSent(built.request);
    setBusy(true);
    post<TryAnswer>(`/api/deployments/${id}/try/`, { ...built.request, key: apiKey })
      .then(setAnswer)
      .catch((x) => setError(message(x)))
      .finally(() => setBusy(false));
  };
  const prediction = answer?.predictions[0];
  return (
    <form onSubmit={submit} aria-label="Try it" noValidate>
      {!live && <p className="muted">Not live: the serving process will refuse requests until a version is made live.</p>}
      <div className="cards">
        {columns.map((c) => {
          const kind = fieldKind(c);
          const set = (v: string) => setValues((old) => ({ ...old, [c.name]: v }));
          const err = fieldErrors[c.name];
          const label = `${c.name} (${c.datatype}${c.nullable === false ? ", required" : ""})`;
          return (
            <label key={c.name} className="field">
              <span>{label}</span>
              {kind === "select" ? (
                <select value={values[c.name] ?? ""} onChange={(e) => set(e.target.value)} aria-invalid={err ? true : undefined}>
                  <option value="">{c.nullable === false ? "— choose —" : "(null)"}</option>
                  {c.categories!.map((cat) => <option key={String(cat)} value={String(cat)}>{String(cat)}</option>)}
                </select>
              ) : (
                <input
                  type={kind === "text" ? "text" : "number"}
                  step={kind === "integer" ? 1 : "any"}
                  value={values[c.name] ?? ""}
                  onChange={(e) => set(e.target.value)}
                  aria-invalid={err ? true : undefined}
                />
              )}
              {err && <small className="error-text">{err}</small>}
            </label>
          );
        })}
      </div>
      <div className="row">
        <label><input type="checkbox" checked={explain} onChange={(e) => setExplain(e.target.checked)} /> Explain (per-feature contributions)</label>
        <button type="submit" className="primary" disabled={busy}>{busy ? "Scoring…" : "Score"}</button>
      </div>
      {error && <p className="error-text" role="alert">{error}</p>}
      {prediction && (
        <div className="card" data-testid="try-result" aria-live="polite">
          <p>
            Probability <strong>{prediction.probability.toFixed(6)}</strong> · label <strong>{prediction.label}</strong>
            {answer?.model_version && <span className="muted"> · served by v{answer.model_version}</span>}
          </p>
          {prediction.contributions && <Contributions values={prediction.contributions} />}
        </div>
      )}
      {prediction && sent && (
        <>
          <h3>The same request with curl</h3>
          <CurlExample curl={curlWithBody(curl, sent)} label="curl with these values" />
        </>
      )}
    </form>
  );
}

const TOP_CONTRIBUTIONS = 15;

/** Per-feature contributions, largest magnitude first; a model with hundreds of encoded features shows the top ones. */
function Contributions({ values }: { values: Record<string, number> }) {
  const [all, setAll] = useState(false);
  const sorted = Object.entries(values).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const shown = all ? sorted : sorted.slice(0, TOP_CONTRIBUTIONS);
  return (
    <>
      <table className="data" aria-label="Contributions">
        <thead><tr><th scope="col">Feature</th><th scope="col">Contribution</th></tr></thead>
        <tbody>
          {shown.map(([name, v]) => <tr key={name}><td>{name}</td><td>{v.toFixed(6)}</td></tr>)}
        </tbody>
      </table>
      {sorted.length > TOP_CONTRIBUTIONS && (
        <button type="button" className="link" onClick={() => setAll(!all)}>
          {all ? `Show the top ${TOP_CONTRIBUTIONS}` : `Show all ${sorted.length}`}
        </button>
      )}
    </>
  );
}

function CurlExample({ curl, label = "curl example" }: { curl: string; label?: string }) {
  const box = useRef<HTMLTextAreaElement>(null);
  const [copied, setCopied] = useState("");
  if (!curl) return <p className="muted">No version to call yet.</p>;
  const copy = () => {
    // The clipboard API needs a secure context; on plain http fall back to selecting the text and execCommand.
    const bySelection = () => {
      box.current?.select();
      setCopied(document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(curl).then(() => setCopied("Copied."), bySelection);
    else bySelection();
  };
  return (
    <div>
      <textarea ref={box} readOnly value={curl} rows={3} style={{ width: "100%", fontFamily: "monospace" }} aria-label={label} />
      <div className="row">
        <button type="button" onClick={copy}>Copy</button>
        {copied && <span className="muted" role="status">{copied}</span>}
      </div>
    </div>
  );
}

function ServingCharts({ serving, onRefresh, waiting }: { serving: ServingState | null; onRefresh: () => void; waiting: number | null }) {
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
          <table className="data" aria-label="Serving figures">
            <thead>
              <tr><th scope="col">Version</th><th scope="col">Requests</th><th scope="col">Errors</th><th scope="col">Mean latency</th></tr>
            </thead>
            <tbody>
              {known.sort((a, b) => Number(a) - Number(b)).map((v) => (
                <tr key={v}>
                  <td>v{v}</td>
                  <td>{metrics[v].requests}</td>
                  <td>{metrics[v].errors}</td>
                  <td>{metrics[v].latency_mean_seconds == null ? "—" : `${(metrics[v].latency_mean_seconds! * 1000).toFixed(2)} ms`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Plot figure={requests} name="requests" />
          <Plot figure={latency} name="latency" />
          <Plot figure={scores} name="scores" />
        </>
      )}
    </div>
  );
}
