import { readFileSync } from "node:fs";
import { apiCall, createPipeline, expect, expectAccessible, login, node, studioUrl, test } from "./fixtures";

const v1 = {
  nodes: [
    { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
    { id: "split", operator: "split_random", params: { ratio: 0.7 }, position: { x: 0, y: 150 } },
  ],
  edges: [{ source: "import", source_port: "table", target: "split", target_port: "table" }],
};

test("pipeline list and version history: rename, duplicate, visual diff, restore", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Versioned", v1);
  // v2: a changed parameter, an added node and edge.
  const v2 = structuredClone(v1) as typeof v1;
  v2.nodes[1].params.ratio = 0.8;
  v2.nodes.push({ id: "features", operator: "feature_extraction", params: { label: "default" } as never, position: { x: 0, y: 300 } });
  v2.edges.push({ source: "split", source_port: "first", target: "features", target_port: "table" });
  await apiCall(page, "PATCH", `/api/pipelines/${id}/`, { graph: v2 });

  await page.goto(`${studioUrl()}/pipelines/${id}/versions`);
  await expect(page.getByRole("table", { name: "Versions" })).toBeVisible();
  const diff = page.getByRole("region", { name: "Difference" });
  await expect(diff).toContainText("+ node features");
  await expect(diff).toContainText("~ node split");
  await expect(diff).toContainText("+ edge split.first -> features.table");
  await expect(page.locator(".react-flow__node.diff-added")).toHaveCount(1);
  await expect(page.locator(".react-flow__node.diff-changed")).toHaveCount(1);
  await expectAccessible(page, "the version history");

  // Restore v1: a new version (v3) equal to v1, and the canvas shows two nodes again.
  await page.getByRole("row", { name: /^v1 / }).getByRole("button", { name: "Restore this version" }).click();
  await expect(page.getByRole("row", { name: /^v3 / })).toBeVisible();
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.locator(".react-flow__node")).toHaveCount(2);
  await expect(node(page, "split")).toBeVisible();

  // Rename and duplicate from the project's pipeline list.
  const project = (await apiCall<{ project: number }>(page, "GET", `/api/pipelines/${id}/`)).project;
  await page.goto(`${studioUrl()}/projects/${project}`);
  const row = page.getByTestId(`pipeline-row-${id}`);
  await row.getByRole("button", { name: "Rename" }).click();
  await row.getByLabel("New name").fill("Versioned and renamed");
  await row.getByRole("button", { name: "OK" }).click();
  await expect(page.getByRole("link", { name: "Versioned and renamed", exact: true })).toBeVisible();
  await page.getByTestId(`pipeline-row-${id}`).getByRole("button", { name: "Duplicate" }).click();
  await expect(page.getByRole("link", { name: "Versioned and renamed (copy)" })).toBeVisible();

  // The side navigation's other screens.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
  await expect(page.getByRole("heading", { name: "Deployments" })).toBeVisible();
  // the specs share the demo project: an earlier one (components, in the whole run) may have published a model
  await expect(page.getByText("No published model yet").or(page.getByRole("table", { name: "Deployments" }))).toBeVisible();
  await expectAccessible(page, "the deployments page");
});

test("validation errors from the API are shown on the node and on the parameter field", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Bad ratio", {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: { ratio: 5 }, position: { x: 0, y: 150 } },
    ],
    edges: [{ source: "import", source_port: "table", target: "split", target_port: "table" }],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.getByTestId("errors-split")).toContainText("ratio");
  await expect(page.locator(".op-node.has-errors")).toHaveCount(1);
  await node(page, "split").click();
  const ratio = page.getByTestId("param-panel").locator(".rjsf-field-number", { has: page.locator("#root_ratio") });
  await expect(ratio).toContainText(/less than/i);
  // Fix it in the form and save: the new version is valid and the error marks go away.
  await page.locator("#root_ratio").fill("0.6");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");
  await expect(page.locator(".op-node.has-errors")).toHaveCount(0);
});

