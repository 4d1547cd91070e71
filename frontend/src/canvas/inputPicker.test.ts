import { describe, expect, it } from "vitest";
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
});
