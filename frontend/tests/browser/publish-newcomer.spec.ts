// Small things a newcomer tripped on, from their own CSV (a signup date, a yes/no "renewed" label) to a labels file:
// the import node's Rows view shows a date column as dates; the run history's Publish form fits the page at 1280 and
// 1440 px; a request scored with Try it shows in the Feedback section (and the drift report counts it) without a
// reload; a labels CSV whose label column is named after the target ("renewed") is taken.
//
// Named to run after pipelines.spec.ts (files run in alphabetical order), whose test checks the Deployments page's
// empty state, which this test's deployment would end.
import { apiCall, createPipeline, demoProjectId, expect, login, newcomerCsv, node, SHOTS, studioUrl, test, uploadOnDataPage } from "./fixtures";

const NAME = "renewals-newcomer";
const at = (x: number, y: number) => ({ x, y });
const edge = (source: string, sourcePort: string, target: string, targetPort: string) =>
  ({ source, source_port: sourcePort, target, target_port: targetPort });

test("my renewals CSV from the Rows view to a labels file named after the target", async ({ page, consoleErrors }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  const upload = await uploadOnDataPage(page, project, "renewals-newcomer.csv", newcomerCsv(800));
  // A name as a newcomer writes it: the run history's Pipeline column is as wide as it.
  const pipeline = await createPipeline(page, "Customer renewals 2023-2024 from my own CSV (first model)", {
    format: "studio.pipeline/1",
    nodes: [
      { id: "import_csv", operator: "import_csv", params: { upload: String(upload) }, position: at(0, 0) },
      { id: "split_random", operator: "split_random", params: { ratio: 0.7, seed: 3 }, position: at(0, 140) },
      { id: "feature_extraction", operator: "feature_extraction", params: { label: "renewed" }, position: at(0, 280) },
      { id: "train_gbdt", operator: "train_gbdt", params: { n_estimators: 20, num_threads: 1 }, position: at(0, 420) },
    ],
    edges: [
      edge("import_csv", "table", "split_random", "table"), edge("split_random", "first", "feature_extraction", "table"),
      edge("feature_extraction", "features", "train_gbdt", "features"),
    ],
  });
  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  const runId = Number((await page.getByTestId("run-status").textContent())!.match(/#(\d+)/)![1]);

  // The import node's rows: the signup date as 2024-01-10, not 2024-01-10T00:00:00.000.
  await node(page, "import_csv").click();
  await page.getByRole("tab", { name: "Outputs", exact: true }).click();
  const rows = page.getByTestId("outputs").getByRole("region", { name: "Rows" });
  await expect(rows.getByRole("columnheader", { name: "signup_date" })).toBeVisible();
  await expect(rows.locator("tbody tr")).toHaveCount(50);
  const headers = await rows.getByRole("columnheader").allTextContents();
  const dateAt = headers.indexOf("signup_date");
  expect(dateAt).toBeGreaterThan(0);
  const dates = await rows.locator("tbody tr").locator(`td:nth-child(${dateAt + 1})`).allTextContents();
  expect(dates.length).toBe(50);
  for (const d of dates) expect(d).toMatch(/^20\d\d-\d\d-\d\d$/);
  await page.getByTestId("outputs").screenshot({ path: `${SHOTS}/newcomer-rows-dates.png` });

  // The run history's Publish form: its name box and buttons inside the window at a laptop's widths, without
  // scrolling the page sideways.
  await page.goto(`${studioUrl()}/projects/${project}/runs`);
  const row = page.getByRole("row", { name: new RegExp(`^#${runId} `) });
  const form = page.getByRole("form", { name: `Publish run ${runId}` });
  for (const width of [1280, 1440]) {
    await page.setViewportSize({ width, height: 900 });
    const nav = (await page.getByRole("navigation", { name: "Main" }).boundingBox())!;
    await row.getByRole("button", { name: "Publish…" }).click();
    for (const control of [form.getByLabel("Deployment name"), form.getByRole("button", { name: "Publish", exact: true }),
      form.getByRole("button", { name: "Cancel" }), row.getByRole("link", { name: `#${runId}` }), row.getByRole("button", { name: "Publish…" })]) {
      const box = (await control.boundingBox())!;
      expect(box.x, `left edge at ${width} px`).toBeGreaterThanOrEqual(nav.x + nav.width); // no sideways scroll
      expect(box.x + box.width, `right edge at ${width} px`).toBeLessThanOrEqual(width);
    }
    await page.screenshot({ path: `${SHOTS}/publish-form-${width}.png` });
    if (width === 1280) await form.getByRole("button", { name: "Cancel" }).click();
  }
  await expect(form).toHaveCount(1);
  await form.getByLabel("Deployment name").fill(NAME);
  await form.getByRole("button", { name: "Publish", exact: true }).click();
  await expect(page).toHaveURL(/\/deployments\/\d+$/);
  const deploymentUrl = page.url();
  const key = await page.getByLabel("New primary key").inputValue();

  // The page again with a clock the test moves: no timer of the page fires but those the test lets run.
  await page.clock.install();
  await page.goto(deploymentUrl);
  await page.getByLabel(/^Endpoint key/).fill(key);
  await expect(page.getByText("Serving process answers; live there: v1")).toBeVisible({ timeout: 20_000 });
  const feedback = page.getByRole("region", { name: "Closed loop" });
  await expect(feedback.getByText(/^No served request in the prediction log yet/)).toBeVisible();
  await expect(feedback.getByText("Version v1 served no rows in the window.")).toBeVisible();
  await page.clock.pauseAt(Date.now() + 60_000);
  // Asked just now: the page's next own ask is SERVED_POLL_MS (10 s) of the page's clock away.
  const asked = page.waitForResponse((r) => r.url().includes("/served/"));
  await feedback.getByRole("button", { name: "Refresh requests" }).click();
  await asked;

  const tryIt = page.getByRole("form", { name: "Try it" });
  const curl = await page.getByLabel("curl example").inputValue();
  const instance = (JSON.parse(curl.match(/-d '(.*)'$/)![1]) as { instances: Record<string, unknown>[] }).instances[0];
  for (const [column, value] of Object.entries(instance)) {
    if (value === null) continue;
    const field = tryIt.getByLabel(new RegExp(`^${column} \\(`));
    if ((await field.count()) === 0) continue;
    if ((await field.evaluate((el) => el.tagName)) === "SELECT") await field.selectOption(String(value));
    else await field.fill(String(value));
  }
  const answered = page.waitForResponse((r) => r.url().includes("/try/"));
  await tryIt.getByRole("button", { name: "Score" }).click();
  const requestId = ((await (await answered).json()) as { id: string }).id;
  await expect(page.getByTestId("try-result")).toContainText("served by v1");
  // The serving process writes its log about once a second: wait until the log holds the request...
  const deploymentId = deploymentUrl.split("/").pop();
  await expect.poll(async () => (await apiCall<{ requests: { request_id: string }[] }>(
    page, "GET", `/api/deployments/${deploymentId}/served/?limit=5`)).requests.map((r) => r.request_id), { timeout: 20_000 }).toContain(requestId);
  // ...then one second of the page's clock: the Feedback section asks again and shows it, with no reload and well
  // before its 10 s poll, and the drift report counts the row.
  await page.clock.runFor(1_000);
  const recent = feedback.getByRole("table", { name: /Recent requests/ });
  await expect(recent.getByRole("row").nth(1).getByRole("cell").first()).toHaveText(requestId, { timeout: 5_000 });
  await expect(feedback.getByText(/^No served request/)).toHaveCount(0);
  await expect(feedback.getByTestId("drift-summary")).toHaveText(/^v1: 1 served row;/, { timeout: 5_000 }); // not "1 served rows"
  await expect(recent.locator("caption")).toHaveText("The last request the prediction log kept");
  // One row says nothing of drift: the summary and the chart's title say so, and no input reads "drift" in red.
  await expect(feedback.getByTestId("drift-summary")).toContainText("Too few to judge drift: PSI needs at least 100 served rows.");
  await expect(feedback.getByText("Input drift (PSI) over 1 served row: too few to judge (drift needs at least 100)", { exact: true })).toBeVisible();
  const readings = feedback.getByRole("table", { name: "Drift per input" }).getByRole("row");
  await expect(readings.nth(1).getByRole("cell").nth(2)).toHaveText("too few rows");
  await feedback.screenshot({ path: `${SHOTS}/feedback-after-try-it.png` });

  // A labels file whose label column is named after the target, as the newcomer's own table names it.
  const upload2 = feedback.getByRole("form", { name: "Upload labels" });
  // The file field's label says the label column may be named after the target (it said "request_id, row, label").
  const field = upload2.getByLabel("Labels CSV (request_id, row, and label or renewed)");
  // A file with the target's column twice (a spreadsheet's copy of it) is refused naming the line; it was stored,
  // the later column's label taken silently.
  await field.setInputFiles({
    name: "twice.csv", mimeType: "text/csv", buffer: Buffer.from(`request_id,renewed,row,renewed\n${requestId},yes,0,no\n`) });
  await upload2.getByRole("button", { name: "Upload labels" }).click();
  await expect(upload2.getByRole("alert")).toHaveText("line 1: the column 'renewed' is named twice in the header");
  await feedback.screenshot({ path: `${SHOTS}/feedback-labels-refused.png` });
  expect(consoleErrors).toEqual([expect.stringContaining("status of 400")]); // the refused upload's answer
  consoleErrors.length = 0;
  await field.setInputFiles({
    name: "renewed.csv", mimeType: "text/csv", buffer: Buffer.from(`request_id,row,renewed\n${requestId},0,yes\n`) });
  await upload2.getByRole("button", { name: "Upload labels" }).click();
  await expect(upload2.getByRole("status")).toHaveText("1 stored (1 new, 0 replaced)");
  await expect(feedback.getByTestId("feedback-total")).toContainText("Labels received: 1");
});
