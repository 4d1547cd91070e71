// Issue 14, item 1 and the first acceptance point: a person's own CSV (a yes/no label, an unnamed row-number
// column) goes from their disk to a trained, evaluated, published model in the browser alone.
//
// Named to run after pipelines.spec.ts (one worker, files in alphabetical order): that test checks the
// Deployments page's empty state, which the publish here would end.
import type { Page } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";
import { apiCall, connectAll, demoProjectId, dropFromPalette, expect, expectAccessible, login, node, SHOTS, test, TRAIN_AND_EVALUATE_EDGES } from "./fixtures";

/** A churn table as a spreadsheet exports it: the first column is an unnamed row number, the label is yes/no. */
function churnCsv(rows: number): string {
  const lines = [",tenure,monthly_fee,plan,support_calls,churned"];
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < rows; i++) {
    const tenure = Math.floor(rand() * 72);
    const fee = Math.round((20 + rand() * 80) * 100) / 100;
    const plan = ["basic", "plus", "pro"][Math.floor(rand() * 3)];
    const calls = Math.floor(rand() * 8);
    const risk = 0.8 * calls / 7 + 0.6 * (1 - tenure / 72) + (plan === "basic" ? 0.3 : 0) + 0.4 * rand();
    lines.push(`${i},${tenure},${fee},${plan},${calls},${risk > 1.05 ? "yes" : "no"}`);
  }
  return lines.join("\n") + "\n";
}

async function openDataPage(page: Page): Promise<number> {
  const project = await demoProjectId(page);
  await page.getByRole("link", { name: /^Demo/ }).click();
  await page.getByRole("button", { name: "Data", exact: true }).click();
  await expect(page.getByRole("heading", { name: /: data$/ })).toBeVisible();
  return project;
}

test("the Data page uploads with the file picker, shows the preview, renames and deletes", async ({ page, consoleErrors }) => {
  await login(page);
  await openDataPage(page);
  await page.getByLabel("Choose files to upload").setInputFiles([
    { name: "scratch.csv", mimeType: "text/csv", buffer: Buffer.from("a;b\n1;x\n2;\n") },
  ]);
  const row = page.getByRole("row", { name: /scratch\.csv/ });
  await expect(row).toBeVisible();
  const preview = page.getByRole("region", { name: "Preview of scratch.csv" });
  await expect(preview).toContainText("delimiter: semicolon (;)");
  await expect(preview.getByRole("table", { name: "Columns" }).getByRole("row", { name: /^b string 1 1$/ })).toBeVisible();
  await expectAccessible(page, "the Data page with a preview");
  await page.screenshot({ path: `${SHOTS}/data-page-preview.png` });

  // One typo ("3O", a letter O) makes a number column text: the preview names the cell, its line, and the ways out.
  const ages = ["31", "42", "3O", "25", "38", "27", "44", "51", "29", "36", "40", "33"];
  await page.getByLabel("Choose files to upload").setInputFiles([
    { name: "typo.csv", mimeType: "text/csv", buffer: Buffer.from(`age,city\n${ages.map((a, i) => `${a},c${i % 3}`).join("\n")}\n`) },
  ]);
  const typo = page.getByRole("region", { name: "Preview of typo.csv" }).getByRole("list", { name: "Columns read as text" });
  await expect(typo.getByRole("listitem")).toHaveCount(1);
  await expect(typo).toContainText("age is read as text: 1 cell is not a number: “3O” (line 4)");
  await expect(typo).toContainText("Null Values");
  await expectAccessible(page, "the Data page with a typo in a number column");
  await page.screenshot({ path: `${SHOTS}/data-page-typo.png` });

  // A file that is not a table is refused by name, and nothing is listed for it.
  await page.getByLabel("Choose files to upload").setInputFiles([
    { name: "photo.csv", mimeType: "text/csv", buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]) },
  ]);
  await expect(page.getByRole("alert")).toContainText("photo.csv");
  await expect(page.getByRole("row", { name: /photo\.csv/ })).toHaveCount(0);
  // the browser logs the refused request itself; that one line is expected, nothing else
  expect(consoleErrors).toEqual([expect.stringContaining("status of 415")]);
  consoleErrors.length = 0;
  await page.getByRole("button", { name: "Dismiss" }).click();

  // Dropping files on the page uploads them too, with a progress bar while a big one is on its way (the
  // browser's upload throttled to 1 MB/s, so the bar is there to see).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
  const dropped = await page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    const rows = Array.from({ length: 150_000 }, (_, i) => `${i},${i % 13}`).join("\n");
    transfer.items.add(new File([`n,m\n${rows}\n`], "dropped.csv", { type: "text/csv" }));
    return transfer;
  });
  const pageArea = page.locator(".data-page");
  for (const type of ["dragenter", "dragover", "drop"]) await pageArea.dispatchEvent(type, { dataTransfer: dropped });
  const bar = page.getByRole("progressbar", { name: "Uploading dropped.csv" });
  await expect(bar).toBeVisible();
  await expect.poll(() => bar.evaluate((el: HTMLProgressElement) => el.value), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.screenshot({ path: `${SHOTS}/data-page-progress.png` });
  await expect(page.getByRole("row", { name: /dropped\.csv/ })).toBeVisible();
  await expect(bar).toHaveCount(0);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  await row.getByRole("button", { name: "Rename scratch.csv" }).click();
  await page.getByLabel("New name for scratch.csv").fill("renamed.csv");
  await page.getByRole("button", { name: "OK" }).click();
  const renamed = page.getByRole("row", { name: /renamed\.csv/ });
  await expect(renamed).toBeVisible();
  page.once("dialog", (d) => void d.accept());
  await renamed.getByRole("button", { name: "Delete renamed.csv" }).click();
  await expect(page.getByRole("row", { name: /renamed\.csv/ })).toHaveCount(0);
});

