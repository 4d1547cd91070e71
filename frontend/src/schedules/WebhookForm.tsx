import { useEffect, useState } from "react";
import { ApiFailure, del, get, patch, post } from "../api/client";
import { items } from "../api/lists";
import type { components } from "../api/schema";
import type { Page } from "../api/types";

type Webhook = components["schemas"]["ProjectWebhook"];

/** The project's failure webhook: a JSON POST when a scheduled run fails after its last retry. */
export function WebhookForm({ projectId }: { projectId: number }) {
  const [hook, setHook] = useState<Webhook | null>(null);
  const [url, setUrl] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  useEffect(() => {
    get<Page<Webhook>>(`/api/webhooks/?project=${projectId}`)
      .then((p) => { const found = items(p)[0] ?? null; setHook(found); setUrl(found?.url ?? ""); })
      .catch((e: Error) => setError(e.message));
  }, [projectId]);
  const fail = (x: unknown) => setError(x instanceof ApiFailure && x.errors.length ? x.errors.map((m) => m.message).join("; ") : String(x));
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    setError("");
    setNote("");
    if (!url && hook) {
      del(`/api/webhooks/${hook.id}/`).then(() => { setHook(null); setNote("Removed."); }).catch(fail);
      return;
    }
    const request = hook ? patch<Webhook>(`/api/webhooks/${hook.id}/`, { url }) : post<Webhook>("/api/webhooks/", { project: projectId, url });
    request.then((h) => { setHook(h); setNote("Saved."); }).catch(fail);
  };
  return (
    <form className="inline-form" onSubmit={save} aria-label="Failure webhook">
      <label>Project failure webhook <input type="url" value={url} size={48} maxLength={2000} placeholder="https://hooks.example.com/studio" onChange={(e) => setUrl(e.target.value)} /></label>
      <button type="submit">Save webhook</button>
      {note && <span role="status">{note}</span>}
      {error && <span className="error-text" role="alert">{error}</span>}
    </form>
  );
}
