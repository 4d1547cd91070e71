import type { Page } from "@playwright/test";
import { apiCall, connectAll, createPipeline, dragConnect, dropFromPalette, expect, expectAccessible, handle, login, node, SHOTS, studioUrl, test, TRAIN_AND_EVALUATE_EDGES, trainedGraph } from "./fixtures";

test("build, run and read a pipeline made by dragging from the palette; reload finds it again", async ({ page, consoleErrors }) => {
  await login(page);
  const id = await createPipeline(page, "Browser-built GBDT");
  await page.getByRole("link", { name: /^Demo/ }).click();
  await expect(page.getByRole("table", { name: "Pipelines" })).toBeVisible();
  await expectAccessible(page, "the pipeline list");
  await page.getByRole("link", { name: "Browser-built GBDT" }).click();
  await expect(page.getByTestId("canvas")).toBeVisible();

  // Drag six operators from the palette onto the canvas, in a grid so that no two overlap.
  const canvas = page.getByTestId("canvas");
  const drops: [string, number, number][] = [
    ["import_csv", 140, 50],
    ["split_random", 140, 170],
    ["feature_extraction", 140, 290],
    ["train_gbdt", 140, 410],
    ["predict", 520, 410],
    ["evaluate_binary", 520, 530],
  ];
  await dropFromPalette(page, canvas, drops);

  // Connect them: import -> split -> features -> GBDT -> predict (with the test rows and the feature state) -> evaluate.
  const edges = TRAIN_AND_EVALUATE_EDGES;
  await connectAll(page, edges);
  await expect(page.locator(".react-flow__edge")).toHaveCount(edges.length);

  // Parameters, through the forms generated from each operator's JSON Schema.
  const form = page.getByTestId("param-panel");
  await node(page, "import_csv").click();
  await form.locator("#root_path").fill("data/credit_default.csv");
  await node(page, "feature_extraction").click();
  await form.locator("#root_label").fill("default");
  await node(page, "train_gbdt").click();
  await form.locator("#root_n_estimators").fill("30");
  await node(page, "evaluate_binary").click();
  await form.locator("#root_label").fill("default");
  await expect(page.getByTestId("dirty")).toHaveText(/Unsaved changes/);
  await expectAccessible(page, "the canvas");

  await page.getByTestId("save").click();
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");
  await expect(page.locator(".op-node.has-errors")).toHaveCount(0);
  const saved = await apiCall<{ latest: { number: number; valid: boolean; graph: { nodes: { id: string; params: Record<string, unknown> }[] } } }>(page, "GET", `/api/pipelines/${id}/`);
  expect(saved.latest.valid).toBe(true);
  expect(saved.latest.graph.nodes.find((n) => n.id === "train_gbdt")!.params.n_estimators).toBe(30);

  await page.getByTestId("run-all").click();
  await expect(page.locator('[data-status="running"], [data-status="succeeded"]').first()).toBeVisible();
  // The "during a run" screenshot is taken while a node is running: the GBDT's training (over a second here) is
  // caught by polling every animation frame, and the shot is taken at once, with its progress bar on the node.
  await page.waitForFunction(() => document.querySelector('[data-testid="node-train_gbdt"][data-status="running"]') !== null, undefined, { polling: "raf", timeout: 150_000 });
  await page.screenshot({ path: `${SHOTS}/canvas-during-run.png` });
  for (const [op] of drops) {
    await expect(node(page, op)).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  }
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded");
  await page.screenshot({ path: `${SHOTS}/canvas-after-run.png` });

  // Column pickers: with the upstream table known, the label field suggests its columns.
  await node(page, "feature_extraction").click();
  const labelField = form.locator("#root_label");
  await expect(labelField).toHaveAttribute("list", /.+/);
  const listId = await labelField.getAttribute("list");
  await expect(page.locator(`datalist[id="${listId}"] option[value="income"]`)).toHaveCount(1);

  // The evaluation's ROC chart, drawn by plotly.js from the API's figure JSON.
  await node(page, "evaluate_binary").click();
  await page.getByRole("tab", { name: "Outputs" }).click();
  await page.getByTestId("output-tab-report").click();
  await page.getByTestId("chart-tab-roc").click();
  const roc = page.getByTestId("plot-roc");
  await expect(roc.locator(".scatterlayer .trace").first()).toBeVisible();
  expect(await roc.locator(".scatterlayer .trace").count()).toBeGreaterThanOrEqual(1);
  await expect(roc.locator(".legendtext").first()).toContainText("AUC");
  await page.getByTestId("bottom-panel").screenshot({ path: `${SHOTS}/evaluation-roc.png` });
  await page.screenshot({ path: `${SHOTS}/evaluation-view.png` });
  await expectAccessible(page, "the canvas after a run, with the evaluation's chart");

  // Reload: the pipeline and its finished run are found again, replayed from the event stream.
  await page.reload();
  for (const [op] of drops) await expect(node(page, op)).toHaveAttribute("data-status", "succeeded");
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded");

  // Force a rerun (cache ignored) and compare its evaluation with the first run's, side by side.
  const firstRun = await page.getByTestId("run-status").textContent();
  await page.getByRole("button", { name: "Force rerun" }).click();
  await expect(page.getByTestId("run-status")).not.toHaveText(firstRun!);
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  await expect(node(page, "train_gbdt")).toHaveAttribute("data-status", "succeeded");
  await node(page, "evaluate_binary").click();
  await page.getByRole("tab", { name: "Outputs" }).click();
  await page.getByTestId("output-tab-metrics").click();
  const compare = page.getByLabel("Compare with");
  await expect(compare.locator("option")).toHaveCount(2); // "another run…" and the first run
  await compare.selectOption({ index: 1 });
  await expect(page.locator(".side-by-side table.metrics")).toHaveCount(2);
  await expect(page.locator(".side-by-side table.metrics").nth(1)).toContainText("auc");

  await page.goto(`${studioUrl()}/`);
  await page.getByRole("link", { name: /^Demo/ }).click();
  await expect(page.getByRole("link", { name: "Browser-built GBDT" })).toBeVisible();
  expect(consoleErrors).toEqual([]);
});

