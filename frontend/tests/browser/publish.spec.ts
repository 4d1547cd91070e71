// Issue 7, build items 2 and 7 in the browser: "Publish" on a succeeded run in the run history, and the
// Deployments page (list, versions, rollback, "try it", curl example, serving figures), against the studio and
// the serving process that server.ts starts as supervisord.conf does.
//
// This file is named to run after pipelines.spec.ts (one worker runs the files in alphabetical order): that test
// checks the Deployments page's empty state, which a publish here would end for the rest of the session.
import { execFileSync } from "node:child_process";
import type { Locator, Page } from "@playwright/test";
import { apiCall, createPipeline, expect, expectAccessible, login, node, SHOTS, studioUrl, test, trainedGraph } from "./fixtures";

const NAME = "credit-browser";

const TRAINED = trainedGraph({ trees: 20 });

/** The curl line's JSON body: one row of the live version's held-out rows. */
function curlRow(curl: string): Record<string, string | number | null> {
  const body = curl.match(/-d '(.*)'$/)![1];
  return (JSON.parse(body) as { instances: Record<string, string | number | null>[] }).instances[0];
}

/** Run the copied curl line as a user would paste it into a shell. */
function runCurl(curl: string): { model_version: string; predictions: { probability: number; label: number }[] } {
  return JSON.parse(execFileSync("/bin/sh", ["-c", curl], { encoding: "utf8", timeout: 30_000 }));
}

/** How many pixels of the text box `box` change strongly (nearly black to white) when its underscores become spaces. */
async function pixelsOfUnderscores(page: Page, box: Locator): Promise<number> {
  const value = await box.inputValue();
  const drawn = await box.screenshot({ scale: "css", animations: "disabled" });
  await box.evaluate((el: HTMLInputElement) => { el.value = el.value.replaceAll("_", " "); });
  const spaced = await box.screenshot({ scale: "css", animations: "disabled" });
  await box.evaluate((el: HTMLInputElement, original: string) => { el.value = original; }, value);
  return page.evaluate(async ([a, b]) => {
    const pixels = async (png: string) => {
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext("2d")!;
      context.drawImage(image, 0, 0);
      return context.getImageData(0, 0, canvas.width, canvas.height).data;
    };
    const [x, y] = [await pixels(a), await pixels(b)];
    let changed = 0;
    for (let i = 0; i < x.length; i += 4) {
      if (Math.abs(x[i] - y[i]) + Math.abs(x[i + 1] - y[i + 1]) + Math.abs(x[i + 2] - y[i + 2]) > 300) changed++;
    }
    return changed;
  }, [drawn.toString("base64"), spaced.toString("base64")]);
}

