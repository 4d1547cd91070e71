import { useEffect, useState } from "react";
import { ApiFailure, get } from "../api/client";
import type { OperatorSpec } from "../graph/types";
import { OutputBodyView, PAGE, type OutputBody } from "./bodies";
import { CompareWith } from "./CompareWith";

/** A port's tab: "Charts" and "Metrics" for those kinds, else its name and type. */
function portTitle(p: { name: string; type: string }): string {
  if (p.type === "report") return p.name === "report" ? "Charts" : `${p.name} (charts)`;
  if (p.type === "metrics") return p.name === "metrics" ? "Metrics" : `${p.name} (metrics)`;
  if (p.name === p.type) return p.name[0].toUpperCase() + p.name.slice(1).replace(/_/g, " ");
  return `${p.name} (${p.type.replace(/_/g, " ")})`;
}

/** What a node produced in a run: each output port, shown by kind (table, profile, metrics, charts). */
export function OutputsPanel({ runId, node, spec, ready, pipelineId }: { runId: number | null; node: string; spec: OperatorSpec | undefined; ready: boolean; pipelineId?: number }) {
  const ports = spec?.outputs ?? [];
  // A node with charts opens on them (an evaluation's report before its metrics table).
  const firstPort = (ports.find((p) => p.type === "report") ?? ports[0])?.name ?? "";
  const [port, setPort] = useState(firstPort);
  const [view, setView] = useState<"data" | "profile">("data");
  const [offset, setOffset] = useState(0);
  const [body, setBody] = useState<OutputBody | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    setPort(firstPort);
    setOffset(0);
  }, [node, spec]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setBody(null);
    setError("");
    // (right after a switch to another node, `port` may still name the previous node's port: wait for the reset)
    if (runId === null || !port || !ready || !ports.some((p) => p.name === port)) return;
    let alive = true;
    get<OutputBody>(`/api/runs/${runId}/outputs/${encodeURIComponent(node)}/${encodeURIComponent(port)}/?view=${view}&offset=${offset}&limit=${PAGE}`)
      .then((b) => alive && setBody(b))
      .catch((e: Error) => alive && setError(e instanceof ApiFailure && e.status === 404 ? "No output yet: run this node first." : e.message));
    return () => {
      alive = false;
    };
  }, [runId, node, port, view, offset, ready]); // eslint-disable-line react-hooks/exhaustive-deps

  if (runId === null) return <p className="muted">Run the pipeline to see this node's outputs.</p>;
  if (!ready) return <p className="muted">The node has not finished in this run.</p>;
  const portType = ports.find((p) => p.name === port)?.type;
  return (
    <div className="outputs" data-testid="outputs">
      <div className="output-head">
        <div className="output-tabs" role="tablist" aria-label="Output ports">
          {ports.map((p) => (
            <button key={p.name} type="button" role="tab" aria-selected={p.name === port} className={p.name === port ? "active" : ""} onClick={() => { setPort(p.name); setOffset(0); }} data-testid={`output-tab-${p.name}`}>
              {portTitle(p)}
            </button>
          ))}
        </div>
        {portType === "table" && (
          // Outside the tablist: a tablist may hold only tabs (axe: aria-required-children).
          <span className="view-switch" role="group" aria-label="Table view">
            <button type="button" className={view === "data" ? "active" : ""} aria-pressed={view === "data"} onClick={() => setView("data")}>Rows</button>
            <button type="button" className={view === "profile" ? "active" : ""} aria-pressed={view === "profile"} onClick={() => setView("profile")}>Profile</button>
          </span>
        )}
      </div>
      {error && <p className="error-text">{error}</p>}
      {!body && !error && <p className="muted">Loading…</p>}
      {body && (portType === "metrics" || portType === "report") && pipelineId !== undefined ? (
        <div className="side-by-side">
          <div>
            <h3>This run (#{runId})</h3>
            <OutputBodyView body={body} onPage={setOffset} />
          </div>
          <CompareWith pipelineId={pipelineId} runId={runId} node={node} port={port} mine={body} />
        </div>
      ) : (
        body && <OutputBodyView body={body} onPage={setOffset} />
      )}
    </div>
  );
}