test("connecting a model output to a table input is refused, with the reason shown", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Refused edge", {
    nodes: [
      { id: "train", operator: "train_gbdt", params: {}, position: { x: 0, y: 0 } },
      { id: "evaluate", operator: "evaluate_binary", params: {}, position: { x: 0, y: 200 } },
    ],
    edges: [],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(node(page, "train")).toBeVisible();
  // The API's validation errors of the saved version are shown on the nodes they name.
  await expect(page.getByTestId("errors-evaluate")).toContainText("'table' is not connected");
  await expect(page.getByTestId("errors-train")).toContainText("'features' is not connected");
  await dragConnect(page, handle(page, "train", "source", "model"), handle(page, "evaluate", "target", "table"));
  const notice = page.getByRole("alert").filter({ hasText: "Connection refused" });
  await expect(notice).toContainText('Input "table" of "evaluate" takes table, but output "model" of "train" gives model.');
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");
  // The same drag into the model input is accepted.
  await dragConnect(page, handle(page, "train", "source", "model"), handle(page, "evaluate", "target", "model"));
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
});

test("undo after deleting three selected nodes restores all three in one step", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Undo three", {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: {}, position: { x: 0, y: 150 } },
      { id: "features", operator: "feature_extraction", params: { label: "default" }, position: { x: 0, y: 300 } },
      { id: "gbdt", operator: "train_gbdt", params: {}, position: { x: 0, y: 450 } },
    ],
    edges: [
      { source: "import", source_port: "table", target: "split", target_port: "table" },
      { source: "split", source_port: "first", target: "features", target_port: "table" },
      { source: "features", source_port: "features", target: "gbdt", target_port: "features" },
    ],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.locator(".react-flow__node")).toHaveCount(4);
  await node(page, "split").click();
  await node(page, "features").click({ modifiers: ["Shift"] });
  await node(page, "gbdt").click({ modifiers: ["Shift"] });
  await expect(page.locator(".react-flow__node.selected")).toHaveCount(3);
  await page.keyboard.press("Delete");
  await expect(page.locator(".react-flow__node")).toHaveCount(1);
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);
  await page.keyboard.press("Control+z");
  await expect(page.locator(".react-flow__node")).toHaveCount(4);
  await expect(page.locator(".react-flow__edge")).toHaveCount(3);
  await expect(page.getByRole("button", { name: "Undo" })).toBeDisabled(); // it was one step: nothing left to undo
  await page.keyboard.press("Control+Shift+z");
  await expect(page.locator(".react-flow__node")).toHaveCount(1);
  await page.keyboard.press("Control+z");
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");

  // Copy two connected nodes and paste them into another pipeline: the edge between them comes along.
  const other = await createPipeline(page, "Paste target");
  await page.keyboard.press("Escape");
  await node(page, "features").click();
  await node(page, "gbdt").click({ modifiers: ["Shift"] });
  await page.keyboard.press("Control+c");
  await page.goto(`${studioUrl()}/pipelines/${other}`);
  await expect(page.getByTestId("canvas")).toBeVisible();
  await page.getByTestId("canvas").click({ position: { x: 400, y: 300 } });
  await page.keyboard.press("Control+v");
  await expect(page.locator(".react-flow__node")).toHaveCount(2);
  await expect(node(page, "features")).toBeVisible();
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
  await expect(page.getByTestId("dirty")).toHaveText(/Unsaved changes/);
  // A sticky note, saved with the pipeline.
  await page.getByRole("button", { name: "Add note" }).click();
  await page.getByLabel("Sticky note").fill("Features and model copied from Undo three");
  await page.keyboard.press("Escape");
  await page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await page.keyboard.press("Control+s");
  await expect(page.getByTestId("dirty")).toHaveText("All changes saved");
  // The shortcuts are listed in a help panel.
  await page.keyboard.press("?");
  await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" })).toContainText("Ctrl+Shift+Z");
  const pasted = await apiCall<{ latest: { graph: { nodes: { id: string; params: Record<string, unknown> }[]; edges: unknown[] } } }>(page, "GET", `/api/pipelines/${other}/`);
  expect(pasted.latest.graph.nodes.map((n) => n.id).sort()).toEqual(["features", "gbdt"]);
  expect(pasted.latest.graph.nodes.find((n) => n.id === "features")!.params).toEqual({ label: "default" });
  expect(pasted.latest.graph.edges).toHaveLength(1);
  expect((pasted.latest.graph as unknown as { comments: { text: string }[] }).comments.map((c) => c.text)).toEqual(["Features and model copied from Undo three"]);
});