test("publish a succeeded run from the run history; the Deployments page lists it, tries it, shows curl, rolls back", async ({ page }) => {
  await login(page);
  const pipeline = await createPipeline(page, "Publish me", TRAINED);
  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });
  await expect(node(page, "gbdt")).toHaveAttribute("data-status", /^(succeeded|cached)$/);
  const runId = Number((await page.getByTestId("run-status").textContent())!.match(/#(\d+)/)![1]);

  // Publish from the run history: a deployment name, and the run becomes version 1, live.
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  const row = page.getByRole("row", { name: new RegExp(`^#${runId} `) });
  await expect(row.getByRole("cell").nth(4)).toHaveText("succeeded");
  await row.getByRole("button", { name: "Publish…" }).click();
  const form = page.getByRole("form", { name: `Publish run ${runId}` });
  await expect(form.getByRole("button", { name: "Publish", exact: true })).toBeDisabled(); // no name yet
  // The name's rule is checked in the form, as the API checks it (it becomes the URL /v2/models/<name>).
  const nameField = form.getByLabel("Deployment name");
  await nameField.fill("Not A URL Name");
  expect(await nameField.evaluate((el: HTMLInputElement) => el.validity.patternMismatch)).toBe(true);
  await nameField.fill(NAME);
  expect(await nameField.evaluate((el: HTMLInputElement) => el.validity.valid)).toBe(true);
  await expectAccessible(page, "the run history with the publish form");
  await form.getByRole("button", { name: "Publish", exact: true }).click();
  await expect(page).toHaveURL(/\/deployments\/\d+$/);
  const deploymentUrl = page.url();
  await expect(page.getByRole("heading", { name: NAME })).toBeVisible();
  await expect(page.getByTestId("deployment-status")).toContainText("Status: live · live version v1");
  await expect(page.getByTestId("version-row-1")).toContainText("● live");
  await expect(page.getByTestId("version-row-1")).toContainText(String(runId));
  await expect(page.getByTestId("version-row-1")).toContainText("gbdt");

  // The serving process learns of the new version by itself (within 5 s, issue 7); the page asks it on Refresh.
  const serving = page.getByText(/^Serving process answers; live there:/);
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await expect(serving).toHaveText("Serving process answers; live there: v1", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId("deployment-status")).not.toContainText("not reachable");

  // A new deployment's keys, shown once on its page; the page uses the primary one for Try it and curl.
  const key = await page.getByLabel("New primary key").inputValue();
  expect(key).toMatch(/^sk_/);
  // Its underscores show: drawn with spaces in their place, the box loses dark pixels (the box's line was too short
  // for them at 1x, and "sk_y-GH1" read "sk y-GH1").
  const keyBox = page.getByLabel("New primary key");
  expect(await pixelsOfUnderscores(page, keyBox)).toBeGreaterThanOrEqual(4 * key.split("_").length - 4);
  await keyBox.screenshot({ path: `${SHOTS}/new-key-box.png` });
  await expect(page.getByLabel("New secondary key")).toHaveValue(/^sk_/);

  // The curl example: a request to the serving process with a held-out row and the key, which works when pasted
  // in a shell.
  await expect(page.getByText("A held-out row of the live version, with the key this page holds.")).toBeVisible();
  const curl = await page.getByLabel("curl example").inputValue();
  expect(curl).toContain(`curl -s -X POST ${process.env.SERVING_URL}/v1/models/${NAME}:predict`);
  expect(curl).toContain(`'Authorization: Bearer ${key}'`);
  const byCurl = runCurl(curl);
  expect(byCurl.model_version).toBe("1");
  const p = byCurl.predictions[0].probability;
  expect(p).toBeGreaterThan(0);
  expect(p).toBeLessThan(1);

  // "Try it": a form from the input spec; the same row gives the same probability as the curl request.
  const tryIt = page.getByRole("form", { name: "Try it" });
  const heldOut = curlRow(curl);
  const fillTryIt = async () => {
    for (const [column, value] of Object.entries(heldOut)) {
      if (value === null) continue; // an empty field is a null
      const field = tryIt.getByLabel(new RegExp(`^${column} \\(`));
      if ((await field.evaluate((el) => el.tagName)) === "SELECT") await field.selectOption(String(value));
      else await field.fill(String(value));
    }
  };
  // The columns the features left out are not asked for, and the form says so rather than losing them silently.
  await expect(tryIt.getByRole("note").filter({ hasText: "application_date" })).toHaveText(
    "application_date is not used by this model — a date/time: auto mode makes no feature of it. A value sent for it changes nothing.");
  await expect(tryIt.getByRole("note").filter({ hasText: "customer_id" })).toContainText("customer_id is not used by this model — a row identifier: ");
  await expect(tryIt.getByLabel(/^application_date \(/)).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/try-it-left-out.png` });
  // Each field says its type in plain words, not the protocol's datatypes.
  await expect(tryIt.getByLabel(/^age \((number|whole number), required\)$/)).toBeVisible();
  await expect(tryIt.getByText(/\b(FP64|FP32|INT64|BYTES)\b/)).toHaveCount(0);
  // A category's choices in alphabetical order, after the empty choice.
  const regions = (await tryIt.getByLabel(/^region \(/).getByRole("option").allTextContents()).slice(1);
  expect(regions.length).toBeGreaterThan(2);
  expect(regions).toEqual([...regions].sort((a, b) => a.localeCompare(b)));
  // Empty, the form refuses to send and names each required column.
  await tryIt.getByRole("button", { name: "Score" }).click();
  await expect(tryIt.getByText("age is required")).toBeVisible();
  await fillTryIt();
  await tryIt.getByLabel("Explain (per-feature contributions)").check();
  await tryIt.getByRole("button", { name: "Score" }).click();
  const result = page.getByTestId("try-result");
  await expect(result).toContainText(`Probability ${p.toFixed(6)} · label ${byCurl.predictions[0].label}`);
  await expect(result).toContainText("served by v1");
  expect(await result.getByRole("table", { name: "Contributions" }).locator("tbody tr").count()).toBeGreaterThan(0);
  // Scored, the page still has one curl line (not a second look-alike): the values scored, answered as the form was.
  await expect(page.getByText("The values scored above, with the key this page holds.")).toBeVisible();
  await expect(page.getByRole("textbox", { name: /^curl/ })).toHaveCount(1);
  const scored = runCurl(await page.getByLabel("curl example").inputValue());
  expect(scored.predictions[0].probability.toFixed(6)).toBe(p.toFixed(6));
  await expectAccessible(page, "the deployment's page");

  // The request shows in the serving figures (per version, from the serving process's /metrics).
  await page.getByRole("button", { name: "Refresh", exact: true }).click();
  const figures = page.getByRole("table", { name: "Serving figures" });
  await expect(figures.getByRole("row", { name: /^v1 / })).toBeVisible();
  await expect(page.getByTestId("plot-latency").locator(".plot-container")).toBeVisible();

  // A second publish of the run: version 2 goes live.
  await page.goto(`${studioUrl()}/projects/${(await apiCall<{ project: number }>(page, "GET", `/api/pipelines/${pipeline}/`)).project}/runs`);
  await row.getByRole("button", { name: "Publish…" }).click();
  await form.getByLabel("Deployment name").fill(NAME);
  await form.getByRole("button", { name: "Publish", exact: true }).click();
  await expect(page).toHaveURL(deploymentUrl);
  await expect(page.getByTestId("deployment-status")).toContainText("live version v2");
  await expect(page.getByTestId("version-row-2")).toContainText("● live");
  await expect(page.getByTestId("version-row-1")).not.toContainText("● live");

  // The Deployments list: the deployment, live on version 2.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
  const list = page.getByRole("table", { name: "Deployments" });
  const listed = list.getByRole("row", { name: new RegExp(`^${NAME} `) });
  await expect(listed.getByRole("cell").nth(2)).toHaveText("live");
  await expect(listed.getByRole("cell").nth(3)).toHaveText("2");
  await expect(listed).toContainText(`${process.env.SERVING_URL}/v2/models/${NAME}/infer`);
  // The list fits the window: no sideways scrolling (its endpoints ran off the right edge).
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
  await expectAccessible(page, "the deployments list");

  // Roll back to version 1 from the deployment's page: v1 is live again, in the studio and on the serving process.
  await listed.getByRole("link", { name: NAME }).click();
  await expect(page).toHaveURL(deploymentUrl);
  await expect(page.getByRole("button", { name: "Roll back to v2" })).toHaveCount(0); // v2 is the live one
  await page.getByTestId("version-row-1").getByRole("button", { name: "Roll back to v1" }).click();
  await expect(page.getByTestId("deployment-status")).toContainText("live version v1");
  await expect(page.getByTestId("version-row-1")).toContainText("● live");
  await expect(page.getByTestId("version-row-2").getByRole("button", { name: "Make live v2" })).toBeVisible();
  await expect(page.getByRole("table", { name: "History" }).getByRole("row").nth(1)).toContainText("rolled_back");
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await expect(serving).toHaveText("Serving process answers; live there: v1", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await page.getByLabel(/^Endpoint key/).fill(key); // the page was reloaded since: the user pastes the key
  await fillTryIt(); // a new visit to the page: the form starts empty
  await tryIt.getByRole("button", { name: "Score" }).click();
  await expect(result).toContainText("served by v1");
  await expect(result).toContainText(`Probability ${p.toFixed(6)}`);
  const deployment = await apiCall<{ live_version: number; history: { action: string; version: number }[] }>(page, "GET", `/api/deployments/${deploymentUrl.split("/").pop()}/`);
  expect(deployment.live_version).toBe(1);
  expect(deployment.history.map((h) => `${h.action} v${h.version}`)).toEqual(["published v1", "published v2", "rolled_back v1"]);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
  await expect(page.getByRole("table", { name: "Deployments" }).getByRole("row", { name: new RegExp(`^${NAME} `) }).getByRole("cell").nth(3)).toHaveText("1");
});
