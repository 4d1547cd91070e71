// Compare, a returning analyst's way: this week's run beside last week's. Their metrics were two tables half a
// screen apart (0.9413 here, 0.9487 there), to pair by eye; they are one table now, a column per run, the better
// value starred, as two models of one evaluation are.
import type { Page } from "@playwright/test";
import { apiCall, createPipeline, expect, login, node, SHOTS, studioUrl, test } from "./fixtures";

const at = (y: number) => ({ x: 0, y });
const edge = (source: string, sp: string, target: string, tp: string) => ({ source, source_port: sp, target, target_port: tp });
const graph = (seed: number) => ({
  format: "studio.pipeline/1",
  nodes: [
    { id: "data", operator: "sample_credit_default", params: { n_rows: 800, seed }, position: at(0) },
    { id: "split", operator: "split_random", params: { ratio: 0.6, seed: 1 }, position: at(140) },
    { id: "features", operator: "feature_extraction", params: { label: "default", exclude: ["customer_id", "application_date"] }, position: at(280) },
    { id: "gbdt", operator: "train_gbdt", params: { n_estimators: 10, num_threads: 1 }, position: at(420) },
    { id: "predict", operator: "predict", params: {}, position: at(560) },
    { id: "evaluate", operator: "evaluate_binary", params: {}, position: at(700) },
  ],
  edges: [
    edge("data", "table", "split", "table"), edge("split", "first", "features", "table"),
    edge("features", "features", "gbdt", "features"), edge("gbdt", "model", "predict", "model"),
    edge("features", "feature_state", "predict", "feature_state"), edge("split", "second", "predict", "table"),
    edge("predict", "table", "evaluate", "table"),
  ],
});

async function runToEnd(page: Page, pipeline: number): Promise<number> {
  const run = await apiCall<{ id: number }>(page, "POST", "/api/runs/", { pipeline });
  await expect(async () => {
    expect((await apiCall<{ status: string }>(page, "GET", `/api/runs/${run.id}/`)).status).toBe("succeeded");
  }).toPass({ timeout: 120_000 });
  return run.id;
}

test("Compare puts two runs' metrics in one table, a column per run, the better value starred", async ({ page }) => {
  await login(page);
  const pipeline = await createPipeline(page, "Compare two weeks", graph(5));
  const lastWeek = await runToEnd(page, pipeline);
  await apiCall(page, "PATCH", `/api/pipelines/${pipeline}/`, { graph: graph(6) });
  const thisWeek = await runToEnd(page, pipeline);

  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await node(page, "evaluate").click();
  await page.getByRole("tab", { name: "Outputs", exact: true }).click();
  await page.getByRole("tab", { name: "Metrics", exact: true }).click();
  await page.getByLabel("Compare with").selectOption(String(lastWeek));
  const table = page.getByRole("table", { name: "Metrics of both models" });
  await expect(table.getByRole("columnheader")).toHaveText(["metric", `run #${thisWeek}`, `run #${lastWeek}`]);
  const auc = table.getByRole("row", { name: /^auc / });
  await expect(auc.getByRole("cell")).toHaveCount(2);
  await expect(auc).toContainText("(better)"); // one of the two AUCs is starred (they differ: other data)
  await expect(table.getByRole("row", { name: /^rows \d+ \d+$/ })).toBeVisible();
  await page.getByRole("button", { name: "Maximize results" }).click();
  await page.screenshot({ path: `${SHOTS}/compare-runs-metrics.png` });
});
