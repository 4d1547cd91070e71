import { useEffect, useState } from "react";
import { get } from "../api/client";
import { items } from "../api/lists";
import type { Operator, Page, Pipeline, Run } from "../api/types";
import type { OperatorSpec } from "../graph/types";
import { PublishDialog } from "./PublishDialog";
import { deploymentName, modelOperators } from "./publishing";

interface Candidate {
  run: number;
  node: string;
  operator: string;
  pipeline: string;
}

/** Model nodes that finished in recent succeeded runs: what can be published now, one button each. */
function candidates(runs: Run[], trains: Set<string>, names: Map<number, string>): Candidate[] {
  return runs.flatMap((r) =>
    (r.nodes ?? [])
      .filter((n) => trains.has(n.operator ?? "") && (n.status === "succeeded" || n.status === "cached"))
      .map((n) => ({ run: r.id, node: n.node, operator: n.operator ?? "", pipeline: names.get(r.pipeline) ?? `pipeline ${r.pipeline}` })),
  );
}

/** The Deployments page's empty state: recent succeeded runs' models, each with Publish. */
export function RecentRuns() {
  const [list, setList] = useState<Candidate[] | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<Candidate | null>(null);
  useEffect(() => {
    Promise.all([
      get<Page<Run>>("/api/runs/?status=succeeded&limit=10"),
      get<Operator[]>("/api/operators/"),
      get<Page<Pipeline>>("/api/pipelines/?limit=500"),
    ])
      .then(([runs, ops, pipelines]) => {
        const trains = modelOperators(ops as OperatorSpec[]);
        const names = new Map(items(pipelines).map((p) => [p.id, p.name]));
        setList(candidates(items(runs), trains, names));
      })
      .catch((e: Error) => setError(e.message));
  }, []);
  if (error) return <p className="error-text" role="alert">{error}</p>;
  if (list === null) return <p className="muted">Looking for trained models…</p>;
  if (list.length === 0) return <p className="muted">No trained model yet: run a pipeline with a training node (train_gbdt, train_lr), then publish it from its node on the canvas.</p>;
  return (
    <>
      <p>Trained models of recent succeeded runs, ready to publish:</p>
      <table className="data list" aria-label="Models ready to publish">
        <thead>
          <tr><th scope="col">Pipeline</th><th scope="col">Run</th><th scope="col">Node</th><th scope="col">Operator</th><th scope="col">Publish</th></tr>
        </thead>
        <tbody>
          {list.map((c) => (
            <tr key={`${c.run}:${c.node}`}>
              <td>{c.pipeline}</td>
              <td>#{c.run}</td>
              <td>{c.node}</td>
              <td>{c.operator}</td>
              <td><button type="button" onClick={() => setOpen(c)} aria-label={`Publish ${c.node} of run #${c.run}`}>Publish…</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && (
        <PublishDialog runId={open.run} node={open.node} what={`${open.node} of run #${open.run}`} defaultName={deploymentName(open.pipeline)} onClose={() => setOpen(null)} />
      )}
    </>
  );
}
