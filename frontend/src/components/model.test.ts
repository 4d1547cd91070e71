import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph/types";
import { componentSpec, foldRunStates, fromCanvas, toCanvas } from "./model";

const doc: GraphDoc = {
  nodes: [
    { id: "c1", operator: "component", version: "2", params: { component: "prep", params: { k: 3 } }, position: { x: 0, y: 0 } },
    { id: "z", operator: "train_lr", params: {}, position: { x: 0, y: 100 } },
  ],
  edges: [],
  comments: [],
  extra: {},
};

describe("components on the canvas", () => {
  it("round-trips a component node through the canvas form", () => {
    const canvas = toCanvas(doc);
    expect(canvas.nodes[0]).toMatchObject({ operator: "component:prep", params: { k: 3 }, version: "2" });
    expect(fromCanvas(canvas)).toEqual(doc);
  });

  it("an empty version follows the latest", () => {
    const canvas = toCanvas(doc);
    const following = { ...canvas, nodes: [{ ...canvas.nodes[0], version: "" }, canvas.nodes[1]] };
    expect(fromCanvas(following).nodes[0].version).toBeUndefined();
  });

  it("folds inner run states onto the component node, the worst status winning", () => {
    const states = new Map([
      ["c1.a", { status: "succeeded" as const }],
      ["c1.b", { status: "running" as const, progress: 0.5 }],
      ["z", { status: "queued" as const }],
    ]);
    const folded = foldRunStates(states, new Set(["c1"]));
    expect(folded.get("c1")).toMatchObject({ status: "running", progress: 0.75 });
    expect(folded.get("z")).toEqual({ status: "queued" });
  });

  it("a component's catalogue entry has its typed ports and exposed parameters", () => {
    const spec = componentSpec({
      id: 1, project: 1, name: "prep", description: "d",
      latest: { id: 1, number: 1, digest: "", valid: true, errors: [], message: "", created_at: "",
        graph: { nodes: [], edges: [], parameters: { k: { default: 3 } },
          ports: { inputs: [{ name: "table", type: "table" }], outputs: [{ name: "out", type: "features" }] } } },
    });
    expect(spec.name).toBe("component:prep");
    expect(spec.inputs.map((p) => p.type)).toEqual(["table"]);
    expect(spec.outputs.map((p) => p.type)).toEqual(["features"]);
    expect((spec.params_schema.properties as Record<string, { default: unknown }>).k.default).toBe(3);
  });
});