test("a dropped event stream reconnects with ?after= and catches up without repeating events", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Dropped stream", {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: {}, position: { x: 0, y: 150 } },
      { id: "features", operator: "feature_extraction", params: { label: "default" }, position: { x: 0, y: 300 } },
      { id: "gbdt", operator: "train_gbdt", params: { n_estimators: 20 }, position: { x: 0, y: 450 } },
    ],
    edges: [
      { source: "import", source_port: "table", target: "split", target_port: "table" },
      { source: "split", source_port: "first", target: "features", target_port: "table" },
      { source: "features", source_port: "features", target: "gbdt", target_port: "features" },
    ],
  });
  // The first connection is cut (as a network drop would) after three events; later ones pass through.
  const urls: string[] = [];
  await page.routeWebSocket(/\/ws\/runs\//, (ws) => {
    urls.push(ws.url());
    const server = ws.connectToServer();
    if (urls.length > 1) return;
    let forwarded = 0;
    server.onMessage((message) => {
      if (forwarded >= 3) return;
      ws.send(message);
      if (++forwarded === 3) {
        ws.close({ code: 4001, reason: "dropped by the test" });
        server.close();
      }
    });
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await page.getByTestId("run-all").click();
  for (const n of ["import", "split", "features", "gbdt"]) {
    // An earlier test may have computed the same nodes: the studio's artifact store answers them as cached.
    await expect(node(page, n)).toHaveAttribute("data-status", /^(succeeded|cached)$/, { timeout: 150_000 });
  }
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded");
  expect(urls.length).toBeGreaterThanOrEqual(2);
  // Each connection carries a fresh single-use ticket, never a token.
  expect(urls[0]).toMatch(/\?after=0&ticket=[\w-]+$/);
  expect(urls[1]).toMatch(/\?after=3&ticket=[\w-]+$/);
  expect(new URL(urls[0]).searchParams.get("ticket")).not.toEqual(new URL(urls[1]).searchParams.get("ticket"));
  await page.getByRole("tab", { name: "Log" }).click();
  const log = (await page.getByTestId("log").textContent())!.split("\n");
  const ends = log.filter((l) => / (import|split|features|gbdt): (succeeded|cached)/.test(l));
  expect(ends).toHaveLength(4); // each node's end exactly once: nothing missed, nothing replayed twice
  expect(log.filter((l) => l.includes("run started"))).toHaveLength(1);
});

const CHAIN = trainedGraph({ split: { ratio: 0.65, seed: 11 } });

interface RunJson {
  id: number;
  status: string;
  mode: string;
  node: string;
  started_at: string | null;
  finished_at: string | null;
  nodes: { node: string; status: string }[];
}

