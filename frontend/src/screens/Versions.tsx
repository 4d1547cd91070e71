import { Background, ReactFlow, ReactFlowProvider, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useState } from "react";
import { get, post } from "../api/client";
import { items } from "../api/lists";
import type { DiffResult, Page, Pipeline, PipelineVersion } from "../api/types";
import { fromPipelineJson } from "../graph/serialize";
import { navigate } from "../router";
import { DiffTable, type NodeChange } from "./DiffTable";


/** Both versions drawn as one graph: added in green, removed in red (dashed), changed in amber. */
function DiffGraph({ a, b, diff }: { a: PipelineVersion; b: PipelineVersion; diff: DiffResult }) {
  const { nodes, edges } = useMemo(() => {
    const ga = fromPipelineJson(a.graph);
    const gb = fromPipelineJson(b.graph);
    const added = new Set((diff.nodes as { added: string[] }).added);
    const removed = new Set((diff.nodes as { removed: string[] }).removed);
    const changed = new Set(((diff.nodes as { changed: NodeChange[] }).changed ?? []).filter((c) => Object.keys(c.changes).length).map((c) => c.id));
    const all = [...gb.nodes, ...ga.nodes.filter((n) => removed.has(n.id))];
    const nodes: Node[] = all.map((n) => ({
      id: n.id,
      position: n.position,
      data: { label: `${n.label || n.id}${added.has(n.id) ? " (added)" : removed.has(n.id) ? " (removed)" : changed.has(n.id) ? " (changed)" : ""}` },
      className: `diff-node ${added.has(n.id) ? "diff-added" : removed.has(n.id) ? "diff-removed" : changed.has(n.id) ? "diff-changed" : ""}`,
      draggable: false,
      connectable: false,
    }));
    const key = (e: { source: string; source_port: string; target: string; target_port: string }) => `${e.source}.${e.source_port} -> ${e.target}.${e.target_port}`;
    const addedEdges = new Set((diff.edges as { added: string[] }).added);
    const removedEdges = new Set((diff.edges as { removed: string[] }).removed);
    const edgeList = [...gb.edges, ...ga.edges.filter((e) => removedEdges.has(key(e)))];
    const edges: Edge[] = edgeList.map((e) => ({
      id: key(e),
      source: e.source,
      target: e.target,
      style: addedEdges.has(key(e)) ? { stroke: "#1a7f37", strokeWidth: 2 } : removedEdges.has(key(e)) ? { stroke: "#cf222e", strokeDasharray: "6 4", strokeWidth: 2 } : { stroke: "#8c959f" },
    }));
    return { nodes, edges };
  }, [a, b, diff]);
  return (
    <div className="diff-graph" data-testid="diff-graph">
      <ReactFlowProvider>
        <ReactFlow nodes={nodes} edges={edges} fitView nodesDraggable={false} nodesConnectable={false} proOptions={{ hideAttribution: true }}>
          <Background gap={20} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}

export function Versions({ pipelineId }: { pipelineId: string }) {
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [versions, setVersions] = useState<PipelineVersion[]>([]);
  const [pick, setPick] = useState<{ a: number; b: number } | null>(null);
  const [diff, setDiff] = useState<DiffResult | null>(null);
  const [error, setError] = useState("");

  const load = () =>
    Promise.all([get<Pipeline>(`/api/pipelines/${pipelineId}/`), get<Page<PipelineVersion> | PipelineVersion[]>(`/api/pipelines/${pipelineId}/versions/?limit=500`)])
      .then(([p, v]) => {
        const list = items(v).sort((x, y) => y.number - x.number);
        setPipeline(p);
        setVersions(list);
        if (list.length >= 2) setPick({ a: list[1].number, b: list[0].number });
      })
      .catch((e: Error) => setError(e.message));
  useEffect(() => {
    void load();
  }, [pipelineId]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setDiff(null);
    if (!pick || pick.a === pick.b) return;
    get<DiffResult>(`/api/pipelines/${pipelineId}/diff/?a=${pick.a}&b=${pick.b}`).then(setDiff).catch((e: Error) => setError(e.message));
  }, [pick, pipelineId]);

  const va = versions.find((v) => v.number === pick?.a);
  const vb = versions.find((v) => v.number === pick?.b);
  const changed = (diff?.nodes as { changed?: NodeChange[] } | undefined)?.changed ?? [];

  return (
    <div className="page">
      <h1>
        <a href={`/pipelines/${pipelineId}`} onClick={(e) => { e.preventDefault(); navigate(`/pipelines/${pipelineId}`); }}>{pipeline?.name ?? "Pipeline"}</a>: version history
      </h1>
      {error && <p className="error-text" role="alert">{error}</p>}
      <table className="data list" aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">Version</th><th scope="col">Saved</th><th scope="col">Message</th><th scope="col">Valid</th>
            <th scope="col">Compare as old</th><th scope="col">Compare as new</th><th scope="col">Restore</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.number}>
              <td>v{v.number}</td>
              <td>{new Date(v.created_at).toLocaleString()}</td>
              <td>{v.message}</td>
              <td>{v.valid ? "yes" : `${(v.errors ?? []).length} error(s)`}</td>
              <td><input type="radio" name="old" aria-label={`v${v.number} as old`} checked={pick?.a === v.number} onChange={() => setPick((p) => ({ a: v.number, b: p?.b ?? v.number }))} /></td>
              <td><input type="radio" name="new" aria-label={`v${v.number} as new`} checked={pick?.b === v.number} onChange={() => setPick((p) => ({ a: p?.a ?? v.number, b: v.number }))} /></td>
              <td>
                <button
                  type="button"
                  disabled={v.number === versions[0]?.number}
                  onClick={() => post(`/api/pipelines/${pipelineId}/versions/${v.number}/restore/`).then(load).catch((e: Error) => setError(e.message))}
                >
                  Restore this version
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff && va && vb && (
        <section aria-label="Difference">
          <h2>v{va.number} → v{vb.number}</h2>
          <ul className="diff-list">
            {(diff.nodes as { added: string[] }).added.map((n) => <li key={`a${n}`} className="diff-added">+ node {n}</li>)}
            {(diff.nodes as { removed: string[] }).removed.map((n) => <li key={`r${n}`} className="diff-removed">− node {n}</li>)}
            {changed.map((c) => (
              <li key={`c${c.id}`} className="diff-changed">
                ~ node {c.id}: {Object.keys(c.changes).length ? `${Object.keys(c.changes).length === 1 && "params" in c.changes ? Object.keys(c.changes.params as object).length : Object.keys(c.changes).length} field(s) changed` : ""}{c.moved ? " (moved)" : ""}
              </li>
            ))}
            {(diff.edges as { added: string[] }).added.map((e) => <li key={`ea${e}`} className="diff-added">+ edge {e}</li>)}
            {(diff.edges as { removed: string[] }).removed.map((e) => <li key={`er${e}`} className="diff-removed">− edge {e}</li>)}
          </ul>
          <DiffTable changed={changed} />
          <DiffGraph a={va} b={vb} diff={diff} />
        </section>
      )}
    </div>
  );
}
