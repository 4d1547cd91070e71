import { useEffect, useRef, useState } from "react";
import { failureMessage, get } from "../api/client";
import { answerText, AWAIT_MS, labelsTemplate, stillAwaited, type ServedRequest } from "./loop";

const SHOWN = 10;
/** Asked again this often while the page is open, as the Serving section follows the serving process once in sync. */
export const SERVED_POLL_MS = 10_000;

/** The last requests the prediction log kept, with the ids a labels CSV names, and that CSV to fill in; asked again
 * every SERVED_POLL_MS, on Refresh, and when `refresh` changes (labels uploaded). `awaited`: a request the page just
 * served (Try it), asked for at once and then every AWAIT_MS until the log holds it; `onFound` hears when it does. */
export function ServedRequests({ id, refresh, awaited, onFound }: {
  id: string; refresh: number; awaited?: string | null; onFound?: (requestId: string) => void;
}) {
  const [served, setServed] = useState<{ requests: ServedRequest[]; log_share: number } | null>(null);
  const [error, setError] = useState("");
  const [asked, setAsked] = useState(0);
  const tries = useRef(0);
  const reported = useRef<string | null>(null);
  useEffect(() => {
    tries.current = 0; // a new request to wait for
  }, [awaited]);
  useEffect(() => {
    let alive = true;
    let timer = 0;
    get<{ requests: ServedRequest[]; log_share: number }>(`/api/deployments/${id}/served/?limit=${SHOWN}`)
      .then((s) => {
        if (!alive) return;
        setServed(s);
        setError("");
        const waiting = stillAwaited(s.requests, awaited, tries.current);
        if (awaited && reported.current !== awaited && s.requests.some((r) => r.request_id === awaited)) {
          reported.current = awaited;
          onFound?.(awaited);
        }
        tries.current += 1;
        timer = window.setTimeout(() => setAsked((n) => n + 1), waiting ? AWAIT_MS : SERVED_POLL_MS);
      })
      .catch((e) => {
        if (!alive) return;
        setError(failureMessage(e));
        timer = window.setTimeout(() => setAsked((n) => n + 1), SERVED_POLL_MS);
      });
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [id, refresh, asked, awaited]); // eslint-disable-line react-hooks/exhaustive-deps
  const again = (
    <button type="button" onClick={() => setAsked((n) => n + 1)} title="Ask the prediction log again (it is also asked every 10 seconds)">
      Refresh requests
    </button>
  );
  if (error) return <p className="error-text" role="alert">{error} {again}</p>;
  if (!served) return null;
  if (!served.requests.length) return <p className="muted">No served request in the prediction log yet: labels name a request by the id its answer carries. {again}</p>;
  const template = `data:text/csv;charset=utf-8,${encodeURIComponent(labelsTemplate(served.requests))}`;
  return (
    <>
      <div className="row">{again}</div>
      <table className="data list" aria-label="Recent requests">
        <caption className="muted">
          {served.requests.length === 1 ? "The last request" : `The last ${served.requests.length} requests`} the prediction log kept{served.log_share < 1 ? ` (it keeps ${Math.round(served.log_share * 100)}% of requests)` : ""}{served.requests.length === 1 ? "" : ", newest first"}
        </caption>
        <thead><tr><th>Request id</th><th>Time</th><th>Version</th><th>Rows</th><th>Answer</th></tr></thead>
        <tbody>
          {served.requests.map((r) => (
            <tr key={r.request_id}>
              <td><code>{r.request_id}</code></td>
              <td>{r.time ? new Date(r.time).toLocaleString() : "—"}</td>
              <td>{r.version ? `v${r.version}` : "—"}</td>
              <td>{r.rows}</td>
              <td>{answerText(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p><a href={template} download="labels.csv">Download a labels CSV of these requests</a> (fill in the label column, then upload it)</p>
    </>
  );
}
