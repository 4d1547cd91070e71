import { describe, expect, it } from "vitest";
import { checkConnection, edgeId } from "../graph/connection";
import { removeElements } from "../graph/ops";
import type { Catalogue, GraphDoc, OperatorSpec } from "../graph/types";
import { feedInput, inputChoices } from "./InputPicker";

const op = (name: string, inputs: [string, string][], outputs: [string, string][]) =>
  ({ name, inputs: inputs.map(([n, type]) => ({ name: n, type })), outputs: outputs.map(([n, type]) => ({ name: n, type })) }) as unknown as OperatorSpec;
const catalogue: Catalogue = new Map([
  ["read", op("read", [], [["table", "table"]])],
  ["split", op("split", [["table", "table"]], [["first", "table"], ["second", "table"]])],
  ["train", op("train", [["features", "features"]], [["model", "model"]])],
]);
const at = { x: 0, y: 0 };
const doc: GraphDoc = {
  nodes: [{ id: "a", operator: "read", params: {}, position: at }, { id: "s", operator: "split", params: {}, position: at, label: "Split" },
    { id: "t", operator: "train", params: {}, position: at }],
  edges: [{ source: "a", source_port: "table", target: "s", target_port: "table" }],
  comments: [], extra: {},
};

describe("the input picker", () => {
  it("offers the outputs of the input's type, not the node's own (a cycle) nor another type", () => {
    expect(inputChoices(doc, catalogue, "s", "table").map((c) => c.label)).toEqual(["a · table"]);
    expect(inputChoices(doc, catalogue, "t", "features")).toEqual([]);
  });
  it("replaces the input's edge in one change, and empties it", () => {
    const two: GraphDoc = { ...doc, nodes: [...doc.nodes, { id: "b", operator: "read", params: {}, position: at }] };
    const fed = feedInput(two, catalogue, "s", "table", "b\ntable");
    expect(fed.edges).toEqual([{ source: "b", source_port: "table", target: "s", target_port: "table" }]);
    expect(feedInput(two, catalogue, "s", "table", "").edges).toEqual([]);
  });
  it("offers exactly the outputs checkConnection accepts, on a larger graph with branches", () => {
    // A binary tree of 60 nodes (node i fed by node (i - 1) / 2): a node's subtree may not feed it (a cycle).
    const operatorOf = (i: number) => (i % 5 === 4 ? "train" : i % 7 === 0 ? "read" : "split");
    const nodes = Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, operator: operatorOf(i), params: {}, position: at }));
    const parentOf = (i: number) => { let p = Math.floor((i - 1) / 2); while (operatorOf(p) === "train") p = Math.floor((p - 1) / 2); return p; };
    const edges = nodes.flatMap((n, i) => (n.operator === "split" ? [{ source: `n${parentOf(i)}`, source_port: operatorOf(parentOf(i)) === "read" ? "table" : "first", target: n.id, target_port: "table" }] : []));
    const big: GraphDoc = { nodes, edges, comments: [], extra: {} };
    for (const target of ["n1", "n2", "n10", "n31", "n58"]) {
      const without = removeElements(big, { edges: big.edges.filter((e) => e.target === target).map(edgeId) });
      const expected = big.nodes.flatMap((n) => (catalogue.get(n.operator)?.outputs ?? []).map((p) => ({ source: n.id, source_port: p.name, target, target_port: "table" })))
        .filter((e) => checkConnection(without, catalogue, e).ok);
      expect(inputChoices(big, catalogue, target, "table").map((c) => c.edge)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    }
    // n1's subtree (n3, n4, n7, n8, ...) is left out of n1's choices.
    expect(inputChoices(big, catalogue, "n1", "table").map((c) => c.edge.source)).not.toContain("n8");
    expect(inputChoices(big, catalogue, "n2", "table").map((c) => c.edge.source)).toContain("n8");
  });
});

