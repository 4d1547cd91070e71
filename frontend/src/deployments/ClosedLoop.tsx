import { useEffect, useMemo, useState } from "react";
import { failureMessage, get, post } from "../api/client";
import { Plot } from "../outputs/Plot";
import { ServedRequests } from "./ServedRequests";
import { driftReading, feedbackSummary, liveFigure, tooFewToJudge, type DriftReport, type FeedbackAnswer, type Monitoring } from "./loop";

const score = (value: number | null) => (value === null ? "—" : value.toFixed(4));

/** The closed loop of one deployment: labels received, live metrics per day, input drift, and the
 * champion / challenger decisions of publish_if_better. `served`: the id of a request the page just served (Try it),
 * which the served requests show once the prediction log holds it, and the drift report then counts. `target`: the
 * label column the model was trained on ("renewed"), which a labels CSV may use as its label column's name. */
export function ClosedLoop({ id, name, served = null, target = null }: { id: string; name: string; served?: string | null; target?: string | null }) {
  const [landed, setLanded] = useState(0);
  const [loop, setLoop] = useState<Monitoring | null>(null);
  const [error, setError] = useState("");
  const [loaded, setLoaded] = useState(0);
  const load = () => {
    setLoaded((n) => n + 1);
    return get<Monitoring>(`/api/deployments/${id}/monitoring/?days=30`).then(setLoop).catch((e) => setError(failureMessage(e)));
  };
  useEffect(() => {
    void load();
  }, [id]); // eslint-disable-line react-hooks/exhaustive-deps
  const live = useMemo(() => liveFigure(loop?.live ?? []), [loop]);
  return (
    <section aria-label="Closed loop">
      <h2>Feedback</h2>
      {error && <p className="error-text" role="alert">{error}</p>}
      {loop && (
        <p data-testid="feedback-total">
          Labels received: <strong>{loop.feedback.total}</strong>
          {loop.feedback.per_day.length > 0 && (
            <span className="muted"> ({loop.feedback.per_day.map((d) => `${d.day}: ${d.labels}`).join(", ")})</span>
          )}
        </p>
      )}
      <ServedRequests id={id} refresh={loaded} awaited={served} onFound={() => setLanded((n) => n + 1)} />
      <FeedbackUpload name={name} target={target} onDone={() => void load()} />
      <h2>Live metrics</h2>
      {loop && loop.live.length > 0 ? <Plot figure={live} name="live metrics" /> : <p className="muted">No labeled served rows yet.</p>}
      <h2>Drift</h2>
      <DriftSection id={id} refresh={landed} />
      <h2>Decisions (newest first)</h2>
      <DecisionTable loop={loop} />
    </section>
  );
}

/** The label column may be named after the target: the field's label says so, as a person's own table names it. */
export function labelsFileLabel(target: string | null): string {
  return target && !["label", "request_id", "row"].includes(target)
    ? `Labels CSV (request_id, row, and label or ${target})`
    : "Labels CSV (request_id, row, label)";
}

function FeedbackUpload({ name, target, onDone }: { name: string; target: string | null; onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [answer, setAnswer] = useState("");
  const [error, setError] = useState("");
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    setError("");
    post<FeedbackAnswer>(`/api/deployments/${name}/feedback/`, form)
      .then((a) => {
        setAnswer(feedbackSummary(a));
        onDone();
      })
      .catch((err) => setError(failureMessage(err)));
  };
  return (
    <form aria-label="Upload labels" onSubmit={submit} className="row">
      <label>
        {labelsFileLabel(target)}{" "}
        <input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <button type="submit" disabled={!file}>Upload labels</button>
      {answer && <span role="status">{answer}</span>}
      {error && <span className="error-text" role="alert">{error}</span>}
    </form>
  );
}

function DriftSection({ id, refresh }: { id: string; refresh: number }) {
  const [days, setDays] = useState("7");
  const [report, setReport] = useState<DriftReport | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    setError("");
    get<DriftReport>(`/api/deployments/${id}/drift/?days=${encodeURIComponent(days)}`).then(setReport).catch((e) => setError(failureMessage(e)));
  }, [id, days, refresh]);
  if (error) return <p className="error-text" role="alert">{error}</p>;
  if (!report) return <p className="muted">Loading…</p>;
  return (
    <div>
      <label>
        Window{" "}
        <select value={days} onChange={(e) => setDays(e.target.value)}>
          <option value="1">last day</option>
          <option value="7">last 7 days</option>
          <option value="30">last 30 days</option>
        </select>
      </label>
      {!report.available ? (
        <p className="muted">No drift report: {report.reason}</p>
      ) : report.rows === 0 ? (
        <p className="muted">Version v{report.version} served no rows in the window.</p>
      ) : (
        <>
          <p data-testid="drift-summary">
            v{report.version}: {report.rows} served {report.rows === 1 ? "row" : "rows"}; score PSI {report.score ? report.score.psi.toFixed(3) : "—"}
            {tooFewToJudge(report) && `. Too few to judge drift: PSI needs at least ${report.min_rows} served rows.`}
          </p>
          {report.figure && <Plot figure={report.figure} name="drift" />}
          <table className="data" aria-label="Drift per input">
            <thead>
              <tr><th scope="col">Input</th><th scope="col">PSI</th><th scope="col">Reading</th><th scope="col">Missing</th><th scope="col">Unseen</th></tr>
            </thead>
            <tbody>
              {(report.features ?? []).map((f) => (
                <tr key={f.name}>
                  <td>{f.name}</td>
                  <td>{f.psi.toFixed(3)}</td>
                  <td>{driftReading(f.psi, report)}</td>
                  <td>{(f.missing_share * 100).toFixed(1)}%</td>
                  <td>{f.kind === "categorical" ? f.unseen : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function DecisionTable({ loop }: { loop: Monitoring | null }) {
  if (!loop) return <p className="muted">Loading…</p>;
  if (loop.decisions.length === 0) return <p className="muted">No publish_if_better decision yet.</p>;
  return (
    <table className="data list" aria-label="Decision history">
      <thead>
        <tr>
          <th scope="col">When</th><th scope="col">Run</th><th scope="col">Metric</th><th scope="col">Champion</th>
          <th scope="col">Challenger</th><th scope="col">Outcome</th><th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {loop.decisions.map((d, i) => (
          <tr key={i}>
            <td>{new Date(d.at).toLocaleString()}</td>
            <td>{d.run ?? "—"}</td>
            <td>{d.metric}</td>
            <td>{d.champion_version === null ? "none" : `v${d.champion_version}`} {score(d.champion_score)}</td>
            <td>{score(d.challenger_score)}</td>
            <td>{d.published ? `published v${d.version}` : "kept champion"}</td>
            <td>{d.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
