import { apiCall, createPipeline, dragConnect, expect, expectAccessible, handle, login, node, SHOTS, studioUrl, test } from "./fixtures";

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
  const search = page.getByLabel("Search operators");
  for (const [op, x, y] of drops) {
    await search.fill(op);
    await page.getByTestId(`palette-${op}`).dragTo(canvas, { targetPosition: { x, y } });
    await expect(node(page, op)).toBeVisible();
  }
  await search.fill("");

  // Connect them: import -> split -> features -> GBDT -> predict (with the test rows and the feature state) -> evaluate.
  const edges: [string, string, string, string][] = [
    ["import_csv", "table", "split_random", "table"],
    ["split_random", "first", "feature_extraction", "table"],
    ["feature_extraction", "features", "train_gbdt", "features"],
    ["train_gbdt", "model", "predict", "model"],
    ["feature_extraction", "feature_state", "predict", "feature_state"],
    ["split_random", "second", "predict", "table"],
    ["predict", "table", "evaluate_binary", "table"],
  ];
  for (const [s, sp, t, tp] of edges) {
    await dragConnect(page, handle(page, s, "source", sp), handle(page, t, "target", tp));
  }
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
  expect(urls[0]).toMatch(/\?after=0$/);
  expect(urls[1]).toMatch(/\?after=3$/);
  await page.getByRole("tab", { name: "Log" }).click();
  const log = (await page.getByTestId("log").textContent())!.split("\n");
  const ends = log.filter((l) => / (import|split|features|gbdt): (succeeded|cached)/.test(l));
  expect(ends).toHaveLength(4); // each node's end exactly once: nothing missed, nothing replayed twice
  expect(log.filter((l) => l.includes("run started"))).toHaveLength(1);
});
