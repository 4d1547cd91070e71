import { describe, expect, it } from "vitest";
import { fromPipelineJson } from "../graph/serialize";
import { deleteQuestion, importFor, isTableFile, type Upload } from "./uploads";
import { upstreamColumns } from "./upstreamColumns";

const upload = (id: number, kind: string, columns: string[], delimiter?: string): Upload =>
  ({
    id, project: 1, name: `f${id}`, path: `uploads/x/f${id}`, size: 10, sha256: "", content_type: kind, created_at: "",
    preview: { kind, delimiter, columns: columns.map((name) => ({ name, type: "string", missing: 0, distinct: 1 })), rows: [], sampled_rows: 1, sample_limit: 10000 },
    used_by: [],
  }) as Upload;

const graph = fromPipelineJson({
  nodes: [
    { id: "import", operator: "import_csv", params: { upload: "7" } },
    { id: "split", operator: "split_random", params: {} },
    { id: "features", operator: "feature_extraction", params: {} },
    { id: "predict", operator: "predict", params: {} },
    { id: "evaluate", operator: "evaluate_binary", params: {} },
    { id: "select", operator: "select_columns", params: {} },
    { id: "after_select", operator: "feature_extraction", params: {} },
  ],
  edges: [
    { source: "import", source_port: "table", target: "split", target_port: "table" },
    { source: "split", source_port: "first", target: "features", target_port: "table" },
    { source: "split", source_port: "second", target: "predict", target_port: "table" },
    { source: "predict", source_port: "table", target: "evaluate", target_port: "table" },
    { source: "import", source_port: "table", target: "select", target_port: "table" },
    { source: "select", source_port: "table", target: "after_select", target_port: "table" },
  ],
});

describe("columns known from an upload's preview", () => {
  const uploads = [upload(7, "csv", ["Unnamed: 0", "age", "churn"], ";")];
  it("follow table edges through splits and predict to the import's upload", () => {
    expect(upstreamColumns(graph, "features", uploads)).toEqual(["Unnamed: 0", "age", "churn"]);
    expect(upstreamColumns(graph, "evaluate", uploads)).toEqual(["Unnamed: 0", "age", "churn"]);
  });
  it("stop at an operator that may change the columns, and at an unknown upload", () => {
    expect(upstreamColumns(graph, "after_select", uploads)).toBeUndefined();
    expect(upstreamColumns(graph, "features", [upload(8, "csv", ["x"])])).toBeUndefined();
    expect(upstreamColumns(graph, "import", uploads)).toBeUndefined();
  });
});

describe("a dropped file becomes an import node", () => {
  it("with the sniffed delimiter for a CSV, the upload's id for Parquet, none for JSON", () => {
    expect(importFor(upload(7, "csv", [], ";"))).toEqual({ operator: "import_csv", params: { upload: "7", path: "", delimiter: ";" } });
    expect(importFor(upload(3, "tsv", []))).toEqual({ operator: "import_csv", params: { upload: "3", path: "", delimiter: "\t" } });
    expect(importFor(upload(4, "parquet", []))).toEqual({ operator: "import_parquet", params: { upload: "4", path: "" } });
    expect(importFor(upload(5, "json", []))).toBeNull();
    expect([isTableFile("a.CSV"), isTableFile("b.parquet"), isTableFile("c.xlsx")]).toEqual([true, true, false]);
  });
});

describe("withImportNode", () => {
  it("adds an import node named after the file, reading the upload, at the drop point", async () => {
    const { withImportNode } = await import("./useCanvasFileDrop");
    const { testCatalogue } = await import("../graph/testing");
    const { emptyDoc } = await import("../graph/types");
    const r = withImportNode(emptyDoc, testCatalogue, { ...upload(7, "csv", ["a"], ";"), name: "people.csv" }, { x: 5, y: 6 })!;
    expect(r.doc.nodes).toEqual([
      { id: "import_csv", operator: "import_csv", version: "1", label: "people.csv", position: { x: 5, y: 6 }, params: { upload: "7", path: "", delimiter: ";" } },
    ]);
    expect(withImportNode(emptyDoc, testCatalogue, upload(4, "parquet", []), { x: 0, y: 0 })).toBeNull(); // not in this catalogue
  });
});

describe("the question before deleting a file", () => {
  it("names the pipelines and schedules that read it, or says none does", () => {
    expect(deleteQuestion(upload(1, "csv", ["a"]))).toBe("Delete the file “f1”? No pipeline or schedule reads it.");
    const read = { ...upload(2, "csv", ["a"]), used_by: [{ kind: "pipeline" as const, id: 4, name: "churn model" }, { kind: "schedule" as const, id: 9, name: "weekly retrain" }] };
    expect(deleteQuestion(read)).toBe(
      "Delete the file “f2”? Used by: churn model (pipeline), weekly retrain (schedule). Their runs will fail at the import until another file is picked.");
  });
});
