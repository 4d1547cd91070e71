import { useCallback, useEffect, useState } from "react";
import { ApiFailure, del, post } from "../api/client";
import { listConnections, URL_EXAMPLE, type Connection } from "./connections";

/** What a refused save says: each field's message under its field's name (the API's `path`). */
function refusal(e: unknown): string {
  if (e instanceof ApiFailure && e.errors.length) return e.errors.map((x) => (x.path ? `${x.path}: ${x.message}` : x.message)).join("; ");
  return e instanceof Error ? e.message : String(e);
}

/** The Data page's database connections: the names an import_sql node reads from. Add one (name and URL; the
 * URL is never shown again, only with its password masked), delete one. */
export function ConnectionsSection({ projectId }: { projectId: string }) {
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [error, setError] = useState("");
  const [saving, setSaving] = useState(false);

  const load = useCallback(() => listConnections(projectId).then(setConnections).catch((e: Error) => setError(e.message)), [projectId]);
  useEffect(() => void load(), [load]);

  const add = async () => {
    setError("");
    setSaving(true);
    try {
      await post<Connection>("/api/connections/", { project: Number(projectId), name: name.trim(), url: url.trim() });
      setName("");
      setUrl("");
      await load();
    } catch (e) {
      setError(refusal(e));
    } finally {
      setSaving(false);
    }
  };

  const remove = (c: Connection) => {
    if (!window.confirm(`Delete the connection “${c.name}”? Pipelines whose import_sql names it will fail.`)) return;
    del(`/api/connections/${c.id}/`).then(load).catch((e: unknown) => setError(refusal(e)));
  };

  return (
    <section className="connections" aria-labelledby="connections-heading">
      <h2 id="connections-heading">Database connections</h2>
      <p className="muted">An <code>import_sql</code> node reads a table or a query through one of these, picked by name. The URL is stored encrypted and shown with its password masked.</p>
      {connections && connections.length > 0 && (
        <table className="data list" aria-label="Database connections">
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Address</th><th scope="col">Actions</th></tr>
          </thead>
          <tbody>
            {connections.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>{c.kind}</td>
                <td><code>{c.display_url}</code></td>
                <td className="actions">
                  <button type="button" className="danger" aria-label={`Delete connection ${c.name}`} onClick={() => remove(c)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {connections?.length === 0 && <p className="muted">No connection yet.</p>}
      <form className="row" onSubmit={(e) => { e.preventDefault(); void add(); }}>
        <label>
          <span>Connection name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="shop" required />
        </label>
        <label className="grow">
          <span>Database URL</span>
          <input value={url} onChange={(e) => setUrl(e.target.value)} placeholder={URL_EXAMPLE} required autoComplete="off" spellCheck={false} />
        </label>
        <button type="submit" disabled={saving}>{saving ? "Adding…" : "Add connection"}</button>
      </form>
      {error && <p className="error-text" role="alert">{error}</p>}
    </section>
  );
}
