// Newcomer follow-ups seen at a laptop's 1440 px: the pipeline toolbar fits one row with every button still found
// by its name; an unnamed node says its operator once; "Make component" appears for a group of nodes, not for one;
// the minimap draws the nodes, and its switch sits with the zoom buttons and covers no node; the import node repeats the Data page's
// warning about a number column read as text, and about a category value that looks like a typo.
import { createPipeline, demoProjectId, expect, login, newcomerCsv, node, SHOTS, studioUrl, test, uploadOnDataPage } from "./fixtures";

const at = (x: number, y: number) => ({ x, y });
// Unnamed nodes (no label): their ids are the operators' names, as the palette makes them.
const GRAPH = {
  format: "studio.pipeline/1",
  nodes: [
    { id: "import_csv", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: at(0, 0) },
    { id: "split_random", operator: "split_random", params: {}, position: at(0, 140) },
    { id: "predict", operator: "predict", label: "Score the test rows", params: {}, position: at(700, 420) },
  ],
  edges: [{ source: "import_csv", source_port: "table", target: "split_random", target_port: "table" }],
};

test.use({ viewport: { width: 1440, height: 900 } });

test("at 1440 px: one toolbar row, each name once on a node, Make component for two nodes, the minimap switch in the controls", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Newcomer at 1440", GRAPH);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(node(page, "import_csv")).toBeVisible();

  // Every toolbar button on the first row's line, found by the name it had as a text button.
  const toolbar = page.getByRole("toolbar", { name: "Pipeline" });
  const names = ["Save", "Undo", "Redo", "Auto-layout", "Fit view", "Add note", "Run all", "Run from selected", "Run selected", "Force rerun", "Help"];
  const tops = new Set<number>();
  for (const name of names) {
    const button = toolbar.getByRole("button", { name, exact: true });
    await expect(button).toBeVisible();
    tops.add(Math.round((await button.boundingBox())!.y));
  }
  expect([...tops]).toHaveLength(1);
  await expect(toolbar.getByRole("button", { name: "Undo", exact: true })).toHaveAttribute("title", "Undo (Ctrl+Z)");
  // The minimap, shown while no node is open, draws each of the three nodes (it was an empty box).
  await expect(page.getByRole("img", { name: "Minimap" }).locator("rect")).toHaveCount(3);
  await page.screenshot({ path: `${SHOTS}/newcomer-toolbar-1440.png` });

  // The operator's name once on an unnamed node; under a given name, the operator below it.
  await expect(node(page, "split_random").getByText("split_random", { exact: true })).toHaveCount(1);
  await expect(node(page, "predict")).toContainText("Score the test rows");
  await expect(node(page, "predict").getByText("predict", { exact: true })).toHaveCount(1);

  // One node selected: its form, and no "Make component"; a second one: the offer.
  await node(page, "import_csv").click();
  await expect(page.getByTestId("param-panel")).toBeVisible();
  await expect(page.getByRole("button", { name: "Make component" })).toHaveCount(0);
  await node(page, "split_random").click({ modifiers: ["Shift"] });
  await expect(page.getByRole("button", { name: "Make component" })).toBeVisible();

  // The minimap's switch is one of the zoom controls, clear of the node laid out at the bottom right.
  await page.keyboard.press("Escape");
  const toggle = page.getByRole("button", { name: /^(Show|Hide) minimap$/ });
  await expect(toggle).toHaveCount(1);
  await expect(page.locator(".react-flow__controls").getByRole("button", { name: /minimap$/ })).toHaveCount(1);
  const t = (await toggle.boundingBox())!;
  const n = (await node(page, "predict").boundingBox())!;
  const overlaps = t.x < n.x + n.width && n.x < t.x + t.width && t.y < n.y + n.height && n.y < t.y + t.height;
  expect(overlaps).toBe(false);
  const pressed = await toggle.getAttribute("aria-pressed");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", pressed === "true" ? "false" : "true");
  await node(page, "predict").click();
  await expect(page.getByTestId("param-panel")).toContainText("predict");
});

