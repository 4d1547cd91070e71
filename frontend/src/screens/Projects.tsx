import { useEffect, useState } from "react";
import { get, post } from "../api/client";
import { items } from "../api/lists";
import type { Page, Project } from "../api/types";
import { navigate } from "../router";

export function Projects() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const load = () => get<Page<Project>>("/api/projects/?limit=500").then((p) => setProjects(items(p))).catch((e: Error) => setError(e.message));
  useEffect(() => {
    void load();
  }, []);
  return (
    <div className="page">
      <h1>Projects</h1>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          post<Project>("/api/projects/", { name })
            .then((p) => navigate(`/projects/${p.id}`))
            .catch((err: Error) => setError(err.message));
        }}
      >
        <label>
          <span className="visually-hidden">New project name</span>
          <input placeholder="New project name" value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <button type="submit">Create project</button>
      </form>
      {error && <p className="error-text" role="alert">{error}</p>}
      {projects === null ? (
        <p className="muted">Loading…</p>
      ) : projects.length === 0 ? (
        <p className="muted">No project yet.</p>
      ) : (
        <ul className="cards">
          {projects.map((p) => (
            <li key={p.id} className="card">
              <a href={`/projects/${p.id}`} onClick={(e) => { e.preventDefault(); navigate(`/projects/${p.id}`); }}>
                <h2>{p.name}</h2>
              </a>
              <p className="muted">{p.description || "No description"} · your role: {p.role}</p>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
