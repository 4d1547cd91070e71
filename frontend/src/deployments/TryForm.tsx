import { useState } from "react";
import { failureMessage, post } from "../api/client";
import {
  buildTryRequest, emptyChoice, fieldKind, fieldLabel, leftOutText, sortedCategories, tryFailure, type InputColumn, type LeftOutInput,
  type TryRequest,
} from "./logic";

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

/** One input of the form: a select for a column with categories, else a text or number box. */
function TryField({ column: c, value, error, onChange }: { column: InputColumn; value: string; error?: string; onChange: (v: string) => void }) {
  const kind = fieldKind(c);
  return (
    <label className="field">
      <span>{fieldLabel(c)}</span>
      {kind === "select" ? (
        <select value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={error ? true : undefined}>
          <option value="">{emptyChoice(c)}</option>
          {sortedCategories(c.categories!).map((cat) => <option key={String(cat)} value={String(cat)}>{String(cat)}</option>)}
        </select>
      ) : (
        <input
          type={kind === "text" ? "text" : "number"}
          step={kind === "integer" ? 1 : "any"}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
        />
      )}
      {error && <small className="error-text">{error}</small>}
    </label>
  );
}

/**
 * The "try it" form of a deployment: one field per input column, a note per column of the training rows the model
 * makes no feature of (a date auto mode left out), Score and the answer. `onScored` hands the page the
 * request that was answered, for its curl line (one line on the page: the values scored, else a held-out row), and
 * the id the answer carries, which the prediction log names it by.
 */
export function TryForm({ id, columns, leftOut = [], live, apiKey, onScored }: {
  id: string; columns: InputColumn[]; leftOut?: readonly LeftOutInput[]; live: boolean; apiKey: string;
  onScored: (request: TryRequest, requestId?: string) => void;
}) {
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
    setBusy(true);
    post<TryAnswer>(`/api/deployments/${id}/try/`, { ...built.request, key: apiKey })
      .then((a) => {
        setAnswer(a);
        onScored(built.request, a.id);
      })
      .catch((x) => setError(tryFailure(failureMessage(x), apiKey !== "")))
      .finally(() => setBusy(false));
  };
  const prediction = answer?.predictions[0];
  return (
    <form onSubmit={submit} aria-label="Try it" noValidate>
      {!live && <p className="muted">Not live: the serving process will refuse requests until a version is made live.</p>}
      {leftOut.map((c) => <p key={c.name} className="muted" role="note">{leftOutText(c)}</p>)}
      <div className="cards">
        {columns.map((c) => (
          <TryField key={c.name} column={c} value={values[c.name] ?? ""} error={fieldErrors[c.name]}
            onChange={(v) => setValues((old) => ({ ...old, [c.name]: v }))} />
        ))}
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
