// Newcomer follow-ups: an unnamed node says its operator once; "Make component" only for a group of nodes;
// evaluate's empty label (the model's training label) is not warned about as a missing column.
import type { RJSFSchema } from "@rjsf/utils";
import { describe, expect, it } from "vitest";
import { selectionOffers } from "../components/model";
import { importLookAlikes, importTextNumbers, lookAlikesText } from "../data/textNumbers";
import type { Upload } from "../data/uploads";
import { emptyChoice, tryFailure } from "../deployments/logic";
import { fireTimeText } from "../schedules/logic";
import { emptyDoc, type GraphDoc, type GraphNode, type OperatorSpec } from "../graph/types";
import { missingLabel } from "./form/formSchema";
import { nodeTitles } from "./nodeData";
import { paletteGroups } from "./Palette";

const PREDICT = { name: "predict", category: "Model scoring", version: "3", description: "", inputs: [], outputs: [], params_schema: {} } as OperatorSpec;
const at = { x: 0, y: 0 };
const node = (id: string, operator: string, label?: string): GraphNode => ({ id, operator, params: {}, position: at, ...(label ? { label } : {}) });

describe("a node's title", () => {
  it("says the operator once on an unnamed node, whose id is the operator's name", () => {
    expect(nodeTitles(node("predict", "predict"), PREDICT)).toEqual({ title: "predict", operator: null });
    expect(nodeTitles(node("predict_2", "predict"), PREDICT)).toEqual({ title: "predict_2", operator: null });
    expect(nodeTitles(node("predict", "predict", "predict"), PREDICT)).toEqual({ title: "predict", operator: null });
  });
  it("keeps the operator under a name that does not say it", () => {
    expect(nodeTitles(node("predict", "predict", "Score the test set"), PREDICT)).toEqual({ title: "Score the test set", operator: "predict" });
    expect(nodeTitles(node("scorer", "predict"), PREDICT)).toEqual({ title: "scorer", operator: "predict" });
    expect(nodeTitles(node("predictor", "predict"), PREDICT)).toEqual({ title: "predictor", operator: "predict" });
    expect(nodeTitles(node("x", "gone_op"), undefined)).toEqual({ title: "x", operator: "unknown operator gone_op" });
  });
});

describe("what a selection offers", () => {
  const doc: GraphDoc = { ...emptyDoc, nodes: [node("split", "split_random"), node("features", "feature_extraction"), node("c1", "component:prep")] };
  it("offers no bar for one ordinary node, Make component for two or more", () => {
    expect(selectionOffers([], doc)).toEqual({ component: undefined, make: false });
    expect(selectionOffers(["split"], doc)).toEqual({ component: undefined, make: false });
    expect(selectionOffers(["split", "features"], doc)).toEqual({ component: undefined, make: true });
  });
  it("offers a lone component node its version bar, not a component of one component", () => {
    const offers = selectionOffers(["c1"], doc);
    expect(offers.component?.id).toBe("c1");
    expect(offers.make).toBe(false);
  });
});

describe("evaluate's label warning", () => {
  const evaluate = { type: "object", properties: { label: { type: "string", default: "" } } } as RJSFSchema;
  it("stays quiet while the label is left empty: the operator then reads the model's training label", () => {
    expect(missingLabel(evaluate, {}, ["age", "churned", "probability"])).toBeNull();
    expect(missingLabel(evaluate, { label: "" }, ["age", "churned", "probability"])).toBeNull();
  });
  it("still names a label typed wrong", () => {
    expect(missingLabel(evaluate, { label: "churn" }, ["age", "churned", "probability"])).toContain("no column “churn”");
  });
});

describe("Try it without a key", () => {
  const refused = "this endpoint needs a key: send 'Authorization: Bearer <key>' (the deployment page shows how to create one)";
  it("points at the key box and the regenerate button on the page the person is on", () => {
    const text = tryFailure(refused, false);
    expect(text).toContain("“Endpoint key” above");
    expect(text).toContain("“Regenerate primary key”");
    expect(text).not.toContain("the deployment page shows");
  });
  it("leaves other failures, and a refused key that was given, as the server said them", () => {
    expect(tryFailure(refused, true)).toBe(refused);
    expect(tryFailure("age: a number is required", false)).toBe("age: a number is required");
  });
});

describe("a schedule's next fire times", () => {
  it("says a UTC time once", () => {
    expect(fireTimeText("2026-12-07T02:00:00Z", "UTC")).toBe("2026-12-07 02:00 UTC");
    expect(fireTimeText("2026-12-07T02:00:00Z", "")).toBe("2026-12-07 02:00 UTC");
  });
  it("gives another zone's time and UTC's", () => {
    expect(fireTimeText("2026-12-07T01:00:00Z", "Europe/Berlin")).toBe("2026-12-07 02:00 (Europe/Berlin) · 2026-12-07 01:00 UTC");
  });
});

