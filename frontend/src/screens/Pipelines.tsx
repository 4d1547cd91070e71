import { useEffect, useRef, useState } from "react";
import { del, get, patch, post } from "../api/client";
import { items } from "../api/lists";
import type { Page, Pipeline, Project } from "../api/types";
import { navigate } from "../router";

function when(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** The pipelines of one project: create, open, rename, duplicate, delete, import and export JSON. */
export function Pipelines({ projectId }: { projectId: string }) {
  const [project, setProject] = useState<Project | null>(null);
  const [pipelines, setPipelines] = useState<Pipeline[] | null>(null);
  const [name, setName] = useState("");
  const [renaming, setRenaming] = useState<{ id: number; name: string } | null>(null);
  const [error, setError] = useState("");
  const file = useRef<HTMLInputElement>(null);

  const load = () =>
    get<Page<Pipeline>>(`/api/pipelines/?project=${projectId}&limit=500`)
      .then((p) => setPipelines(items(p)))
      .catch((e: Error) => setError(e.message));
  useEffect(() => {
    get<Project>(`/api/projects/${projectId}/`).then(setProject).catch((e: Error) => setError(e.message));
    void load();
  }, [projectId]); // eslint-disable-line react-hooks/exhaustive-deps

  const fail = (e: Error) => setError(e.message);

  return (
    <div className="page">
      <h1>{project?.name ?? "Project"}: pipelines</h1>
      <div className="row">
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            post<Pipeline>("/api/pipelines/", { project: Number(projectId), name })
              .then((p) => navigate(`/pipelines/${p.id}`))
              .catch(fail);
          }}
        >
          <label>
            <span className="visually-hidden">New pipeline name</span>
            <input placeholder="New pipeline name" value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <button type="submit">Create pipeline</button>
        </form>
        <button type="button" onClick={() => file.current?.click()}>Import JSON…</button>
        <input
          ref={file}
          type="file"
          accept="application/json,.json"
          className="visually-hidden"
          aria-label="Import a pipeline JSON file"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            e.target.value = "";
            if (!f) return;
            try {
              const graph = JSON.parse(await f.text());
              const created = await post<Pipeline>("/api/pipelines/import/", { project: Number(projectId), graph });
              navigate(`/pipelines/${created.id}`);
            } catch (err) {
              fail(err as Error);
            }
          }}
        />
        <button type="button" className="link" onClick={() => navigate(`/projects/${projectId}/data`)}>Data</button>
        <button type="button" className="link" onClick={() => navigate(`/projects/${projectId}/runs`)}>Run history</button>
      </div>
      {error && <p className="error-text" role="alert">{error}</p>}
      {pipelines === null ? (
        <p className="muted">Loading…</p>
      ) : pipelines.length === 0 ? (
        <p className="muted">No pipeline yet: create one, or import a JSON file.</p>
      ) : (
        <table className="data list" aria-label="Pipelines">
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Version</th><th scope="col">Valid</th><th scope="col">Changed</th><th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {pipelines.map((p) => (
              <tr key={p.id} data-testid={`pipeline-row-${p.id}`}>
                <td>
                  {renaming?.id === p.id ? (
                    <form
                      onSubmit={(e) => {
                        e.preventDefault();
                        patch(`/api/pipelines/${p.id}/`, { name: renaming.name }).then(() => { setRenaming(null); void load(); }).catch(fail);
                      }}
                    >
                      <input aria-label="New name" value={renaming.name} autoFocus onChange={(e) => setRenaming({ id: p.id, name: e.target.value })} />
                      <button type="submit">OK</button>
                      <button type="button" onClick={() => setRenaming(null)}>Cancel</button>
                    </form>
                  ) : (
                    <a href={`/pipelines/${p.id}`} onClick={(e) => { e.preventDefault(); navigate(`/pipelines/${p.id}`); }}>{p.name}</a>
                  )}
                </td>
                <td>v{p.latest?.number ?? 0}</td>
                <td>{p.latest ? (p.latest.valid ? "yes" : `${(p.latest.errors ?? []).length} error(s)`) : "—"}</td>
                <td>{when(p.updated_at)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setRenaming({ id: p.id, name: p.name })}>Rename</button>
                  <button
                    type="button"
                    onClick={() =>
                      post("/api/pipelines/", { project: p.project, name: `${p.name} (copy)`, graph: p.latest?.graph ?? { nodes: [], edges: [] } })
                        .then(load)
                        .catch(fail)
                    }
                  >
                    Duplicate
                  </button>
                  <a className="button" href={`/api/pipelines/${p.id}/export/`} download>Export JSON</a>
                  <button type="button" onClick={() => navigate(`/pipelines/${p.id}/versions`)}>History</button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => {
                      if (window.confirm(`Delete the pipeline “${p.name}” and its runs?`)) del(`/api/pipelines/${p.id}/`).then(load).catch(fail);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