/** The run history's duration cell for a run, as the page computes it from the API's start and end times. */
function shownDuration(run: RunJson): string {
  const s = (new Date(run.finished_at!).getTime() - new Date(run.started_at!).getTime()) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

const runIdShown = async (page: Page) => Number((await page.getByTestId("run-status").textContent())!.match(/#(\d+)/)![1]);

test("Run selected runs one node (and what it needs), Run from selected runs it and everything downstream; the run history shows both", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Partial runs", CHAIN);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.locator(".react-flow__node")).toHaveCount(4);
  const runSelected = page.getByRole("button", { name: "Run selected", exact: true });
  const runFrom = page.getByRole("button", { name: "Run from selected", exact: true });
  await expect(runSelected).toBeDisabled(); // nothing selected yet
  await expect(runFrom).toBeDisabled();

  // Run selected on the split: the split runs (its ratio and seed are this test's own, so nothing is cached),
  // the import is run or taken from the cache, and nothing downstream is touched.
  await node(page, "split").click();
  await runSelected.click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  const only = await runIdShown(page);
  await expect(node(page, "split")).toHaveAttribute("data-status", "succeeded");
  await expect(node(page, "import")).toHaveAttribute("data-status", /^(succeeded|cached)$/);
  await expect(node(page, "features")).toHaveAttribute("data-status", "idle");
  await expect(node(page, "gbdt")).toHaveAttribute("data-status", "idle");
  const onlyRun = await apiCall<RunJson>(page, "GET", `/api/runs/${only}/`);
  expect(onlyRun).toMatchObject({ mode: "only", node: "split", status: "succeeded" });
  expect(onlyRun.nodes.map((n) => n.node).sort()).toEqual(["import", "split"]);

  // Run from selected on the features: the features and the model run; the split above is now cached.
  await node(page, "features").click();
  await runFrom.click();
  await expect(page.getByTestId("run-status")).not.toHaveText(`Run #${only}: succeeded`);
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  const from = await runIdShown(page);
  await expect(node(page, "split")).toHaveAttribute("data-status", "cached");
  await expect(node(page, "import")).toHaveAttribute("data-status", "cached");
  await expect(node(page, "features")).toHaveAttribute("data-status", /^(succeeded|cached)$/);
  await expect(node(page, "gbdt")).toHaveAttribute("data-status", "succeeded");
  expect(await apiCall<RunJson>(page, "GET", `/api/runs/${from}/`)).toMatchObject({ mode: "from", node: "features", status: "succeeded" });

  // The run history: each run with its mode, status and duration.
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Run history" })).toBeVisible();
  for (const [runId, mode] of [[only, "only split"], [from, "from features"]] as const) {
    const run = await apiCall<RunJson>(page, "GET", `/api/runs/${runId}/`);
    const row = page.getByRole("row", { name: new RegExp(`^#${runId} `) });
    await expect(row.getByRole("cell").nth(3)).toHaveText(mode);
    await expect(row.getByRole("cell").nth(4)).toHaveText("succeeded");
    await expect(row.getByRole("cell").nth(6)).toHaveText(shownDuration(run));
    await expect(row.getByRole("button", { name: "Publish…" })).toBeVisible();
  }
  await expectAccessible(page, "the run history");
});

test("Cancel run stops a long training while it runs", async ({ page }) => {
  await login(page);
  // 100,000 trees at a tiny learning rate on one thread: minutes of training, far longer than the test waits.
  const graph = structuredClone(CHAIN);
  graph.nodes[3].params = { n_estimators: 100_000, learning_rate: 0.001, num_threads: 1 } as never;
  const id = await createPipeline(page, "Long training", graph);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.getByRole("button", { name: "Cancel run" })).toHaveCount(0);
  await page.getByTestId("run-all").click();
  await expect(node(page, "gbdt")).toHaveAttribute("data-status", "running", { timeout: 150_000 });
  await expect(page.getByRole("progressbar", { name: "gbdt progress" })).toBeVisible();
  const runId = await runIdShown(page);
  const asked = Date.now();
  await page.getByRole("button", { name: "Cancel run" }).click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "cancelled", { timeout: 30_000 });
  expect(Date.now() - asked).toBeLessThan(20_000);
  await expect(node(page, "gbdt")).toHaveAttribute("data-status", "cancelled");
  await expect(page.getByRole("button", { name: "Cancel run" })).toHaveCount(0);
  const run = await apiCall<RunJson>(page, "GET", `/api/runs/${runId}/`);
  expect(run.status).toBe("cancelled");
  expect(run.nodes.find((n) => n.node === "gbdt")!.status).toBe("cancelled");
  await page.getByRole("tab", { name: "Log" }).click();
  await expect(page.getByTestId("log")).toContainText("run cancelled");
});

