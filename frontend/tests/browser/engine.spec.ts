// Running on Spark from the canvas: the Engine picker in the pipeline's header sends the run buttons' runs to Spark; the
// run panel says so, and the page opened again keeps the engine of the run it shows.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { apiCall, createPipeline, demoProjectId, expect, login, node, SHOTS, studioUrl, test } from "./fixtures";
import { REPO } from "./server";

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

  const runs = await apiCall<{ results: { id: number; engine: string }[] }>(page, "GET", `/api/runs/?pipeline=${id}`);
  expect(runs.results.map((r) => r.engine)).toEqual(["spark"]);

  await page.reload();
  await expect(page.getByLabel("Engine")).toHaveValue("spark");
  await expect(page.getByTestId("run-status")).toContainText("succeeded (Spark engine)");

  // The choice is kept with the pipeline: back to Local, the page opens on Local (its last run was on Spark).
  await page.getByLabel("Engine").selectOption({ label: "Local" });
  await expect.poll(async () => (await apiCall<{ engine: string }>(page, "GET", `/api/pipelines/${id}/`)).engine).toBe("local");
  await page.reload();
  await expect(page.getByTestId("run-status")).toContainText("succeeded (Spark engine)");
  await expect(page.getByLabel("Engine")).toHaveValue("local");

  // A link to the Spark run (as a schedule's history gives) shows that run's engine in the picker.
  await page.goto(`${studioUrl()}/pipelines/${id}?run=${runs.results[0].id}`);
  await expect(page.getByTestId("run-status")).toHaveText(`Run #${runs.results[0].id}: succeeded (Spark engine)`);
  await expect(page.getByLabel("Engine")).toHaveValue("spark");
  await page.screenshot({ path: `${SHOTS}/engine-run-link.png` });
});

test("the Engine picker's choice is kept with the pipeline before any run", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Spark chosen", GRAPH);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(node(page, "keep")).toBeVisible();
  await page.getByLabel("Engine").selectOption({ label: "Spark" });
  await expect.poll(async () => (await apiCall<{ engine: string }>(page, "GET", `/api/pipelines/${id}/`)).engine).toBe("spark");
  await page.reload();
  await expect(node(page, "keep")).toBeVisible();
  await expect(page.getByLabel("Engine")).toHaveValue("spark");
  // A new schedule of it runs on the chosen engine unless changed.
  await page.getByRole("button", { name: "Schedule this pipeline" }).click();
  await expect(page.getByLabel("Engine")).toHaveValue("spark");
});

/** A user of the studio under test, made as an administrator makes one (manage.py, in the studio's data dir). */
function makeUser(username: string, password: string) {
  const code = `from django.contrib.auth import get_user_model
u, _ = get_user_model().objects.get_or_create(username=${JSON.stringify(username)})
u.set_password(${JSON.stringify(password)}); u.save()`;
  execFileSync(path.join(REPO, ".venv/bin/python"), ["manage.py", "shell", "-c", code], {
    cwd: REPO, timeout: 60_000,
    env: { ...process.env, STUDIO_DATA_DIR: process.env.STUDIO_DATA_DIR_USED, DEBUG: "", DATABASE_URL: "", REDIS_URL: "" },
  });
}

test("a viewer of the project sees the Engine picker read-only, with why, and no error", async ({ page, browser }) => {
  await login(page);
  const id = await createPipeline(page, "Viewed on Spark", GRAPH);
  await apiCall(page, "PATCH", `/api/pipelines/${id}/`, { engine: "spark" });
  makeUser("vera", "vera-reads-only-42");
  await apiCall(page, "POST", `/api/projects/${await demoProjectId(page)}/members/`, { username: "vera", role: "viewer" });

  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const viewer = await context.newPage();
  const errors: string[] = [];
  viewer.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await viewer.goto(`${studioUrl()}/`);
  await viewer.getByLabel("User name").fill("vera");
  await viewer.getByLabel("Password").fill("vera-reads-only-42");
  await viewer.getByRole("button", { name: "Log in" }).click();
  await expect(viewer.getByRole("heading", { name: "Projects" })).toBeVisible();
  await viewer.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(node(viewer, "keep")).toBeVisible();
  const engine = viewer.getByLabel("Engine");
  await expect(engine).toHaveValue("spark"); // the pipeline's choice, shown
  await expect(engine).toBeDisabled();
  await expect(engine).toHaveAccessibleDescription(/viewer of this project; its editors and owners choose the engine/);
  await expect(viewer.getByText(/^View only: you are a viewer of this project/)).toBeVisible();
  await expect(viewer.getByRole("region", { name: "Run results" }).getByRole("alert")).toHaveCount(0);
  await viewer.locator("header.page-head").screenshot({ path: `${SHOTS}/engine-viewer-read-only.png` });
  expect(errors).toEqual([]);
  await context.close();

  // The owner's picker is not read-only.
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(node(page, "keep")).toBeVisible();
  await expect(page.getByLabel("Engine")).toBeEnabled();
  await expect(page.getByText(/^View only/)).toHaveCount(0);
});
