import { useEffect, useRef, useState } from "react";
import { ApiFailure, post } from "../api/client";
import { navigate } from "../router";
import { handOffKeys } from "./rollout";

function failureText(err: unknown): string {
  const failure = err as ApiFailure;
  const details = (failure.errors ?? []).map((x) => x.message).filter(Boolean);
  return details.length ? details.join("; ") : failure.message;
}

interface Props {
  runId: number;
  /** the canvas node to publish: a training node, or an evaluate node (the model it evaluated) */
  node: string;
  /** what the dialog says it publishes, e.g. "GBDT (train_gbdt) of run #12" */
  what: string;
  defaultName: string;
  onClose: () => void;
}

/**
 * Publish one node's model: the dialog asks only for the deployment name (prefilled), publishes the model with
 * its feature state, and opens the deployment's page, which follows the serving process by itself.
 */
export function PublishDialog({ runId, node, what, defaultName, onClose }: Props) {
  const [name, setName] = useState(defaultName);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.select(), []);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const deployment = await post<{ id: number; new_keys?: Record<string, string> }>("/api/deployments/publish/", { run: runId, name, node });
      handOffKeys(deployment.id, deployment.new_keys); // a new deployment's keys: its page shows them once
      navigate(`/deployments/${deployment.id}`);
    } catch (err) {
      setError(failureText(err));
      setBusy(false);
    }
  };
  return (
    <div className="dialog-backdrop" onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <form className="dialog" role="dialog" aria-modal="true" aria-label="Publish model" onSubmit={submit}>
        <h2>Publish {what}</h2>
        <p className="muted">The model goes live with its feature engineering as an online prediction service.</p>
        <label className="field">
          <span>Deployment name</span>
          <input
            ref={field}
            value={name}
            required
            maxLength={100}
            // the API's rule; `-` escaped, as browsers compile `pattern` with the v flag
            pattern="[a-z0-9][a-z0-9_\-]*"
            title="Lower-case letters, digits, '-' or '_' (it becomes the URL /v2/models/<name>)"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        {error && <p className="error-text" role="alert">{error}</p>}
        <div className="row">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={busy || !name}>{busy ? "Publishing…" : "Publish"}</button>
        </div>
      </form>
    </div>
  );
}
