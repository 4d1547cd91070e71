// The run history said only "failed node 'feature_extraction' failed" for a run whose label held three values: a
// returning analyst reading the history saw no reason without opening the pipeline and its log. The failed
// node's own error is now under the status.
import { apiCall, createPipeline, demoProjectId, expect, login, SHOTS, studioUrl, test, uploadOnDataPage } from "./fixtures";

test("the run history says why a run failed, in the failed node's words", async ({ page }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  const rows = Array.from({ length: 60 }, (_, i) => `${i},${["basic", "premium", "family"][i % 3]},${i % 17}`);
  const upload = await uploadOnDataPage(page, project, "plans.csv", `id,plan,visits\n${rows.join("\n")}\n`);
  const pipeline = await createPipeline(page, "Plan as the label", {
    format: "studio.pipeline/1",
    nodes: [
      { id: "import_csv", operator: "import_csv", params: { upload: String(upload) }, position: { x: 0, y: 0 } },
      { id: "feature_extraction", operator: "feature_extraction", params: { label: "plan" }, position: { x: 0, y: 150 } },
    ],
    edges: [{ source: "import_csv", source_port: "table", target: "feature_extraction", target_port: "table" }],
  });
  const run = await apiCall<{ id: number }>(page, "POST", "/api/runs/", { pipeline });
  await expect(async () => {
    expect((await apiCall<{ status: string }>(page, "GET", `/api/runs/${run.id}/`)).status).toBe("failed");
  }).toPass({ timeout: 60_000 });

  await page.goto(`${studioUrl()}/projects/${project}/runs`);
  const row = page.getByRole("table", { name: "Runs" }).getByRole("row", { name: new RegExp(`^#${run.id} `) });
  await expect(row.getByRole("cell").nth(4)).toContainText("failed node 'feature_extraction' failed");
  await expect(row.getByRole("cell").nth(4)).toContainText(
    "feature_extraction: label column 'plan' must hold two values; it holds 3: 'basic' (20 rows)");
  await expect(row.getByRole("cell").nth(4)).toContainText("binary classifiers");
  // Wrapped under the status: the table stays within the page.
  const width = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(width).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${SHOTS}/run-history-reason.png` });
});
