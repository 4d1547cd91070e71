// Issue 17 in the browser: after the closed loop runs end to end (publish_if_better publishes v1, rows are served,
// labels posted, a retrain from the prediction log keeps the champion), the deployment page shows the labels,
// the drift chart and the decision history.
//
// Named to run after pipelines.spec.ts (files run in alphabetical order), whose test checks the Deployments
// page's empty state, which this test's deployment would end.
import type { Page } from "@playwright/test";
import { apiCall, createPipeline, expect, expectAccessible, login, SHOTS, test } from "./fixtures";

const NAME = "loop-browser";
const META = ["request_id", "row", "version", "time", "served_probability", "served_label"];

const nodeAt = (id: string, operator: string, params: Record<string, unknown>, y: number) => ({ id, operator, params, position: { x: 0, y } });
const edge = (source: string, sourcePort: string, target: string, targetPort: string) =>
  ({ source, source_port: sourcePort, target, target_port: targetPort });

function graph(first: ReturnType<typeof nodeAt>, label: string, exclude: string[], margin: number) {
  return {
    nodes: [
      first,
      nodeAt("split", "split_random", { ratio: 0.6, seed: 2 }, 150),
      nodeAt("features", "feature_extraction", { label, exclude }, 300),
      nodeAt("gbdt", "train_gbdt", { n_estimators: 20, num_threads: 1 }, 450),
      nodeAt("decide", "publish_if_better", { deployment: NAME, label_column: label, min_margin: margin }, 600),
    ],
    edges: [
      edge("source", "table", "split", "table"), edge("split", "first", "features", "table"),
      edge("features", "features", "gbdt", "features"), edge("gbdt", "model", "decide", "model"),
      edge("features", "feature_state", "decide", "feature_state"), edge("split", "second", "decide", "table"),
    ],
  };
}

async function runToEnd(page: Page, name: string, g: unknown) {
  const pipeline = await createPipeline(page, name, g);
  const run = await apiCall<{ id: number }>(page, "POST", "/api/runs/", { pipeline });
  await expect(async () => {
    const state = await apiCall<{ status: string }>(page, "GET", `/api/runs/${run.id}/`);
    expect(state.status).toBe("succeeded");
  }).toPass({ timeout: 150_000 });
}

