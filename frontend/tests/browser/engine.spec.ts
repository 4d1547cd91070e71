// Running on Spark from the canvas: the Engine picker in the pipeline's header sends the run buttons' runs to Spark; the
// run panel says so, and the page opened again keeps the engine of the run it shows.
import { apiCall, createPipeline, expect, login, node, SHOTS, studioUrl, test } from "./fixtures";

const GRAPH = {
  format: "studio.pipeline/1",
  nodes: [
    { id: "sample", operator: "sample_credit_default", params: { n_rows: 500 }, position: { x: 0, y: 0 } },
    { id: "keep", operator: "filter_rows", params: { expression: "age > 30" }, position: { x: 0, y: 140 } },
  ],
  edges: [{ source: "sample", source_port: "table", target: "keep", target_port: "table" }],
};

test("the header's Engine picker runs the pipeline on Spark", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "On Spark", GRAPH);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(node(page, "keep")).toBeVisible();

  const toolbar = page.getByRole("toolbar", { name: "Pipeline" });
  const engine = page.getByLabel("Engine");
  await expect(engine).toHaveValue("local");
  await engine.selectOption({ label: "Spark" });
  await toolbar.getByRole("button", { name: "Run all" }).click();
  const status = page.getByTestId("run-status");
  await expect(status).toContainText("(Spark engine)");
  await expect(status).toHaveAttribute("data-status", "succeeded", { timeout: 170_000 });
  await page.screenshot({ path: `${SHOTS}/engine-spark-run.png` });

  const runs = await apiCall<{ results: { engine: string }[] }>(page, "GET", `/api/runs/?pipeline=${id}`);
  expect(runs.results.map((r) => r.engine)).toEqual(["spark"]);

  await page.reload();
  await expect(page.getByLabel("Engine")).toHaveValue("spark");
  await expect(page.getByTestId("run-status")).toContainText("succeeded (Spark engine)");
});
