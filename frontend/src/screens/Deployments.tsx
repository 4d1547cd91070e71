import { useEffect, useState } from "react";
import { get } from "../api/client";
import { items } from "../api/lists";
import type { components } from "../api/schema";
import type { Page, Project } from "../api/types";
import { RecentRuns } from "../deployments/RecentRuns";
import { navigate } from "../router";

type Deployment = components["schemas"]["Deployment"];

/** Published models (publish from a pipeline's publish_model node or the API); each name opens its detail page. */
export function Deployments() {
  const [list, setList] = useState<Deployment[] | null>(null);
  const [error, setError] = useState("");
  const [projects, setProjects] = useState<Map<number, string>>(new Map());
  useEffect(() => {
    get<Page<Project>>("/api/projects/?limit=500").then((p) => setProjects(new Map(items(p).map((x) => [x.id, x.name])))).catch(() => undefined);
  }, []);
  useEffect(() => {
    get<Page<Deployment>>("/api/deployments/?limit=200").then((d) => setList(items(d))).catch((e: Error) => setError(e.message));
  }, []);
  return (
    <div className="page">
      <h1>Deployments</h1>
      {error && <p className="error-text" role="alert">{error}</p>}
      {list === null ? (
        <p className="muted">Loading…</p>
      ) : list.length === 0 ? (
        <>
          <p className="muted">No published model yet.</p>
          <RecentRuns />
        </>
      ) : (
        <table className="data list" aria-label="Deployments">
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Project</th><th scope="col">Status</th><th scope="col">Live version</th>
              <th scope="col">Inference endpoint</th><th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={`/deployments/${d.id}`} onClick={(e) => { e.preventDefault(); navigate(`/deployments/${d.id}`); }}>{d.name}</a>
                </td>
                <td>{projects.get(d.project) ?? d.project}</td>
                <td>{d.status}</td>
                <td>{d.live_version ?? "—"}</td>
                {/* the one URL a caller posts rows to; the deployment's page lists the others (four URLs on one
                    line ran the table off the right edge of the page) */}
                <td className="endpoint"><code>{String((d.endpoints as Record<string, unknown> | undefined)?.infer ?? "—")}</code></td>
                <td>{new Date(d.updated_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list !== null && list.length > 0 && <RecentRuns />}
    </div>
  );
}
