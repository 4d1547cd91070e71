// Issue 22 in the browser: with keys required by the serving process (the default), paste a deployment's key,
// start a canary at 10% from the deployment page, see both versions' live figures, promote the canary, and call
// the copied curl line, key included, as a user would in a shell.
import { execFileSync } from "node:child_process";
import { apiCall, createPipeline, expect, expectAccessible, login, studioUrl, test, trainedGraph } from "./fixtures";

const NAME = "credit-canary";

const TRAINED = trainedGraph();

type Answer = { model_version?: string; error?: string };

/** The copied curl line, run in a shell; `requestId` adds the sticky request id header. */
function runCurl(curl: string, requestId?: string): Answer {
  const line = requestId ? curl.replace("curl -s ", `curl -s -H 'X-Request-Id: ${requestId}' `) : curl;
  return JSON.parse(execFileSync("/bin/sh", ["-c", line], { encoding: "utf8", timeout: 30_000 }));
}

test("canary at 10% from the deployment page, both versions' figures, promote; the curl line carries the key", async ({ page }) => {
  await login(page);
  const pipeline = await createPipeline(page, "Canary me", TRAINED);
  const run = await apiCall<{ id: number }>(page, "POST", "/api/runs/", { pipeline });
  await expect(async () => {
    const state = await apiCall<{ status: string }>(page, "GET", `/api/runs/${run.id}/`);
    expect(state.status).toBe("succeeded");
  }).toPass({ timeout: 150_000 });
  const first = await apiCall<{ id: number; new_keys: { primary: string } }>(page, "POST", "/api/deployments/publish/", { run: run.id, name: NAME });
  await apiCall(page, "POST", "/api/deployments/publish/", { run: run.id, name: NAME }); // v2, live alone
  const key = first.new_keys.primary;

  await page.goto(`${studioUrl()}/deployments/${first.id}`);
  await expect(page.getByTestId("traffic")).toHaveText("Traffic: v2 100%");
  await page.getByTestId("version-row-1").getByRole("button", { name: "Roll back to v1" }).click();
  await expect(page.getByTestId("traffic")).toHaveText("Traffic: v1 100%");

  // Without the key, the curl line is refused; with the key pasted, it carries it.
  const curlBox = page.getByLabel("curl example");
  await expect(curlBox).toHaveValue(/\$SERVING_KEY/);
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await expect(page.getByText(/^Serving process answers; live there:/)).toHaveText("Serving process answers; live there: v1", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  expect(runCurl(await curlBox.inputValue()).error).toContain("key");
  await page.getByLabel(/^Endpoint key/).fill(key);
  await expect(curlBox).toHaveValue(new RegExp(`Bearer ${key}`));

  // The canary: v2 at 10% of traffic, from the page.
  const canary = page.getByRole("form", { name: "Canary" });
  await expect(canary.getByLabel("Canary version").getByRole("option")).toHaveText(["v2"]); // not the live v1
  await canary.getByLabel("Canary version").selectOption("2");
  await canary.getByLabel("at percent").fill("10");
  await canary.getByRole("button", { name: "Start canary" }).click();
  await expect(page.getByTestId("traffic")).toHaveText("Traffic: v1 90% · v2 10%");
  await expect(page.getByRole("table", { name: "History" }).getByRole("row").nth(1)).toContainText("canary (v1 90% / v2 10%)");
  await expectAccessible(page, "the deployment page with a canary");

  // Traffic through the copied curl line, with sticky request ids: both versions answer, each id always the same.
  const curl = await curlBox.inputValue();
  const ids = Array.from({ length: 60 }, (_, i) => `browser-${i}`);
  let byId: Record<string, string | undefined> = {};
  await expect(async () => {
    byId = Object.fromEntries(ids.map((id) => [id, runCurl(curl, id).model_version]));
    expect(new Set(Object.values(byId))).toEqual(new Set(["1", "2"]));
  }).toPass({ timeout: 15_000 });
  for (const id of ids.slice(0, 10)) expect(runCurl(curl, id).model_version).toBe(byId[id]);

  // Both versions' live figures: requests, latency and score distribution per version.
  await page.getByRole("button", { name: "Refresh", exact: true }).click();
  const figures = page.getByRole("table", { name: "Serving figures" });
  await expect(figures.getByRole("row", { name: /^v1 / })).toBeVisible();
  await expect(figures.getByRole("row", { name: /^v2 / })).toBeVisible();
  for (const plot of ["requests", "latency", "scores"]) {
    await expect(page.getByTestId(`plot-${plot}`).locator(".plot-container")).toBeVisible();
  }
  await expect(page.getByTestId("plot-scores").locator(".legendtext", { hasText: "v2" })).toBeVisible();

  // Promote the canary: v2 takes all traffic, and the curl line is answered by v2.
  await page.getByRole("button", { name: "Promote v2 to 100%" }).click();
  await expect(page.getByTestId("traffic")).toHaveText("Traffic: v2 100%");
  await expect(async () => {
    expect(new Set(ids.slice(0, 20).map((id) => runCurl(curl, id).model_version))).toEqual(new Set(["2"]));
  }).toPass({ timeout: 15_000 });
  const deployment = await apiCall<{ live_version: number; traffic: Record<string, number> }>(page, "GET", `/api/deployments/${first.id}/`);
  expect(deployment).toMatchObject({ live_version: 2, traffic: { "2": 100 } });
});