test("the import node of a file with a typo in a number column says so in its panel, as the Data page did", async ({ page }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  const ages = ["31", "42", "3O", "25", "38", "27", "44", "51", "29", "36", "40", "33"];
  const upload = await uploadOnDataPage(page, project, "ages-typo.csv", `age,city\n${ages.map((a, i) => `${a},c${i % 3}`).join("\n")}\n`);
  const id = await createPipeline(page, "Typo on the canvas", {
    format: "studio.pipeline/1", edges: [],
    nodes: [{ id: "import_csv", operator: "import_csv", params: { upload: String(upload) }, position: at(0, 0) }],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await node(page, "import_csv").click();
  const panel = page.getByTestId("param-panel");
  await expect(panel.getByRole("status").filter({ hasText: "age is read as text" })).toContainText("“3O” (line 4)");
  await page.screenshot({ path: `${SHOTS}/newcomer-import-typo.png` });
});

test("my own CSV: the preview points at a typo in a category, and the run's log names the date column left out", async ({ page }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  const upload = await uploadOnDataPage(page, project, "renewals.csv", newcomerCsv(1500));

  // "premuim" once beside "premium": said on the preview, with its line and the ways out.
  const preview = page.getByRole("region", { name: "Preview of renewals.csv" });
  const typos = preview.getByRole("list", { name: "Values that look like typos" });
  await expect(typos.getByRole("listitem")).toHaveCount(1);
  await expect(typos).toContainText(/plan: “premuim” \(1 row, line 20\) looks like “premium” \([\d,]+ rows\)/);
  await expect(typos).toContainText("recode_values");
  await page.screenshot({ path: `${SHOTS}/newcomer-preview-typo.png` });

  // import -> split -> features on the label: the run says it left the date out, and how to use it.
  const id = await createPipeline(page, "Renewals", {
    format: "studio.pipeline/1",
    nodes: [
      { id: "import_csv", operator: "import_csv", params: { upload: String(upload) }, position: at(0, 0) },
      { id: "split_random", operator: "split_random", params: {}, position: at(0, 140) },
      { id: "feature_extraction", operator: "feature_extraction", params: { label: "renewed" }, position: at(0, 280) },
    ],
    edges: [
      { source: "import_csv", source_port: "table", target: "split_random", target_port: "table" },
      { source: "split_random", source_port: "first", target: "feature_extraction", target_port: "table" },
    ],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  // The import node that reads the file says it again, for whoever configures the pipeline later.
  await node(page, "import_csv").click();
  const panel = page.getByRole("complementary", { name: "Parameters" });
  await expect(panel.getByRole("status").filter({ hasText: "premuim" })).toContainText(
    /plan: “premuim” \(1 row, line 20\) looks like “premium” \([\d,]+ rows\)\. A typo is a category of its own/);
  await page.screenshot({ path: `${SHOTS}/newcomer-import-look-alike.png` });
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(/^Run #\d+: succeeded$/)).toBeVisible({ timeout: 120_000 });
  await page.getByRole("tab", { name: "Log", exact: true }).click();
  await expect(page.getByText(/feature_extraction: left out 'signup_date' \(a date\/time/)).toContainText(
    "derive numbers from it before this node with derive_column, e.g. month(signup_date)");
  await page.screenshot({ path: `${SHOTS}/newcomer-date-left-out.png` });

  // The features node's fitted state reads as a table of what each column became, and the columns left out with why.
  await node(page, "feature_extraction").click();
  await page.getByRole("tab", { name: "Outputs", exact: true }).click();
  await page.getByRole("tab", { name: "Feature state" }).click();
  const made = page.getByRole("table", { name: "Features made" });
  await expect(made.getByRole("row", { name: /^plan category onehot Logistic regression/ })).toContainText("plan=");
  await expect(made.getByRole("row", { name: /^plan category ordinal GBDT/ })).toBeVisible();
  const leftOut = page.getByRole("table", { name: "Columns left out" });
  await expect(leftOut.getByRole("row", { name: /^signup_date / })).toContainText("a date/time: auto mode makes no feature of it");
  await expect(page.getByText("Show raw JSON")).toBeVisible();
  await expect(page.locator("pre.json")).toHaveCount(0);
  await page.getByRole("button", { name: "Maximize results" }).click();
  await page.getByTestId("outputs").screenshot({ path: `${SHOTS}/newcomer-feature-state.png` });
  // The feature matrix reads as its size and label, not raw JSON either.
  await page.getByRole("tab", { name: "Features", exact: true }).click();
  const outputs = page.getByTestId("outputs");
  await expect(outputs.getByText("Feature names")).toBeVisible();
  await expect(outputs.getByText("renewed", { exact: true })).toBeVisible();
  await expect(page.locator("pre.json")).toHaveCount(0);
  await outputs.screenshot({ path: `${SHOTS}/newcomer-features.png` });
});

test("searching the palette for an operator's name puts that operator first, and Enter adds it", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Palette search");
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  const palette = page.getByRole("complementary", { name: "Operators" });
  await palette.getByLabel("Search operators").fill("predict");
  const first = palette.getByRole("listitem").first();
  await expect(first.getByText("predict", { exact: true })).toBeVisible();
  await expect(palette.getByRole("heading").first()).toHaveText("Model scoring");
  await expect(palette.getByText("import_prediction_log", { exact: true })).toBeVisible(); // still found, below
  await page.screenshot({ path: `${SHOTS}/newcomer-palette-search.png` });
  await first.focus();
  await page.keyboard.press("Enter");
  const canvas = page.getByRole("region", { name: "Pipeline canvas" });
  await expect(canvas.getByText("predict", { exact: true })).toBeVisible();
});

test("keyboard only: the palette is one Tab stop, the arrow keys move in it, Space adds the operator, a select wires an input", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Keyboard only");
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  const palette = page.getByRole("complementary", { name: "Operators" });
  const inPalette = () => page.evaluate(() => document.activeElement?.closest("aside")?.getAttribute("aria-label") === "Operators");
  const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? "");
  // The list's order, as shown (the demo project may hold components that other specs made: they come first).
  await expect(palette.getByTestId("palette-import_csv")).toBeVisible();
  await page.waitForLoadState("networkidle");
  const items = await palette.locator(".palette-item").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.testid ?? ""));
  await palette.getByLabel("Search operators").focus();
  // One Tab enters the list, the next leaves it: before, every operator was a stop (some 50 before the canvas).
  await page.keyboard.press("Tab");
  expect(await focused()).toBe(items[0]);
  await page.keyboard.press("Tab");
  expect(await inPalette()).toBe(false);
  await page.keyboard.press("Shift+Tab");
  expect(await focused()).toBe(items[0]);
  // Down from the search box enters the list; Down again is the next operator; Space adds it, as Enter does.
  await palette.getByLabel("Search operators").focus();
  await page.keyboard.press("ArrowDown");
  expect(await focused()).toBe(items[0]);
  await page.keyboard.press("ArrowDown");
  expect(await focused()).toBe(items[1]);
  for (let i = 1; i < items.indexOf("palette-import_csv"); i++) await page.keyboard.press("ArrowDown");
  expect(await focused()).toBe("palette-import_csv");
  await page.keyboard.press("Space");
  await expect(node(page, "import_csv")).toBeVisible();
  // The operator last moved to is the list's Tab stop when the keyboard comes back to it.
  await palette.getByLabel("Search operators").focus();
  await page.keyboard.press("Tab");
  expect(await focused()).toBe("palette-import_csv");

  // Wiring without the mouse: the selected node's panel has a select per input port, of the outputs that may feed
  // it (before, an edge could only be dragged between handles).
  await palette.getByLabel("Search operators").fill("split_random");
  await palette.getByLabel("Search operators").press("ArrowDown");
  await page.keyboard.press("Enter");
  await expect(node(page, "split_random")).toBeVisible();
  await page.locator(".react-flow__node", { has: node(page, "split_random") }).focus();
  await page.keyboard.press("Enter");
  const panel = page.getByRole("complementary", { name: "Parameters" });
  const from = panel.getByLabel("Input table (table) from");
  await expect(from.getByRole("option")).toHaveText(["— not connected —", "import_csv · table"]);
  await from.focus();
  await from.selectOption({ label: "import_csv · table" });
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
  await expect(node(page, "split_random")).not.toContainText("is not connected");
  await panel.screenshot({ path: `${SHOTS}/keyboard-input-picker.png` });
  await from.selectOption({ label: "— not connected —" });
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);
  await page.locator(".react-flow__node", { has: node(page, "split_random") }).focus();
  await page.keyboard.press("Control+z"); // one undo step brings the edge back
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);
});