test("the deployment page shows labels, the drift chart and the decision history after the loop ran", async ({ page }) => {
  await login(page);
  const first = nodeAt("source", "sample_credit_default", { n_rows: 3000, seed: 5 }, 0);
  await runToEnd(page, "Loop v1", graph(first, "default", ["customer_id", "application_date"], 0));
  const list = await apiCall<{ results: { id: number; name: string; input_spec: { name: string; datatype: string }[] }[] }>(
    page, "GET", "/api/deployments/");
  const deployment = list.results.find((d) => d.name === NAME)!;

  // 400 rows served by the serving process: the held-out row of the curl example, its numbers varied.
  const serving = await apiCall<{ curl: string }>(page, "GET", `/api/deployments/${deployment.id}/serving/`);
  const row = (JSON.parse(serving.curl.match(/-d '(.*)'$/)![1]) as { instances: Record<string, unknown>[] }).instances[0];
  // A deployment published by a run shows no key: the user makes one (the serving process requires keys).
  const { key } = await apiCall<{ key: string }>(page, "POST", `/api/deployments/${deployment.id}/keys/`, { which: "primary" });
  const headers = { Authorization: `Bearer ${key}` };
  await expect(async () => {
    const probe = await page.request.get(`${process.env.SERVING_URL}/v2/models/${NAME}/ready`, { headers, failOnStatusCode: false });
    expect(probe.status()).toBe(200);
  }).toPass({ timeout: 15_000 });
  const labels: { request_id: string; row: number; label: number }[] = [];
  for (let r = 0; r < 4; r++) {
    const instances = Array.from({ length: 100 }, (_, i) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "number" ? v * (0.5 + ((i * 37 + r * 11) % 100) / 100) : v])));
    const answer = await page.request.post(`${process.env.SERVING_URL}/v1/models/${NAME}:predict`, { data: { instances }, headers });
    expect(answer.ok()).toBe(true);
    const id = ((await answer.json()) as { id: string }).id;
    instances.forEach((_, i) => labels.push({ request_id: id, row: i, label: (i * 7 + r) % 3 === 0 ? 1 : 0 }));
  }
  // The serving process writes its log about once a second: post until every label lands.
  await expect(async () => {
    const stored = await apiCall<{ stored: number }>(page, "POST", `/api/deployments/${NAME}/feedback/`, { labels });
    expect(stored.stored).toBe(400);
  }).toPass({ timeout: 20_000 });

  // Retrain from the prediction log; a margin no challenger can reach keeps v1 live.
  const fromLog = nodeAt("source", "import_prediction_log", { deployment: NAME, last_days: 1, labeled_only: true }, 0);
  await runToEnd(page, "Loop retrain", graph(fromLog, "label", META, 0.9));

  await page.goto(`${process.env.STUDIO_URL}/deployments/${deployment.id}`);
  await expect(page.getByRole("heading", { name: NAME })).toBeVisible();
  await expect(page.getByTestId("feedback-total")).toContainText("Labels received: 400");
  await expect(page.getByRole("heading", { name: "Drift" })).toBeVisible();
  await expect(page.getByTestId("drift-summary")).toContainText("v1: 400 served rows");
  await expect(page.getByLabel("drift chart").locator(".main-svg").first()).toBeVisible();
  const driftTable = page.getByRole("table", { name: "Drift per input" });
  await expect(driftTable.getByRole("row")).toHaveCount(deployment.input_spec.length + 1);
  await expect(page.getByLabel("live metrics chart")).toBeVisible();

  // The served requests, whose ids a labels file names (the page showed none), newest first, and a labels CSV of
  // them to fill in: one line per served row.
  const recent = page.getByRole("table", { name: /Recent requests/ });
  const ids = [...new Set(labels.map((l) => l.request_id))].reverse();
  await expect(recent.getByRole("row")).toHaveCount(ids.length + 1);
  await expect(recent.getByRole("row").nth(1).getByRole("cell").first()).toHaveText(ids[0]);
  await expect(recent.getByRole("row").nth(1).getByRole("cell").nth(3)).toHaveText("100");
  const template = await page.getByRole("link", { name: "Download a labels CSV of these requests" }).getAttribute("href");
  const lines = decodeURIComponent(template!.slice(template!.indexOf(",") + 1)).trim().split("\n");
  expect(lines.length).toBe(401);
  expect(lines.slice(0, 3)).toEqual(["request_id,row,label", `${ids[0]},0,`, `${ids[0]},1,`]);
  await recent.screenshot({ path: `${SHOTS}/deployment-recent-requests.png` });

  // A request served while the page is open: Refresh requests asks the log again, and the new id tops the table
  // (the serving process writes its log about once a second, so ask until it is there).
  const more = await page.request.post(`${process.env.SERVING_URL}/v1/models/${NAME}:predict`, { data: { instances: [row] }, headers });
  const newest = ((await more.json()) as { id: string }).id;
  await expect(async () => {
    const asked = page.waitForRequest((r) => r.url().includes(`/api/deployments/${deployment.id}/served/`));
    await page.getByRole("button", { name: "Refresh requests" }).click();
    await asked;
    await expect(recent.getByRole("row").nth(1).getByRole("cell").first()).toHaveText(newest, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(recent.getByRole("row")).toHaveCount(ids.length + 2);
  await expect(recent.getByRole("row").nth(1).getByRole("cell").nth(3)).toHaveText("1");

  const decisions = page.getByRole("table", { name: "Decision history" });
  await expect(decisions.getByRole("row")).toHaveCount(3);
  await expect(decisions.getByRole("row").nth(1)).toContainText("kept champion");
  await expect(decisions.getByRole("row").nth(1)).toContainText("does not beat champion");
  await expect(decisions.getByRole("row").nth(2)).toContainText("published v1");
  await expect(decisions.getByRole("row").nth(2)).toContainText("no live version");
  await expectAccessible(page, "the deployment page with the closed loop");
  await page.getByRole("heading", { name: "Feedback" }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/deployment-closed-loop.png`, fullPage: true });

  // Labels as a CSV through the page: a repeated label replaces, an unknown request id is reported.
  const csv = `request_id,row,label\n${labels[0].request_id},0,1\n${labels[0].request_id},1,1\nnot-served,0,1\n`;
  const upload = page.getByRole("form", { name: "Upload labels" });
  await upload.getByLabel(/Labels CSV/).setInputFiles({ name: "labels.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await upload.getByRole("button", { name: "Upload labels" }).click();
  await expect(upload.getByRole("status")).toHaveText("2 stored (0 new, 2 replaced); 1 unknown request ids");
  await expect(page.getByTestId("feedback-total")).toContainText("Labels received: 400");
});
