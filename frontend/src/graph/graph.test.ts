import { describe, expect, it } from "vitest";
import { copySelection, parseClipboard, pasteClipboard } from "./clipboard";
import { checkConnection, edgeId } from "./connection";
import { canRedo, canUndo, closeGroup, createHistory, record, redo, undo, type History } from "./history";
import { autoLayout } from "./layout";
import { addComment, addNode, connect, moveNodes, removeElements, setCommentText, setLabel, setParams } from "./ops";
import { canonicalJson, fromPipelineJson, toPipelineJson } from "./serialize";
import { testCatalogue } from "./testing";
import type { GraphDoc } from "./types";
import { emptyDoc } from "./types";

const op = (name: string) => testCatalogue.get(name)!;

/** import -> split -> train -> predict <- split.second ; predict -> evaluate */
function demo(): GraphDoc {
  let doc = emptyDoc;
  for (const [name, y] of [["import_csv", 0], ["split_random", 100], ["train_lr", 200], ["predict", 300], ["evaluate_binary", 400]] as const) {
    doc = addNode(doc, op(name), { x: 0, y }).doc;
  }
  const edges = [
    { source: "import_csv", source_port: "table", target: "split_random", target_port: "table" },
    { source: "split_random", source_port: "first", target: "train_lr", target_port: "table" },
    { source: "train_lr", source_port: "model", target: "predict", target_port: "model" },
    { source: "split_random", source_port: "second", target: "predict", target_port: "table" },
    { source: "predict", source_port: "table", target: "evaluate_binary", target_port: "table" },
  ];
  for (const e of edges) {
    const result = connect(doc, testCatalogue, e);
    if (!result.ok) throw new Error(result.reason);
    doc = result.doc;
  }
  return doc;
}

describe("undo / redo", () => {
  it("undoes deleting several selected nodes in one step, edges included", () => {
    let h: History = createHistory(demo());
    const before = h.present;
    h = record(h, removeElements(h.present, { nodes: ["split_random", "train_lr", "predict"] }));
    expect(h.present.nodes.map((n) => n.id)).toEqual(["import_csv", "evaluate_binary"]);
    expect(h.present.edges).toHaveLength(0);
    h = undo(h);
    expect(h.present).toBe(before);
    expect(h.present.nodes).toHaveLength(5);
    expect(h.present.edges).toHaveLength(5);
    expect(canUndo(h)).toBe(false);
    h = redo(h);
    expect(h.present.nodes).toHaveLength(2);
  });

  it("groups every position change of one drag into one step", () => {
    let h = createHistory(demo());
    const start = h.present;
    for (let i = 1; i <= 30; i++) {
      h = record(h, moveNodes(h.present, new Map([["train_lr", { x: i * 3, y: 200 + i }]])), "drag");
    }
    h = closeGroup(h);
    expect(h.past).toHaveLength(1);
    expect(h.present.nodes.find((n) => n.id === "train_lr")!.position).toEqual({ x: 90, y: 230 });
    h = undo(h);
    expect(h.present).toBe(start);
  });

  it("starts a new step after a group is closed, and when another key arrives", () => {
    let h = createHistory(demo());
    h = record(h, setParams(h.present, "train_lr", { label: "d" }), "params:train_lr");
    h = record(h, setParams(h.present, "train_lr", { label: "de" }), "params:train_lr");
    h = record(h, setParams(h.present, "train_lr", { label: "default" }), "params:train_lr");
    h = record(h, setLabel(h.present, "train_lr", "Model"), "label:train_lr");
    h = closeGroup(h);
    h = record(h, moveNodes(h.present, new Map([["predict", { x: 5, y: 5 }]])), "drag");
    h = closeGroup(h);
    h = record(h, moveNodes(h.present, new Map([["predict", { x: 9, y: 9 }]])), "drag");
    expect(h.past).toHaveLength(4);
    h = undo(h);
    expect(h.present.nodes.find((n) => n.id === "predict")!.position).toEqual({ x: 5, y: 5 });
    h = undo(h);
    h = undo(h);
    expect(h.present.nodes.find((n) => n.id === "train_lr")!.label).toBeUndefined();
    expect(h.present.nodes.find((n) => n.id === "train_lr")!.params).toEqual({ label: "default" });
    h = undo(h);
    expect(h.present.nodes.find((n) => n.id === "train_lr")!.params).toEqual({ C: 1 });
  });

  it("drops a group that ends where it began, so the next undo takes back the step before it", () => {
    const start = demo();
    let h = record(createHistory(start), setParams(start, "train_lr", { C: 2 }), "params:train_lr");
    h = closeGroup(h);
    const chosen = h.present;
    h = record(h, setParams(h.present, "train_lr", { C: 2, label: "d" }), "params:train_lr");
    h = record(h, setParams(h.present, "train_lr", { C: 2 }), "params:train_lr");  // the typing taken back
    expect(h.past).toHaveLength(1);
    expect(h.present).toBe(chosen);
    h = undo(h);
    expect(h.present).toBe(start);
  });

  it("drops the redo future when a new action is recorded, and ignores changes that change nothing", () => {
    let h = createHistory(demo());
    h = record(h, removeElements(h.present, { nodes: ["predict"] }));
    h = undo(h);
    expect(canRedo(h)).toBe(true);
    const same = record(h, moveNodes(h.present, new Map([["predict", h.present.nodes[3].position]])));
    expect(same).toBe(h);
    h = record(h, addComment(h.present, { x: 1, y: 1 }, "note").doc);
    expect(canRedo(h)).toBe(false);
    expect(h.past).toHaveLength(1);
  });
});

