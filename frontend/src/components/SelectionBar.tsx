import { useState } from "react";
import type { NodeRunState } from "../canvas/nodeData";
import type { GraphDoc, GraphNode } from "../graph/types";
import { navigate } from "../router";
import { componentName, selectionOffers, type Component } from "./model";

export interface SelectionBarProps {
  nodeIds: string[];
  doc: GraphDoc;
  components: Component[];
  change: (fn: (doc: GraphDoc) => GraphDoc) => void;
  onMake: (name: string, nodeIds: string[], doc: GraphDoc) => Promise<void>;
  /** the current run's node states, inner nodes ("c1.split") included */
  runStates: ReadonlyMap<string, NodeRunState>;
}

/** A component node's inner nodes as the latest run reports them: read-only, live while the run goes on. */
function InnerStates({ nodeId, runStates }: { nodeId: string; runStates: SelectionBarProps["runStates"] }) {
  const [open, setOpen] = useState(false);
  const inner = [...runStates.entries()].filter(([id]) => id.startsWith(`${nodeId}.`));
  return (
    <>
      <button type="button" aria-expanded={open} onClick={() => setOpen((o) => !o)}>Inner nodes</button>
      {open && (
        <ul className="inner-states" aria-label="Inner nodes of the run">
          {inner.length === 0 && <li className="muted">Not run yet</li>}
          {inner.map(([id, s]) => (
            <li key={id}>{id.slice(nodeId.length + 1)}: {s.status}{s.status === "running" ? ` ${Math.round((s.progress ?? 0) * 100)}%` : ""}</li>
          ))}
        </ul>
      )}
    </>
  );
}

function setVersion(doc: GraphDoc, id: string, version: string): GraphDoc {
  const nodes = doc.nodes.map((n): GraphNode => {
    if (n.id !== id) return n;
    const { version: _old, ...rest } = n;
    return version ? { ...rest, version } : (rest as GraphNode);
  });
  return { ...doc, nodes };
}

/** A one-line form: the selected nodes become a component with the name typed. */
function MakeComponent({ nodeIds, doc, onMake }: Pick<SelectionBarProps, "nodeIds" | "doc" | "onMake">) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  if (!open) return <button type="button" onClick={() => setOpen(true)}>Make component</button>;
  const submit = async () => {
    setBusy(true);
    setError("");
    try {
      await onMake(name.trim(), nodeIds, doc);
      setOpen(false);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="make-component" aria-label="Make component" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <label>
        Component name <input value={name} maxLength={100} required onChange={(e) => setName(e.target.value)} autoFocus />
      </label>
      <button type="submit" className="primary" disabled={busy || !name.trim()}>Create component</button>
      <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      <span className="muted">{nodeIds.length} node(s) become one</span>
      {error && <span className="error-text" role="alert">{error}</span>}
    </form>
  );
}

/** The selected component node: follow the latest version or pin one; open the component's page. */
function ComponentNodeBar({ node, component, change, runStates }: { node: GraphNode; component?: Component; change: SelectionBarProps["change"]; runStates: SelectionBarProps["runStates"] }) {
  const latest = component?.latest?.number ?? 0;
  const numbers = Array.from({ length: latest }, (_, i) => latest - i);
  return (
    <div className="component-bar" role="group" aria-label="Component node">
      <span>Component <b>{componentName(node)}</b></span>
      <label>
        Component version{" "}
        <select value={node.version ?? ""} onChange={(e) => change((d) => setVersion(d, node.id, e.target.value))}>
          <option value="">Follow latest (v{latest})</option>
          {numbers.map((n) => <option key={n} value={String(n)}>Pin v{n}</option>)}
        </select>
      </label>
      <InnerStates nodeId={node.id} runStates={runStates} />
      {component && <button type="button" className="link" onClick={() => navigate(`/components/${component.id}`)}>Open component</button>}
    </div>
  );
}

/** What the canvas offers for the current selection: make a component of it, or set a component node's version. */
export function SelectionBar(props: SelectionBarProps) {
  const { nodeIds, doc, components, change } = props;
  const { component, make } = selectionOffers(nodeIds, doc);
  if (!component && !make) return null;
  return (
    <div className="selection-bar">
      {component && (
        <ComponentNodeBar node={component} component={components.find((c) => c.name === componentName(component))} change={change} runStates={props.runStates} />
      )}
      {make && <MakeComponent nodeIds={nodeIds} doc={doc} onMake={props.onMake} />}
    </div>
  );
}
