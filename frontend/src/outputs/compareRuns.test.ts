import { describe, expect, it } from "vitest";
import { runsPaired } from "./compareRuns";
import { better, pairedMetrics } from "./views";

describe("two runs' metrics as one table", () => {
  it("pairs each metric of this run with the other run's, and the better one is found", () => {
    const paired = runsPaired({ auc: 0.94, logloss: 0.31, rows: 452, model: "model" }, { auc: 0.95, logloss: 0.3, rows: 368, model: "model" }, "run #3", "run #1")!;
    const table = pairedMetrics(paired)!;
    expect(table.names).toEqual(["run #3", "run #1"]);
    expect(table.rows).toEqual([["auc", 0.94, 0.95], ["logloss", 0.31, 0.3], ["rows", 452, 368]]);
    expect(better("auc", 0.94, 0.95)).toBe("b");
  });

  it("leaves a two-model evaluation's metrics to their own tables", () => {
    expect(runsPaired({ auc: 0.9, b_auc: 0.8 }, { auc: 0.9 }, "a", "b")).toBeNull();
  });
});