test("a person's own CSV: Data page upload and preview, dropped onto a new pipeline, trained, evaluated, published; answers yes/no", async ({ page }) => {
  await login(page);
  await openDataPage(page);
  const file = `${SHOTS}/churn.csv`;
  writeFileSync(file, churnCsv(2000));
  await page.getByLabel("Choose files to upload").setInputFiles(file);
  const preview = page.getByRole("region", { name: "Preview of churn.csv" });
  await expect(preview).toContainText("delimiter: comma (,)");
  const columns = preview.getByRole("table", { name: "Columns" });
  await expect(columns.getByRole("row", { name: /^Unnamed: 0 integer 0 2,000$/ })).toBeVisible();
  await expect(columns.getByRole("row", { name: /^churned string 0 2$/ })).toBeVisible();
  await expect(preview.getByRole("table", { name: "First rows" }).getByRole("row")).toHaveCount(21);
  await page.screenshot({ path: `${SHOTS}/data-churn-preview.png` });

  // A new pipeline; the file, dragged from the desktop onto its canvas, becomes an import node reading it.
  await page.getByRole("button", { name: "Pipelines" }).click();
  await page.getByLabel("New pipeline name").fill("Churn from my CSV");
  await page.getByRole("button", { name: "Create pipeline" }).click();
  const canvas = page.getByTestId("canvas");
  await expect(canvas).toBeVisible();
  // Empty, the canvas shows how to start and no blank minimap (it can still be asked for).
  await expect(page.getByRole("heading", { name: "Start a pipeline in three steps" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Show minimap" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Hide minimap" })).toHaveCount(0);
  const text = readFileSync(file, "utf8");
  const files = await page.evaluateHandle((body) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([body], "churn.csv", { type: "text/csv" }));
    return transfer;
  }, text);
  const box = (await canvas.boundingBox())!;
  const at = { clientX: box.x + 360, clientY: box.y + 60 };
  for (const type of ["dragenter", "dragover", "drop"]) await canvas.dispatchEvent(type, { dataTransfer: files, ...at });
  const imported = node(page, "import_csv");
  await expect(imported).toBeVisible();
  await expect(imported).toContainText("churn.csv");
  // The same bytes as the file already uploaded: the studio says so and stores no second version.
  const note = page.getByRole("list", { name: "Uploads in progress" }).getByRole("status");
  await expect(note).toContainText(/Already uploaded: the same file as churn\.csv uploaded /);
  await page.getByRole("button", { name: "Dismiss" }).click();
  await expect(note).toHaveCount(0);
  await imported.click();
  const form = page.getByTestId("param-panel");
  // Picked by name, not typed as an id: the one churn.csv, no "version 2 of 2".
  await expect(form.getByLabel("Upload", { exact: true }).locator("option:checked")).toHaveText(/^churn\.csv \(CSV, /);

  // The rest from the palette, wired split -> features -> GBDT -> predict -> evaluate, and publish.
  const drops: [string, number, number][] = [
    ["split_random", 140, 180], ["feature_extraction", 140, 300], ["train_gbdt", 140, 420],
    ["predict", 520, 420], ["evaluate_binary", 520, 540], ["publish_model", 560, 250],
  ];
  await dropFromPalette(page, canvas, drops);
  const edges: [string, string, string, string][] = [
    ...TRAIN_AND_EVALUATE_EDGES,
    ["train_gbdt", "model", "publish_model", "model"],
    ["feature_extraction", "feature_state", "publish_model", "feature_state"],
    ["split_random", "second", "publish_model", "table"],
  ];
  await connectAll(page, edges);
  await expect(page.locator(".react-flow__edge")).toHaveCount(edges.length);

  // The label by the column picker (the columns come from the upload's preview: nothing has run yet);
  // `positive` stays at its default, whose rule the form states.
  await node(page, "feature_extraction").click();
  // Left at its default, the label names no column of this file: the panel says so before any run.
  await expect(form.getByRole("status").filter({ hasText: "Label: the input has no column “label”" })).toContainText("churned");
  const label = form.getByLabel("Label", { exact: true });
  const list = await label.getAttribute("list");
  await expect(page.locator(`datalist[id="${list}"] option[value="churned"]`)).toHaveCount(1);
  await label.fill("churned");
  await expect(form.getByText("the input has no column")).toHaveCount(0);
  await expect(form.getByLabel("Positive")).toHaveValue("");
  await expect(form).toContainText("else yes, else the minority class");
  // Evaluate is left alone: its empty label is the one the model was trained on, and nothing warns about it.
  await node(page, "evaluate_binary").click();
  await expect(form.getByLabel("Label", { exact: true })).toHaveValue("");
  await expect(form).toContainText("the label the model was trained on");
  await expect(form.getByText("the input has no column")).toHaveCount(0);
  await node(page, "train_gbdt").click();
  await form.getByLabel("N Estimators").fill("30");
  await node(page, "publish_model").click();
  await form.getByLabel("Deployment").fill("churn-browser");
  await page.screenshot({ path: `${SHOTS}/data-churn-canvas.png` });

  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  await expect(page.getByTestId("log")).toContainText("left out 'Unnamed: 0'");

  // The ROC, and the report says which class was positive.
  await node(page, "evaluate_binary").click();
  await page.getByRole("tab", { name: "Outputs" }).click();
  await page.getByTestId("output-tab-report").click();
  await expect(page.getByTestId("bottom-panel")).toContainText("positive class: 'yes'");
  await expect(page.getByTestId("bottom-panel")).toContainText("true label: column 'churned'");
  // The pipeline's first run: nothing to compare with, and the panel says so instead of an empty picker.
  await expect(page.getByText("No other run of this node to compare with yet.")).toBeVisible();
  await expect(page.getByLabel("Compare with")).toHaveCount(0);
  await page.getByTestId("chart-tab-roc").click();
  const roc = page.getByTestId("plot-roc");
  await expect(roc.locator(".scatterlayer .trace").first()).toBeVisible();
  await expect(roc.locator(".legendtext").first()).toContainText("AUC");
  await page.screenshot({ path: `${SHOTS}/data-churn-roc.png` });
  // The evaluation's model comes through predict's table, nothing is on its model input: no Publish button there
  // (the API would refuse it); the training node has one.
  await expect(page.getByRole("button", { name: "Publish…" })).toHaveCount(0);
  await node(page, "train_gbdt").click();
  await expect(page.getByRole("button", { name: "Publish…" })).toBeVisible();

  // The row-number column is not among the model's inputs; the state's summary says it was left out.
  await node(page, "feature_extraction").click();
  await page.getByTestId("output-tab-feature_state").click();
  await expect(page.getByTestId("bottom-panel")).toContainText("Unnamed: 0");
  const runId = Number((await page.getByTestId("run-status").textContent())!.match(/#(\d+)/)![1]);
  const { state } = await apiCall<{ state: { inputs: { name: string }[]; label_classes: unknown[]; excluded_identifiers: { column: string }[] } }>(
    page, "GET", `/api/runs/${runId}/outputs/feature_extraction/feature_state/`);
  expect(state.inputs.map((i) => i.name).sort()).toEqual(["monthly_fee", "plan", "support_calls", "tenure"]);
  expect(state.excluded_identifiers.map((e) => e.column)).toEqual(["Unnamed: 0"]);
  expect(state.label_classes).toEqual(["no", "yes"]);

  // The published model answers with the class names, to a caller holding a key (a run-published deployment
  // shows none: the user makes one).
  const deployments = await apiCall<{ results: { id: number; name: string }[] }>(page, "GET", "/api/deployments/");
  const deployment = deployments.results.find((d) => d.name === "churn-browser")!;
  const { key } = await apiCall<{ key: string }>(page, "POST", `/api/deployments/${deployment.id}/keys/`, { which: "primary" });
  const served = async (row: Record<string, unknown>) => {
    const r = await fetch(`${process.env.SERVING_URL}/v1/models/churn-browser:predict`, {
      method: "POST", body: JSON.stringify({ instances: [row] }), headers: { Authorization: `Bearer ${key}` } });
    expect(r.status).toBe(200);
    return ((await r.json()) as { predictions: { probability: number; label: string }[] }).predictions[0];
  };
  await expect(async () => {
    const risky = await served({ tenure: 1, monthly_fee: 95.5, plan: "basic", support_calls: 7 });
    const loyal = await served({ tenure: 70, monthly_fee: 25, plan: "pro", support_calls: 0 });
    expect([risky.label, loyal.label]).toEqual(["yes", "no"]);
    expect(risky.probability).toBeGreaterThan(loyal.probability);
  }).toPass({ timeout: 20_000 });
});