describe("connection validation by port type", () => {
  const doc = removeElements(demo(), { edges: [edgeId({ source: "train_lr", source_port: "model", target: "predict", target_port: "model" })] });

  it("accepts an output into an input of the same type", () => {
    expect(checkConnection(doc, testCatalogue, { source: "train_lr", source_port: "model", target: "predict", target_port: "model" })).toEqual({ ok: true });
  });

  it("refuses a model output into a table input and names both ports and types", () => {
    const check = checkConnection(doc, testCatalogue, { source: "train_lr", source_port: "model", target: "evaluate_binary", target_port: "table" });
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.reason).toBe('Input "table" of "evaluate_binary" takes table, but output "model" of "train_lr" gives model.');
    }
    const result = connect(doc, testCatalogue, { source: "train_lr", source_port: "model", target: "evaluate_binary", target_port: "table" });
    expect(result.ok).toBe(false);
    expect(result.doc).toBe(doc);
  });

  it("refuses a second edge into a taken input, a cycle, a self loop and unknown ports", () => {
    const second = checkConnection(doc, testCatalogue, { source: "split_random", source_port: "second", target: "train_lr", target_port: "table" });
    expect(second).toMatchObject({ ok: false });
    expect(!second.ok && second.reason).toContain("already fed by");

    let chain = emptyDoc;
    chain = addNode(chain, op("split_random"), { x: 0, y: 0 }).doc;
    chain = addNode(chain, op("split_random"), { x: 0, y: 100 }).doc;
    const joined = connect(chain, testCatalogue, { source: "split_random", source_port: "first", target: "split_random_2", target_port: "table" });
    expect(joined.ok).toBe(true);
    const cycle = checkConnection(joined.doc, testCatalogue, { source: "split_random_2", source_port: "first", target: "split_random", target_port: "table" });
    expect(!cycle.ok && cycle.reason).toBe("This edge would close a cycle: split_random → split_random_2 → split_random.");

    const self = checkConnection(doc, testCatalogue, { source: "split_random", source_port: "first", target: "split_random", target_port: "table" });
    expect(!self.ok && self.reason).toContain("its own input");
    const noPort = checkConnection(doc, testCatalogue, { source: "train_lr", source_port: "weights", target: "predict", target_port: "model" });
    expect(!noPort.ok && noPort.reason).toBe('"train_lr" has no output "weights".');
  });

  it("uses the node's label in the reason when it has one", () => {
    const labelled = setLabel(doc, "evaluate_binary", "Evaluate");
    const check = checkConnection(labelled, testCatalogue, { source: "train_lr", source_port: "model", target: "evaluate_binary", target_port: "table" });
    expect(!check.ok && check.reason).toContain('of "Evaluate" takes table');
  });
});

