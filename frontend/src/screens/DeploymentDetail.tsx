import { useEffect, useState } from "react";
import { failureMessage, get, post } from "../api/client";
import type { components } from "../api/schema";
import { ClosedLoop } from "../deployments/ClosedLoop";
import { CurlExample } from "../deployments/CurlExample";
import { curlWithBody } from "../deployments/curl";
import { inputColumns, type TryRequest } from "../deployments/logic";
import { KeysPanel, SettingsPanel, ShadowComparison, TrafficPanel } from "../deployments/Rollout";
import { curlWithKey, heldKey, holdKey } from "../deployments/rollout";
import { ServingCharts, servingInSync, type ServingState } from "../deployments/ServingCharts";
import { TryForm } from "../deployments/TryForm";
import { HistoryTable, VersionsTable } from "../deployments/VersionTables";
import { navigate } from "../router";

type Deployment = components["schemas"]["Deployment"];

/** One deployment: versions (rollback, unpublish), history, a "try it" form, a curl example and serving charts. */
export function DeploymentDetail({ id }: { id: string }) {
  const [deployment, setDeployment] = useState<Deployment | null>(null);
  const [serving, setServing] = useState<ServingState | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [apiKey, setApiKey] = useState(() => heldKey(id));
  const chooseKey = (key: string) => {
    holdKey(id, key);
    setApiKey(key);
  };

  const loadServing = () =>
    get<ServingState>(`/api/deployments/${id}/serving/`).then(setServing).catch((e) => setServing({ reachable: false, error: failureMessage(e) }));
  useEffect(() => {
    get<Deployment>(`/api/deployments/${id}/`).then(setDeployment).catch((e) => setError(failureMessage(e)));
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
      .catch((e) => setError(failureMessage(e)))
      .finally(() => setBusy(false));
  };

  // One curl line: the serving process's example (a held-out row), with the Try it form's values once it has scored.
  const [scored, setScored] = useState<TryRequest | null>(null);
  const [servedId, setServedId] = useState<string | null>(null); // the Try it request, awaited in the Feedback section
  const curl = curlWithKey(serving?.curl ?? "", apiKey);

  if (!deployment) {
    return (
      <div className="page">
        <h1>Deployment</h1>
        {error ? <p className="error-text" role="alert">{error}</p> : <p className="muted">Loading…</p>}
      </div>
    );
  }
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
      <VersionsTable deployment={deployment} busy={busy} act={act} />

      <h2>Traffic</h2>
      <TrafficPanel key={JSON.stringify([deployment.traffic, deployment.shadow_version])} deployment={deployment} busy={busy} act={act} />

      <h2>Keys</h2>
      <KeysPanel deployment={deployment} apiKey={apiKey} onKey={chooseKey} />

      <h2>Try it</h2>
      <TryForm id={id} columns={inputColumns(deployment.input_spec)} leftOut={deployment.left_out_inputs ?? []} live={deployment.status === "live"} apiKey={apiKey} onScored={(request, requestId) => {
        setScored(request);
        if (requestId) setServedId(requestId);
      }} />

      <h2>Request with curl</h2>
      <p className="muted">
        {scored ? "The values scored above" : "A held-out row of the live version"}
        {apiKey ? ", with the key this page holds" : "; set SERVING_KEY to an endpoint key in the shell first"}.
      </p>
      <CurlExample curl={scored ? curlWithBody(curl, scored) : curl} />

      <h2>Serving</h2>
      <ServingCharts serving={serving} onRefresh={() => void loadServing()} waiting={!inSync && deployment.live_version !== null ? deployment.live_version : null} />

      <h2>Shadow</h2>
      <ShadowComparison id={id} />

      <h2>Limits and logging</h2>
      <SettingsPanel deployment={deployment} onSaved={setDeployment} />

      <ClosedLoop id={id} name={deployment.name} served={servedId} target={deployment.target ?? null} />

      <h2>History (newest first)</h2>
      <HistoryTable history={deployment.history} />
    </div>
  );
}
