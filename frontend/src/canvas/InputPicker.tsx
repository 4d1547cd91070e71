import { edgeId } from "../graph/connection";
import { connect, removeElements } from "../graph/ops";
import type { Catalogue, GraphDoc, GraphEdge } from "../graph/types";

interface Choice { value: string; label: string; edge: GraphEdge }

/**
 * The outputs that may feed input `port` of node `target` (its present edge set aside), as select choices: the
 * rules of checkConnection (same type, known operator, no cycle), decided for all outputs at once. Asking
 * checkConnection per output cost a node lookup and a walk of the graph each, so a 500-node pipeline paid about
 * 500 walks per input on every render of the panel; here it is one walk of what `target` feeds.
 */
export function inputChoices(doc: GraphDoc, catalogue: Catalogue, target: string, port: string): Choice[] {
  const node = doc.nodes.find((n) => n.id === target);
  const type = node && catalogue.get(node.operator)?.inputs.find((p) => p.name === port)?.type;
  if (type === undefined) return [];
  const downstream = reachableFrom(doc, target);
  const out: Choice[] = [];
  for (const n of doc.nodes) {
    if (downstream.has(n.id)) continue;
    for (const p of catalogue.get(n.operator)?.outputs ?? []) {
      if (p.type !== type) continue;
      out.push({ value: `${n.id}\n${p.name}`, label: `${n.label || n.id} · ${p.name}`, edge: { source: n.id, source_port: p.name, target, target_port: port } });
    }
  }
  return out;
}

/** `from` and every node its outputs reach: none of them may feed `from` without closing a cycle. */
function reachableFrom(doc: GraphDoc, from: string): Set<string> {
  const next = new Map<string, string[]>();
  for (const e of doc.edges) {
    const targets = next.get(e.source);
    if (targets) targets.push(e.target);
    else next.set(e.source, [e.target]);
  }
  const seen = new Set([from]);
  const stack = [from];
  while (stack.length) {
    for (const n of next.get(stack.pop()!) ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  return seen;
}

/** Input `port` of `target` fed by `choice` (or by nothing: ""), its present edge replaced, as one document change. */
export function feedInput(doc: GraphDoc, catalogue: Catalogue, target: string, port: string, choice: string): GraphDoc {
  const without = removeElements(doc, { edges: doc.edges.filter((e) => e.target === target && e.target_port === port).map(edgeId) });
  if (!choice) return without;
  const cut = choice.lastIndexOf("\n");
  const edge = { source: choice.slice(0, cut), source_port: choice.slice(cut + 1), target, target_port: port };
  const result = connect(without, catalogue, edge);
  return result.ok ? result.doc : doc;
}

/**
 * A select per input port of the selected node: what feeds it, chosen from the outputs that may. Edges were drawn
 * only by dragging between handles, so a person at the keyboard (or with a screen reader) could not wire a
 * pipeline at all.
 */
export function InputPicker({ doc, catalogue, nodeId, change }: {
  doc: GraphDoc;
  catalogue: Catalogue;
  nodeId: string;
  change: (fn: (d: GraphDoc) => GraphDoc) => void;
}) {
  const node = doc.nodes.find((n) => n.id === nodeId);
  const inputs = node ? catalogue.get(node.operator)?.inputs ?? [] : [];
  if (inputs.length === 0) return null;
  return (
    <fieldset className="input-picker">
      <legend>Inputs</legend>
      {inputs.map((p) => {
        const fed = doc.edges.find((e) => e.target === nodeId && e.target_port === p.name);
        return (
          <label key={p.name} className="field">
            <span>Input {p.name} ({p.type}) from</span>
            <select value={fed ? `${fed.source}\n${fed.source_port}` : ""} onChange={(e) => change((d) => feedInput(d, catalogue, nodeId, p.name, e.target.value))}>
              <option value="">{p.optional ? "— nothing (optional) —" : "— not connected —"}</option>
              {inputChoices(doc, catalogue, nodeId, p.name).map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
            </select>
          </label>
        );
      })}
    </fieldset>
  );
}
