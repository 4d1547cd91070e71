import type { RJSFSchema } from "@rjsf/utils";
import { describe, expect, it } from "vitest";
import { deploymentName, modelNodes, modelOperators, publishable } from "../deployments/publishing";
import { better, chartOrder, pairedMetrics } from "../outputs/views";
import { changeRows } from "../screens/DiffTable";
import { fieldNameOf, formSchema, missingLabel } from "./form/formSchema";

const IMPORT = {
  type: "object",
  properties: {
    path: { type: "string" },
    null_values: { type: "array", items: { type: "string" } },
    column_types: { type: "object", additionalProperties: { type: "string", enum: ["number", "integer", "category"] } },
  },
} as RJSFSchema;
const FEATURES = {
  type: "object",
  properties: {
    label: { type: "string" },
    exclude: { type: "array", items: { type: "string" } },
    crosses: { type: "array", items: { type: "array", items: { type: "string" } } },
    columns: { type: "object", additionalProperties: { type: "array", items: { type: "string", enum: ["onehot", "raw"] } } },
  },
} as RJSFSchema;

describe("the parameter form's schema", () => {
  it("starts a new mapping entry at its first choice, so an added row is valid", () => {
    const s = formSchema(IMPORT, {}, undefined) as { properties: Record<string, { additionalProperties?: { default?: unknown } }> };
    expect(s.properties.column_types.additionalProperties?.default).toBe("number");
    const f = formSchema(FEATURES, {}, undefined) as { properties: Record<string, { additionalProperties?: { default?: unknown } }> };
    expect(f.properties.columns.additionalProperties?.default).toEqual([]);
  });
  it("suggests the upstream columns on every field naming columns, nested lists included", () => {
    const s = formSchema(FEATURES, {}, ["age", "region"]) as { properties: Record<string, Record<string, unknown>> };
    expect(s.properties.label.examples).toEqual(["age", "region"]);
    expect((s.properties.exclude.items as { examples: string[] }).examples).toEqual(["age", "region"]);
    expect(((s.properties.crosses.items as { items: { examples: string[] } }).items).examples).toEqual(["age", "region"]);
  });
  it("says when the label a node looks for is not among its input's known columns, default included", () => {
    const evaluate = { type: "object", properties: { label: { type: "string", default: "label" }, probability_column: { type: "string" } } } as RJSFSchema;
    const columns = ["Unnamed: 0", "age", "bought", "probability"];
    expect(missingLabel(evaluate, {}, columns)).toBe("Label: the input has no column “label”; its columns are Unnamed: 0, age, bought, probability.");
    expect(missingLabel(evaluate, { label: "bougth" }, columns)).toContain("no column “bougth”");
    expect(missingLabel(evaluate, { label: "bought" }, columns)).toBeNull();
    // nothing known about the input, no label parameter, or an empty (unlabelled) label: nothing to say
    expect(missingLabel(evaluate, {}, undefined)).toBeNull();
    expect(missingLabel(IMPORT, { label: "x" }, columns)).toBeNull();
    expect(missingLabel(FEATURES, { label: "" }, columns)).toBeNull();
  });
  it("leaves out parameters bound to a pipeline parameter", () => {
    const s = formSchema(IMPORT, { path: { $param: "p" } }, undefined) as { properties: Record<string, unknown> };
    expect(Object.keys(s.properties)).toEqual(["null_values", "column_types"]);
  });
  it("names what a button acts on from its id", () => {
    expect(fieldNameOf("root_column_types__add")).toBe("Column Types");
    expect(fieldNameOf("root_exclude_0__remove")).toBe("Exclude 1");
  });
});

describe("two models' metrics", () => {
  const metrics = { auc: 0.81, logloss: 0.4, b_auc: 0.78, b_logloss: 0.38, model: "GBDT", model_b: "LR", positive_class: 1 };
  it("pairs each metric with the second model's b_ value, by model name", () => {
    const p = pairedMetrics(metrics)!;
    expect(p.names).toEqual(["GBDT", "LR"]);
    expect(p.rows).toEqual([["auc", 0.81, 0.78], ["logloss", 0.4, 0.38]]);
    expect(pairedMetrics({ auc: 0.8 })).toBeNull();
  });
  it("marks the better value by the metric's direction", () => {
    expect(better("auc", 0.81, 0.78)).toBe("a");
    expect(better("logloss", 0.4, 0.38)).toBe("b");
    expect(better("tp", 3, 4)).toBe("");
  });
  it("orders charts ROC first", () => {
    expect(chartOrder(["importance", "pr", "roc", "custom"])).toEqual(["roc", "pr", "importance", "custom"]);
  });
});

describe("publish from a node", () => {
  it("prefills a valid deployment name from the pipeline's name", () => {
    expect(deploymentName("Credit default (v2)!")).toBe("credit-default-v2");
    expect(deploymentName("***")).toBe("model");
  });
  it("offers Publish on training nodes, and on evaluate nodes whose model input is wired", () => {
    const evaluate = { inputs: [{ name: "table", type: "table" }, { name: "model", type: "model" }], outputs: [{ type: "metrics" }] };
    expect(publishable({ inputs: [], outputs: [{ type: "model" }] }, new Set())).toBe(true);
    expect(publishable(evaluate, new Set(["table", "model"]))).toBe(true);
    // scoring a predict node's table, with nothing on its model input: nothing to publish
    expect(publishable(evaluate, new Set(["table"]))).toBe(false);
    expect(publishable({ inputs: [{ name: "table", type: "table" }], outputs: [{ type: "table" }] }, new Set(["table"]))).toBe(false);
  });
  it("offers a run's nodes with a model output in the run-history Publish picker, not by their name", () => {
    const models = modelOperators([
      { name: "train_gbdt", outputs: [{ type: "model" }] },
      { name: "automl_gbdt", outputs: [{ type: "model" }, { type: "metrics" }] },
      { name: "train_test_split", outputs: [{ type: "table" }, { type: "table" }] },
      { name: "predict", outputs: [{ type: "table" }] },
    ]);
    const nodes = [
      { node: "split", operator: "train_test_split" }, { node: "auto", operator: "automl_gbdt" },
      { node: "gbdt", operator: "train_gbdt" }, { node: "score", operator: "predict" }, { node: "odd", operator: null },
    ];
    expect(modelNodes(nodes, models).map((n) => n.node)).toEqual(["auto", "gbdt"]);
  });
});

describe("version diff", () => {
  it("lists parameters field by field", () => {
    expect(changeRows({ params: { ratio: { old: 0.7, new: 0.8 } }, label: { old: "a", new: "b" } })).toEqual([
      ["ratio", { old: 0.7, new: 0.8 }],
      ["label", { old: "a", new: "b" }],
    ]);
  });
});