test("outputs panel: the table preview pages through rows, the profile draws a histogram per numeric column", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Outputs preview", { nodes: [CHAIN.nodes[0]], edges: [] });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  await node(page, "import").click();
  await page.getByRole("tab", { name: "Outputs" }).click();
  const outputs = page.getByTestId("outputs");
  const pager = outputs.locator(".pager");
  const table = outputs.locator("table.data");
  await expect(pager).toContainText("Rows 1–50 of 20000");
  await expect(table.locator("tbody tr")).toHaveCount(50);
  await expect(table.locator("thead th").first()).toHaveText("customer_id");
  // The generated table numbers its customers 1, 2, ...: page two starts at 51.
  await expect(table.locator("tbody tr").first().locator("td").first()).toHaveText("1");
  const firstPage = await table.locator("tbody").textContent();
  await expect(outputs.getByRole("button", { name: "Previous" })).toBeDisabled();
  await outputs.getByRole("button", { name: "Next" }).click();
  await expect(pager).toContainText("Rows 51–100 of 20000");
  await expect(table.locator("tbody tr").first().locator("td").first()).toHaveText("51");
  await expect(table.locator("tbody tr").last().locator("td").first()).toHaveText("100");
  expect(await table.locator("tbody").textContent()).not.toBe(firstPage);
  await outputs.getByRole("button", { name: "Previous" }).click();
  await expect(pager).toContainText("Rows 1–50 of 20000");
  await expect(table.locator("tbody tr").first().locator("td").first()).toHaveText("1");
  await expectAccessible(page, "the outputs panel's table preview");

  // The column profile: one row per column; numeric columns get a small histogram, text columns their top values.
  await outputs.getByRole("button", { name: "Profile", exact: true }).click();
  const profile = outputs.locator("table.data");
  const ageRow = profile.getByRole("row", { name: /^age / });
  await expect(ageRow.getByRole("img", { name: "histogram" })).toBeVisible();
  const bars = ageRow.locator("svg.histogram rect");
  expect(await bars.count()).toBeGreaterThan(3);
  const heights = await bars.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("height"))));
  expect(Math.max(...heights)).toBe(28); // the tallest bin fills the chart
  expect(heights.some((h) => h > 0 && h < 28)).toBe(true);
  for (const numeric of ["income", "debt_ratio", "late_payments"]) {
    await expect(profile.getByRole("row", { name: new RegExp(`^${numeric} `) }).getByRole("img", { name: "histogram" })).toBeVisible();
  }
  expect(await profile.getByRole("img", { name: "histogram" }).count()).toBeGreaterThanOrEqual(7);
  const educationRow = profile.getByRole("row", { name: /^education / });
  await expect(educationRow.getByRole("img", { name: "histogram" })).toHaveCount(0);
  await expect(educationRow).toContainText(/high_school \(\d+\)/);
  await expect(profile.getByRole("row", { name: /^income / }).getByRole("cell").nth(1)).not.toHaveText("0"); // 5% missing
  await expectAccessible(page, "the outputs panel's column profile");
});

test("a failed node shows its error on hover; the nodes after it are skipped; the run history says failed", async ({ page }) => {
  await login(page);
  const graph = structuredClone(CHAIN);
  graph.nodes[2].params = { label: "no_such_column" };
  const id = await createPipeline(page, "Failing label", graph);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.locator(".op-node.has-errors")).toHaveCount(0); // valid: only the data can tell
  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "failed", { timeout: 150_000 });
  const runId = await runIdShown(page);
  const failed = node(page, "features");
  await expect(failed).toHaveAttribute("data-status", "failed");
  await expect(page.getByTestId("status-features")).toHaveText("failed");
  // The error is the node's tooltip (its title), naming the missing column; its first line is also on the node.
  await failed.hover();
  await expect(failed).toHaveAttribute("title", /column 'no_such_column' \(from label\) is not in the 'table' input/);
  await expect(failed.locator(".op-node-errors")).toContainText("no_such_column");
  await expect(node(page, "gbdt")).toHaveAttribute("data-status", "skipped");
  await expect(node(page, "gbdt")).toHaveAttribute("title", /upstream 'features' did not succeed/);
  await expect(node(page, "split")).toHaveAttribute("data-status", /^(succeeded|cached)$/);
  await expect(node(page, "split")).not.toHaveAttribute("title", /no_such_column/);
  await expectAccessible(page, "the canvas with a failed node");

  await page.getByRole("button", { name: "Runs", exact: true }).click();
  const row = page.getByRole("row", { name: new RegExp(`^#${runId} `) });
  await expect(row.getByRole("cell").nth(4)).toContainText("failed");
  await expect(row.getByRole("button", { name: "Publish…" })).toHaveCount(0); // only a succeeded run publishes
  const run = await apiCall<RunJson>(page, "GET", `/api/runs/${runId}/`);
  await expect(row.getByRole("cell").nth(6)).toHaveText(shownDuration(run));
});
