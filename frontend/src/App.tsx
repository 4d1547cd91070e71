import { lazy, Suspense, useEffect, useState } from "react";
import { get, post } from "./api/client";
import type { Session } from "./api/types";
import { match, navigate, usePath } from "./router";
import { ComponentPage } from "./components/ComponentPage";
import { DataPage } from "./data/DataPage";
import { Login } from "./screens/Login";
import { Deployments } from "./screens/Deployments";
import { DeploymentDetail } from "./screens/DeploymentDetail";
import { PipelinePage } from "./screens/PipelinePage";
import { Pipelines } from "./screens/Pipelines";
import { Projects } from "./screens/Projects";
import { Runs } from "./screens/Runs";
import { ScheduleDetail } from "./screens/ScheduleDetail";
import { ScheduleEditor } from "./screens/ScheduleEditor";
import { Schedules } from "./screens/Schedules";

const Versions = lazy(() => import("./screens/Versions").then((m) => ({ default: m.Versions })));

type User = NonNullable<Session["user"]>;

function Screen({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if ((m = match("/projects/:id", path))) return <Pipelines projectId={m.id} />;
  if ((m = match("/projects/:id/runs", path))) return <Runs projectId={m.id} />;
  if ((m = match("/projects/:id/data", path))) return <DataPage key={m.id} projectId={m.id} />;
  if ((m = match("/pipelines/:id", path))) return <PipelinePage key={m.id} id={m.id} />;
  if ((m = match("/components/:id", path))) return <ComponentPage key={m.id} id={m.id} />;
  if ((m = match("/pipelines/:id/versions", path))) {
    return (
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <Versions pipelineId={m.id} />
      </Suspense>
    );
  }
  if (path === "/deployments") return <Deployments />;
  if ((m = match("/deployments/:id", path))) return <DeploymentDetail key={m.id} id={m.id} />;
  if (path === "/schedules") return <Schedules />;
  if (path === "/schedules/new") return <ScheduleEditor pipelineId={new URLSearchParams(window.location.search).get("pipeline") ?? ""} />;
  if ((m = match("/schedules/:id", path))) return <ScheduleDetail key={m.id} id={m.id} />;
  if ((m = match("/schedules/:id/edit", path))) return <ScheduleEditor key={m.id} scheduleId={m.id} />;
  return <Projects />;
}

function NavLink({ to, label, path }: { to: string; label: string; path: string }) {
  const active = to === "/" ? path === "/" || path.startsWith("/projects") || path.startsWith("/pipelines") : path.startsWith(to);
  return (
    <a href={to} aria-current={active ? "page" : undefined} onClick={(e) => { e.preventDefault(); navigate(to); }}>
      {label}
    </a>
  );
}

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const path = usePath();
  useEffect(() => {
    get<Session>("/api/auth/session/").then((s) => setUser(s.user ?? null)).catch(() => setUser(null));
  }, []);
  if (user === undefined) return <p className="muted" style={{ padding: 24 }}>Loading…</p>;
  if (user === null) return <Login onLogin={setUser} />;
  const canvas = path.startsWith("/pipelines/") && !path.endsWith("/versions");
  return (
    <div className={`shell${canvas ? " shell-canvas" : ""}`}>
      <nav className="sidenav" aria-label="Main">
        <a className="brand" href="/" onClick={(e) => { e.preventDefault(); navigate("/"); }}>Studio</a>
        <NavLink to="/" label="Projects" path={path} />
        <NavLink to="/deployments" label="Deployments" path={path} />
        <NavLink to="/schedules" label="Schedules" path={path} />
        <span className="grow" />
        <span className="muted user">{user.username}</span>
        <button type="button" className="link" onClick={() => post("/api/auth/logout/").then(() => setUser(null))}>Log out</button>
      </nav>
      <main className="content">
        <Screen path={path} />
      </main>
    </div>
  );
}