test("pipeline list: create from the form, export JSON, import it back, delete", async ({ page }) => {
  await login(page);
  const project = (await apiCall<{ results: { id: number; name: string }[] }>(page, "GET", "/api/projects/")).results.find((p) => p.name.startsWith("Demo"))!.id;
  await page.goto(`${studioUrl()}/projects/${project}`);
  await expect(page.getByRole("table", { name: "Pipelines" })).toBeVisible();

  // Create: the form makes the pipeline and opens its (empty) canvas.
  await page.getByLabel("New pipeline name").fill("Made in the list form");
  await page.getByRole("button", { name: "Create pipeline" }).click();
  await expect(page).toHaveURL(/\/pipelines\/\d+$/);
  await expect(page.getByRole("heading", { name: "Made in the list form" })).toBeVisible();
  await expect(page.getByTestId("canvas")).toBeVisible();
  await expect(page.locator(".react-flow__node")).toHaveCount(0);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  const created = await apiCall<{ name: string; project: number }>(page, "GET", `/api/pipelines/${id}/`);
  expect(created).toMatchObject({ name: "Made in the list form", project });
  await apiCall(page, "PATCH", `/api/pipelines/${id}/`, { graph: v1 });

  // Export: the row's link downloads the latest version's graph as a JSON file.
  await page.goto(`${studioUrl()}/projects/${project}`);
  const row = page.getByTestId(`pipeline-row-${id}`);
  await expect(row.getByRole("cell", { name: "v2", exact: true })).toBeVisible(); // v1 empty (the form), v2 the graph
  const downloading = page.waitForEvent("download");
  await row.getByRole("link", { name: "Export JSON" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8")) as typeof v1;
  expect(exported.nodes.map((n) => n.id).sort()).toEqual(["import", "split"]);
  expect(exported.nodes.find((n) => n.id === "split")!.params).toEqual({ ratio: 0.7 });
  expect(exported.edges).toHaveLength(1);

  // Import: the file chosen in the list becomes a new pipeline, opened on its canvas with the same graph.
  await page.getByLabel("Import a pipeline JSON file").setInputFiles({
    name: "exported.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(exported)),
  });
  await expect(page).toHaveURL(/\/pipelines\/\d+$/);
  const imported = Number(new URL(page.url()).pathname.split("/").pop());
  expect(imported).not.toBe(id);
  await expect(page.locator(".react-flow__node")).toHaveCount(2);
  await expect(node(page, "split")).toBeVisible();
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
  const copy = await apiCall<{ project: number; latest: { graph: typeof v1 } }>(page, "GET", `/api/pipelines/${imported}/`);
  expect(copy.project).toBe(project);
  expect(copy.latest.graph.nodes.find((n) => n.id === "split")!.params).toEqual({ ratio: 0.7 });

  // Delete asks first: dismissed, nothing happens; accepted, the row and the pipeline are gone.
  await page.goto(`${studioUrl()}/projects/${project}`);
  const importedRow = page.getByTestId(`pipeline-row-${imported}`);
  page.once("dialog", (d) => void d.dismiss());
  await importedRow.getByRole("button", { name: "Delete" }).click();
  await expect(importedRow).toBeVisible();
  page.once("dialog", (d) => {
    expect(d.message()).toContain("Delete the pipeline");
    void d.accept();
  });
  await importedRow.getByRole("button", { name: "Delete" }).click();
  await expect(importedRow).toHaveCount(0);
  await expect(page.getByTestId(`pipeline-row-${id}`)).toBeVisible();
  // Asked outside the page (same session cookie), so the expected 404 is not a console error of the app.
  expect((await page.request.get(`${studioUrl()}/api/pipelines/${imported}/`)).status()).toBe(404);
  await expectAccessible(page, "the pipeline list after a delete");
});
