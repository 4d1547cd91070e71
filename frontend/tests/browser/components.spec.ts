import { apiCall, createPipeline, expect, expectAccessible, login, node, studioUrl, test } from "./fixtures";

const prep = {
  nodes: [
    { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
    { id: "split", operator: "split_random", params: { ratio: 0.7, seed: 1 }, position: { x: 0, y: 150 } },
    { id: "features", operator: "feature_extraction", params: { label: "default" }, position: { x: 0, y: 300 } },
  ],
  edges: [
    { source: "import", source_port: "table", target: "split", target_port: "table" },
    { source: "split", source_port: "first", target: "features", target_port: "table" },
  ],
};

interface RunEvent { type: string; data: Record<string, unknown> }

/** The component versions a run expanded, as its run_started event records them, once the run has finished. */
async function componentsOfRun(page: import("@playwright/test").Page, runId: number): Promise<Record<string, { component: string; version: number }>> {
  let events: RunEvent[] = [];
  await expect.poll(async () => {
    events = await apiCall<RunEvent[]>(page, "GET", `/api/runs/${runId}/events/?after=0&limit=1000`);
    return events.find((e) => e.type === "run_finished")?.data.status;
  }, { timeout: 150_000 }).toBe("succeeded");
  return events.find((e) => e.type === "run_started")!.data.components as Record<string, { component: string; version: number }>;
}

test("make a component from three nodes, reuse it pinned elsewhere, publish a change: the follower takes it, the pinned one does not", async ({ page }) => {
  await login(page);
  const name = `prep ${Date.now() % 100000}`;
  const slug = name.replace(" ", "_");
  const follower = await createPipeline(page, "Follows prep", prep);

  // Select the three nodes and make them a component: the canvas then holds one component node.
  await page.goto(`${studioUrl()}/pipelines/${follower}`);
  await node(page, "import").click();
  await node(page, "split").click({ modifiers: ["Shift"] });
  await node(page, "features").click({ modifiers: ["Shift"] });
  await page.getByRole("button", { name: "Make component" }).click();
  await page.getByLabel("Component name").fill(name);
  await page.getByRole("button", { name: "Create component" }).click();
  await expect(page.locator(".react-flow__node")).toHaveCount(1);
  await expect(node(page, slug)).toContainText(name);
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");

  // A second pipeline takes it from the palette's Components section and pins version 1.
  const pinned = await createPipeline(page, "Pins prep");
  await page.goto(`${studioUrl()}/pipelines/${pinned}`);
  const palette = page.getByRole("complementary", { name: "Operators" });
  await expect(palette.getByRole("heading", { name: "Components" })).toBeVisible();
  await palette.getByText(name, { exact: false }).first().dblclick();
  const added = page.locator(".react-flow__node");
  await expect(added).toHaveCount(1);
  await added.first().click();
  await page.getByLabel("Component version").selectOption("1");
  await expectAccessible(page, "the canvas with a component node selected");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");

  // The component's page: where it is used, then a parameter inside it changed and published as v2.
  await page.getByRole("button", { name: "Open component" }).click();
  await expect(page.getByRole("heading", { name: `Component ${name}` })).toBeVisible();
  const used = page.getByRole("table", { name: "Where used" });
  await expect(used.getByRole("row", { name: /Follows prep/ })).toContainText("follows the latest");
  await expect(used.getByRole("row", { name: /Pins prep/ })).toContainText("pinned to v1");
  await expect(page.getByTestId("followers")).toContainText("Follows prep");
  await expect(page.getByRole("region", { name: "Ports" })).toContainText("output features: features");
  await expectAccessible(page, "the component page");
  await page.getByLabel(/Parameters of split/).fill(JSON.stringify({ ratio: 0.6, seed: 1 }));
  await page.getByRole("button", { name: "Publish new version" }).click();
  await expect(page.getByRole("status")).toHaveText("Published v2");
  await expect(page.getByRole("button", { name: "Move Pins prep to v2" })).toBeVisible();

  // The follower's next run (from its canvas) expands v2; the pinned pipeline's run still expands v1.
  await page.goto(`${studioUrl()}/pipelines/${follower}`);
  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  await expect(node(page, slug)).toHaveAttribute("data-status", /succeeded|cached/);
  // The component node opens read-only onto its inner nodes' states in this run.
  await node(page, slug).click();
  await page.getByRole("button", { name: "Inner nodes" }).click();
  const inner = page.getByRole("list", { name: "Inner nodes of the run" });
  await expect(inner).toContainText(/split: (succeeded|cached)/);
  await expect(inner).toContainText(/features: (succeeded|cached)/);
  const runs = await apiCall<{ results: { id: number }[] }>(page, "GET", `/api/runs/?pipeline=${follower}&limit=1`);
  expect(Object.values(await componentsOfRun(page, runs.results[0].id))).toEqual([{ component: name, version: 2 }]);
  const run = await apiCall<{ id: number }>(page, "POST", "/api/runs/", { pipeline: pinned });
  expect(Object.values(await componentsOfRun(page, run.id))).toEqual([{ component: name, version: 1 }]);
});
