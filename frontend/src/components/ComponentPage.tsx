import { useCallback, useEffect, useState } from "react";
import { get, patch, post } from "../api/client";
import { navigate } from "../router";
import type { Component, ComponentGraph, UsedBy, WhereUsed } from "./model";

/** Who uses the component: followers take a new version at their next run; pinned ones can be moved. */
function UsedByList({ used, latest, onMove }: { used: WhereUsed; latest: number; onMove: (p: UsedBy) => void }) {
  const all = [...used.pipelines.map((p) => ({ ...p, kind: "pipeline" })), ...used.components.map((c) => ({ ...c, kind: "component" }))];
  if (all.length === 0) return <p className="muted">No pipeline uses this component yet.</p>;
  return (
    <table aria-label="Where used">
      <thead><tr><th>Used by</th><th>Version</th><th>Action</th></tr></thead>
      <tbody>
        {all.map((p) => {
          const pins = p.nodes.map((n) => n.pinned).filter((n): n is number => n !== null);
          return (
            <tr key={`${p.kind}-${p.id}`}>
              <td>
                {p.kind === "pipeline"
                  ? <button type="button" className="link" onClick={() => navigate(`/pipelines/${p.id}`)}>{p.name}</button>
                  : <span>component {p.name}</span>}
              </td>
              <td>{p.follows ? "follows the latest" : `pinned to v${pins.join(", v")}`}</td>
              <td>
                {p.kind === "pipeline" && pins.some((n) => n !== latest) && (
                  <button type="button" onClick={() => onMove(p)} aria-label={`Move ${p.name} to v${latest}`}>Move to v{latest}</button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Each inner node's parameters as JSON, editable; publishing makes a new version of the component. `onBad`: the
 * nodes whose text is not JSON (their last good value stays in the graph, so it must not be published as is). */
function InnerNodes({ graph, onChange, onBad }: { graph: ComponentGraph; onChange: (g: ComponentGraph) => void; onBad: (id: string, bad: boolean) => void }) {
  return (
    <div className="inner-nodes">
      {graph.nodes.map((n, i) => (
        <InnerNode key={n.id} id={n.id} operator={n.operator} params={n.params} onBad={(bad) => onBad(n.id, bad)} onParams={(params) => {
          const nodes = graph.nodes.map((m, j) => (j === i ? { ...m, params } : m));
          onChange({ ...graph, nodes });
        }} />
      ))}
    </div>
  );
}

function InnerNode({ id, operator, params, onParams, onBad }: { id: string; operator: string; params: Record<string, unknown>; onParams: (p: Record<string, unknown>) => void; onBad: (bad: boolean) => void }) {
  const [text, setText] = useState(JSON.stringify(params, null, 1));
  const [bad, setBad] = useState(false);
  const mark = (b: boolean) => { setBad(b); onBad(b); };
  return (
    <label className="inner-node">
      <span>Parameters of {id} <span className="muted">({operator})</span></span>
      <textarea rows={4} value={text} aria-invalid={bad} onChange={(e) => {
        setText(e.target.value);
        try {
          const parsed: unknown = JSON.parse(e.target.value);
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
          onParams(parsed as Record<string, unknown>);
          mark(false);
        } catch {
          mark(true);
        }
      }} />
      {bad && <span className="error-text">Not a JSON object, such as {"{\"ratio\": 0.8}"}</span>}
    </label>
  );
}

/** What the page says after a publish: the new version, and its errors when it does not validate (the pipelines
 * following the latest would fail at their next run). */
function published(saved: Component & { version_created: boolean }, followers: string[]): string {
  const latest = saved.latest;
  if (!saved.version_created || !latest) return "Nothing changed";
  if (latest.valid) return `Published v${latest.number}`;
  const errors = latest.errors.map((e) => e.message).join("; ");
  const broken = followers.length ? ` The pipelines following the latest (${followers.join(", ")}) will fail at their next run until a valid version is published.` : "";
  return `Published v${latest.number}, which does not validate: ${errors}.${broken}`;
}

export function ComponentPage({ id }: { id: string }) {
  const [component, setComponent] = useState<Component | null>(null);
  const [used, setUsed] = useState<WhereUsed | null>(null);
  const [draft, setDraft] = useState<ComponentGraph | null>(null);
  const [status, setStatus] = useState("");
  const [bad, setBad] = useState<string[]>([]); // inner nodes whose parameters are not JSON
  const load = useCallback(() => {
    Promise.all([get<Component>(`/api/components/${id}/`), get<WhereUsed>(`/api/components/${id}/where-used/`)])
      .then(([c, u]) => { setComponent(c); setUsed(u); setDraft(c.latest?.graph ?? null); })
      .catch((e: Error) => setStatus(e.message));
  }, [id]);
  useEffect(load, [load]);

  const publish = async () => {
    if (bad.length) {
      setStatus(`Not published: the parameters of ${bad.join(", ")} are not a JSON object`);
      return;
    }
    try {
      const saved = await patch<Component & { version_created: boolean }>(`/api/components/${id}/`, { graph: draft, message: "edited on the component page" });
      setStatus(published(saved, used?.pipelines.filter((p) => p.follows).map((p) => p.name) ?? []));
      load();
    } catch (e) {
      setStatus((e as Error).message);
    }
  };
  const move = async (p: UsedBy) => {
    await post(`/api/components/${id}/move/`, { pipelines: [p.id] });
    setStatus(`Moved ${p.name} to v${used?.latest}`);
    load();
  };

  if (!component || !used || !draft) return <p className="muted">{status || "Loading the component…"}</p>;
  const latest = component.latest?.number ?? 0;
  const followers = used.pipelines.filter((p) => p.follows).map((p) => p.name);
  return (
    <div className="page component-page">
      <header className="page-head">
        <h1>Component {component.name}</h1>
        <span className="muted">v{latest}</span>
      </header>
      <p>{component.description}</p>
      <section aria-label="Where used">
        <h2>Where used</h2>
        <UsedByList used={used} latest={latest} onMove={(p) => void move(p)} />
      </section>
      <section aria-label="Ports">
        <h2>Ports</h2>
        <ul>
          {(draft.ports?.inputs ?? []).map((p) => <li key={`in-${p.name}`}>input {p.name}: {p.type ?? "?"}</li>)}
          {(draft.ports?.outputs ?? []).map((p) => <li key={`out-${p.name}`}>output {p.name}: {p.type ?? "?"}</li>)}
        </ul>
      </section>
      <section aria-label="Inner nodes">
        <h2>Inner nodes</h2>
        <InnerNodes key={latest} graph={draft} onChange={setDraft} onBad={(node, b) => setBad((now) => (b ? [...new Set([...now, node])] : now.filter((n) => n !== node)))} />
        <p data-testid="followers">
          {followers.length ? `Publishing changes these pipelines at their next run: ${followers.join(", ")}` : "No pipeline follows the latest version."}
        </p>
        <button type="button" className="primary" onClick={() => void publish()}>Publish new version</button>
        {status && <p role="status">{status}</p>}
      </section>
    </div>
  );
}