describe("the import node repeats the Data page's warning about a number column read as text", () => {
  const upload = {
    id: 7, name: "renewals.csv",
    preview: { kind: "csv", rows: [], sampled_rows: 600, sample_limit: 1000, columns: [
      { name: "age", type: "string", missing: 0, distinct: 64, not_numbers: { count: 1, examples: [{ value: "3O", line: 19 }] } },
      { name: "plan", type: "string", missing: 2, distinct: 3 },
    ] },
  } as unknown as Upload;
  it("names the column, the cell and its line, and the two ways out", () => {
    const [text, ...rest] = importTextNumbers({ upload: "7" }, [upload]);
    expect(rest).toEqual([]);
    expect(text).toBe("age is read as text: 1 cell is not a number: “3O” (line 19). Correct the file and upload it again, or add the value to the import node's Null Values to read it as missing.");
  });
  it("goes once the node handles it, and says nothing of another file", () => {
    expect(importTextNumbers({ upload: "7", null_values: ["", "NA", "3O"] }, [upload])).toEqual([]);
    expect(importTextNumbers({ upload: "7", column_types: { age: "number" } }, [upload])).toEqual([]);
    expect(importTextNumbers({ upload: "8" }, [upload])).toEqual([]);
    expect(importTextNumbers({ upload: "7" }, null)).toEqual([]);
  });
});

describe("Try it's lists", () => {
  it("offer an optional column's empty choice as missing, in words", () => {
    expect(emptyChoice({ nullable: true })).toBe("— missing —");
    expect(emptyChoice({})).toBe("— missing —");
    expect(emptyChoice({ nullable: false })).toBe("— choose —");
  });
});

describe("a value that looks like a typo of a common one, on the Data page's preview", () => {
  it("names the value, its line and its look-alike, and the ways out", () => {
    const text = lookAlikesText({ count: 1, examples: [{ value: "premuim", rows: 1, line: 20, like: "premium", like_rows: 519 }] });
    expect(text).toBe(": “premuim” (1 row, line 20) looks like “premium” (519 rows). A typo is a category of its own to the model: " +
      "correct the file and upload it again, or map the value with a recode_values node after the import.");
  });
  it("says there are more than the values shown", () => {
    const shown = [{ value: "Lyons", rows: 2, line: 4, like: "Lyon", like_rows: 1200 }];
    expect(lookAlikesText({ count: 5, examples: shown })).toContain("(2 rows, line 4) looks like “Lyon” (1,200 rows); ….");
  });
});

describe("the import node repeats the Data page's warning about a value that looks like a typo", () => {
  const upload = {
    id: 9, name: "renewals.csv",
    preview: { kind: "csv", rows: [], sampled_rows: 1500, sample_limit: 1000, columns: [
      { name: "plan", type: "string", missing: 0, distinct: 4,
        look_alikes: { count: 1, examples: [{ value: "premuim", rows: 1, line: 20, like: "premium", like_rows: 519 }] } },
      { name: "city", type: "string", missing: 28, distinct: 3 },
    ] },
  } as unknown as Upload;
  it("names the column, the value, its line and its look-alike, as the preview did", () => {
    expect(importLookAlikes({ upload: 9 }, [upload])).toEqual([
      "plan: “premuim” (1 row, line 20) looks like “premium” (519 rows). A typo is a category of its own to the model: " +
      "correct the file and upload it again, or map the value with a recode_values node after the import."]);
  });
  it("says nothing of another file, or before the files are known", () => {
    expect(importLookAlikes({ upload: "8" }, [upload])).toEqual([]);
    expect(importLookAlikes({ upload: "9" }, undefined)).toEqual([]);
  });
});

describe("the palette's search", () => {
  const op = (name: string, category: string, description = ""): OperatorSpec =>
    ({ name, category, version: "1", description, inputs: [], outputs: [], params_schema: {} }) as OperatorSpec;
  const catalogue = [
    op("import_prediction_log", "Data import", "Read the served predictions"), op("import_csv", "Data import"),
    op("score_with_deployment", "Model scoring", "Score rows to predict with a deployment"), op("predict", "Model scoring"),
    op("evaluate_binary", "Model evaluation"),
  ];
  const names = (query: string) => paletteGroups(catalogue, query).map(([category, ops]) => [category, ops.map((o) => o.name)]);
  it("puts the operator of that very name first, then names that hold it, then descriptions", () => {
    expect(names("predict")).toEqual([["Model scoring", ["predict", "score_with_deployment"]], ["Data import", ["import_prediction_log"]]]);
    expect(names(" Import")).toEqual([["Data import", ["import_prediction_log", "import_csv"]]]);
  });
  it("keeps categories in alphabetical order, and the catalogue's order in each, with no search", () => {
    expect(names("")).toEqual([
      ["Data import", ["import_prediction_log", "import_csv"]], ["Model evaluation", ["evaluate_binary"]],
      ["Model scoring", ["score_with_deployment", "predict"]],
    ]);
  });
});