describe("copy / paste", () => {
  it("pastes the selected nodes with the edges between them, under new ids, shifted", () => {
    const doc = setParams(demo(), "train_lr", { label: "default", C: 0.5 });
    const clip = copySelection(doc, ["split_random", "train_lr", "predict"]);
    expect(clip.edges).toHaveLength(3); // import->split and predict->evaluate leave the selection
    const pasted = pasteClipboard(doc, clip, { x: 300, y: 0 });
    expect(pasted.nodeIds).toEqual(["split_random_2", "train_lr_2", "predict_2"]);
    expect(pasted.doc.nodes).toHaveLength(8);
    expect(pasted.doc.edges).toHaveLength(8);
    const trainCopy = pasted.doc.nodes.find((n) => n.id === "train_lr_2")!;
    expect(trainCopy.params).toEqual({ label: "default", C: 0.5 });
    expect(trainCopy.position).toEqual({ x: 300, y: 200 });
    expect(pasted.doc.edges.filter((e) => e.target === "predict_2").map((e) => e.source).sort()).toEqual(["split_random_2", "train_lr_2"]);
    // The copy is deep: editing the pasted node leaves the original alone.
    (trainCopy.params as Record<string, unknown>).C = 9;
    expect(doc.nodes.find((n) => n.id === "train_lr")!.params.C).toBe(0.5);
  });

  it("pastes into another pipeline through text, keeping ids that are free there", () => {
    const source = demo();
    const text = JSON.stringify(copySelection(source, ["train_lr", "predict"]));
    let other = emptyDoc;
    other = addNode(other, op("predict"), { x: 0, y: 0 }).doc; // takes "predict"
    const clip = parseClipboard(text)!;
    expect(clip).not.toBeNull();
    const pasted = pasteClipboard(other, clip, { x: 0, y: 0 });
    expect(pasted.nodeIds).toEqual(["train_lr", "predict_2"]);
    expect(pasted.doc.edges).toEqual([{ source: "train_lr", source_port: "model", target: "predict_2", target_port: "model" }]);
    expect(parseClipboard("just some text")).toBeNull();
    expect(parseClipboard('{"format":"other"}')).toBeNull();
  });

  it("is one undo step", () => {
    let h = createHistory(demo());
    h = record(h, pasteClipboard(h.present, copySelection(h.present, ["import_csv", "split_random"])).doc);
    expect(h.present.nodes).toHaveLength(7);
    h = undo(h);
    expect(h.present.nodes).toHaveLength(5);
  });
});

describe("pipeline JSON", () => {
  it("round-trips unknown top-level keys and sticky notes verbatim", () => {
    const json = {
      format: "studio.pipeline/1", name: "demo", parameters: { seed: { type: "integer", default: 42 } },
      nodes: [{ id: "a", operator: "import_csv", version: "1", params: { path: "x.csv" }, position: { x: 1, y: 2 }, label: "A" }],
      edges: [],
      comments: [{ id: "note", text: "hello", position: { x: 5, y: 5 }, color: "yellow" }],
    };
    const doc = fromPipelineJson(json);
    expect(toPipelineJson(doc)).toEqual(json);
    const edited = setCommentText(doc, "note", "bye");
    expect((toPipelineJson(edited).comments as unknown[])[0]).toEqual({ id: "note", text: "bye", position: { x: 5, y: 5 }, color: "yellow" });
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe(canonicalJson({ a: [{ c: 2, d: 1 }], b: 1 }));
  });

  it("names the bad entry of malformed JSON", () => {
    expect(() => fromPipelineJson({ nodes: [{ id: 3 }], edges: [] })).toThrow("nodes[0]");
    expect(() => fromPipelineJson({ nodes: [], edges: [{ source: "a" }] })).toThrow("edges[0] needs a string 'source_port'");
    expect(() => fromPipelineJson([])).toThrow("JSON object");
  });
});

describe("auto-layout", () => {
  it("puts every edge's source above its target", () => {
    const doc = demo();
    const positions = autoLayout(doc);
    for (const e of doc.edges) expect(positions.get(e.source)!.y).toBeLessThan(positions.get(e.target)!.y);
  });
});
