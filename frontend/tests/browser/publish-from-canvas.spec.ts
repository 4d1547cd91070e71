// Issue 15 in the browser, as a person works: everything found by role, label and visible text (no test ids).
// The demo pipeline's graph in the demo project: edit list and mapping parameters through their visible Add and
// Remove buttons, click every node with the parameter panel open without moving the view, run, read the ROC chart
// in the maximized results panel and the two models' metrics side by side, publish the GBDT node from the canvas,
// and call the deployment with the curl line of a try-it form filled with non-default values.
//
// Named to run after pipelines.spec.ts (which checks the Deployments page's empty state) and before publish.spec.ts:
// the empty state is checked here too (it lists this run's models), before this file publishes.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Locator, Page } from "@playwright/test";
import { apiCall, createPipeline, expect, expectAccessible, login, SHOTS, studioUrl, test } from "./fixtures";
import { REPO } from "./server";

const DEMO = JSON.parse(readFileSync(path.join(REPO, "examples/credit_default.json"), "utf8"));
// The example's nodes by the names they show (its labels, else their ids).
const NODES = ["Applications", "Train / test", "Features (auto)", "GBDT", "Logistic regression", "predict_gbdt", "predict_lr", "GBDT vs LR"];

const canvas = (page: Page) => page.getByRole("region", { name: "Pipeline canvas" });
/** A node by its visible title on the canvas (a training node's title and operator read alike: the first). */
const nodeTitled = (page: Page, title: string) => canvas(page).getByText(title, { exact: true }).first();
const panel = (page: Page) => page.getByRole("complementary", { name: "Parameters" });
const viewport = (page: Page) => page.locator(".react-flow__viewport").getAttribute("style");

async function latestVersion(page: Page, id: number): Promise<number> {
  return (await apiCall<{ latest: { number: number } }>(page, "GET", `/api/pipelines/${id}/`)).latest.number;
}

/** A control a person can see and read: on screen, with a size, and its text showing. */
async function expectReadable(control: Locator, text: string | RegExp) {
  await expect(control).toBeVisible();
  await expect(control).toHaveText(text);
  const box = (await control.boundingBox())!;
  expect(box.width).toBeGreaterThan(30);
  expect(box.height).toBeGreaterThan(12);
}

/** Non-default values for the try-it form, by column: a person's own applicant, not the held-out example row. */
const VALUES: Record<string, string> = {
  customer_id: "777", age: "33", income: "81234.5", debt_ratio: "0.61", credit_limit: "12000", late_payments: "4",
  months_employed: "7", application_date: "2024-03-01",
};

test("a person edits lists and mappings, clicks every node with the panel open, runs, reads the charts and publishes from the canvas", async ({ page }) => {
  test.setTimeout(420_000);
  await login(page);
  const id = await createPipeline(page, "Credit scoring", DEMO);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(page.getByRole("heading", { name: "Credit scoring" })).toBeVisible();
  await expect(page.getByText(`Saved version v${await latestVersion(page, id)}`, { exact: true })).toBeVisible();

  // With the parameter panel open, every node of the 8-node pipeline takes a click, and the view does not move.
  await nodeTitled(page, "Applications").click();
  await expect(panel(page).getByRole("heading", { name: "Applications" })).toBeVisible();
  const before = await viewport(page);
  for (const title of NODES) {
    await nodeTitled(page, title).click(); // fails when the minimap (or anything) covers the node
    await expect(panel(page).getByRole("heading", { name: title, exact: true })).toBeVisible();
  }
  expect(await viewport(page)).toBe(before);
  await expect(page.getByText("All changes saved")).toBeVisible(); // looking at nodes changes nothing
  await page.screenshot({ path: `${SHOTS}/issue15-canvas-panel-open.png` });
  await expectAccessible(page, "the canvas with the parameter panel open");

  // A mapping (Column Types): the visible Add button adds a row whose key is a column, its value a type.
  await nodeTitled(page, "Applications").click();
  const addType = panel(page).getByRole("button", { name: "Add Column Types entry" });
  await expectReadable(addType, "+ Add");
  await addType.click();
  const key = panel(page).getByLabel("Column", { exact: true });
  await key.fill("region");
  await key.press("Tab"); // the key is renamed when the field loses focus
  await expect(panel(page).getByRole("combobox", { name: "region" }).locator("option:checked")).toHaveText("number"); // a valid first choice
  await panel(page).getByRole("combobox", { name: "region" }).selectOption("category");
  await expect(panel(page).locator(".has-error")).toHaveCount(0); // no row starts in error
  await expectReadable(panel(page).getByRole("button", { name: "Remove Column Types Region" }), "✕ Remove");

  // A list (Exclude): add an entry, then take it out again with its visible Remove button.
  await nodeTitled(page, "Features (auto)").click();
  const addExclude = panel(page).getByRole("button", { name: "Add Exclude entry" });
  await expectReadable(addExclude, "+ Add");
  await addExclude.click();
  const exclude = panel(page).getByRole("group", { name: "Exclude" });
  await exclude.locator("input").last().fill("months_employed");
  const remove = panel(page).getByRole("button", { name: "Remove Exclude 3" });
  await expectReadable(remove, "✕ Remove");
  await remove.click();
  await expect(panel(page).getByRole("button", { name: "Remove Exclude 3" })).toHaveCount(0);

  // Save with a message: the header names the new version, and the history shows the message.
  await page.getByLabel("Version message (optional)").fill("region read as a category");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("All changes saved")).toBeVisible();
  const saved = await latestVersion(page, id);
  await expect(page.getByText(`Saved version v${saved}`, { exact: true })).toBeVisible();
  const graph = await apiCall<{ latest: { message: string; graph: { nodes: { id: string; params: Record<string, unknown> }[] } } }>(page, "GET", `/api/pipelines/${id}/`);
  expect(graph.latest.message).toBe("region read as a category");
  expect(graph.latest.graph.nodes.find((n) => n.id === "import")!.params.column_types).toEqual({ region: "category" });
  expect(graph.latest.graph.nodes.find((n) => n.id === "features")!.params.exclude).toEqual(["customer_id", "application_date"]);

  // Run all; the evaluation opens on its charts, ROC first, readable in the maximized results panel.
  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(/^Run #\d+: succeeded$/)).toBeVisible({ timeout: 240_000 });
  const runId = Number((await page.getByText(/^Run #\d+: succeeded$/).textContent())!.match(/#(\d+)/)![1]);
  await nodeTitled(page, "GBDT vs LR").click();
  await page.getByRole("tab", { name: "Outputs" }).click();
  await expect(page.getByRole("tab", { name: "Charts" })).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tablist", { name: "Charts" }).getByRole("tab").first()).toHaveText("ROC");
  await expect(page.getByRole("tab", { name: "ROC" })).toHaveAttribute("aria-selected", "true");
  await page.getByRole("button", { name: "Maximize results" }).click();
  const roc = page.getByRole("figure", { name: "ROC chart" });
  await expect(roc.locator(".main-svg").first()).toBeVisible();
  const box = (await roc.boundingBox())!;
  const size = page.viewportSize()!;
  expect(box.y + box.height).toBeLessThanOrEqual(size.height); // the whole chart shows, nothing cut off
  await page.screenshot({ path: `${SHOTS}/issue15-maximized-roc.png` });
  await expectAccessible(page, "the maximized results panel");

  // Feature importance: a horizontal bar chart whose labels are not clipped.
  await page.getByRole("tab", { name: "Feature importance" }).click();
  await expect(page.getByRole("figure", { name: "Feature importance chart" }).locator(".main-svg").first()).toBeVisible();

  // The two models' metrics as columns side by side, the better value marked.
  await page.getByRole("tab", { name: "Metrics" }).click();
  const metrics = page.getByRole("table", { name: "Metrics of both models" }).first();
  await expect(metrics.getByRole("columnheader", { name: "GBDT" })).toBeVisible();
  await expect(metrics.getByRole("columnheader", { name: "LR" })).toBeVisible();
  await expect(metrics.getByRole("row", { name: /^auc / })).toContainText("★");
  await page.screenshot({ path: `${SHOTS}/issue15-metrics-side-by-side.png` });
  await page.getByRole("button", { name: "Restore size" }).click();

  // The model's output is a readable summary, its raw JSON behind a toggle.
  await nodeTitled(page, "GBDT").click();
  await expect(page.getByText("Gradient-boosted trees (LightGBM)", { exact: true })).toBeVisible();
  await expect(page.getByRole("table", { name: "Top features" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Show raw JSON" })).toBeVisible();

  await expect(page.getByText("All changes saved")).toBeVisible(); // reading results changes nothing either

  // The Deployments page, empty, lists this run's trained models with a Publish button each.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
  const ready = page.getByRole("table", { name: "Models ready to publish" });
  await expect(ready.getByRole("button", { name: `Publish train_gbdt of run #${runId}` })).toBeVisible();
  await expect(ready.getByRole("button", { name: `Publish train_lr of run #${runId}` })).toBeVisible();
  await expect(ready.getByRole("row", { name: new RegExp(`Credit scoring #${runId} train_gbdt`) })).toBeVisible();
  await page.goBack();

  // Publish the GBDT node from the canvas: the dialog asks only for the name, prefilled from the pipeline's.
  await nodeTitled(page, "GBDT").click();
  await panel(page).getByRole("button", { name: "Publish…" }).click();
  const dialog = page.getByRole("dialog", { name: "Publish model" });
  await expect(dialog.getByLabel("Deployment name")).toHaveValue("credit-scoring");
  await expect(dialog.getByRole("textbox")).toHaveCount(1);
  await page.screenshot({ path: `${SHOTS}/issue15-publish-dialog.png` });
  await dialog.getByRole("button", { name: "Publish", exact: true }).click();

  // The deployment page follows the serving process by itself: no Refresh.
  await expect(page).toHaveURL(/\/deployments\/\d+$/);
  await expect(page.getByRole("heading", { name: "credit-scoring" })).toBeVisible();
  await expect(page.getByText("Serving process answers; live there: v1")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("row", { name: /^v1 / })).toContainText("train_gbdt");

  // Try it with non-default values, then the curl line of those values gives the same probability.
  const form = page.getByRole("form", { name: "Try it" });
  const fields = form.locator("label.field");
  for (let i = 0; i < (await fields.count()); i++) {
    const label = fields.nth(i);
    const column = (await label.locator("span").first().textContent())!.split(" (")[0];
    const select = label.locator("select");
    if (await select.count()) {
      const options = await select.locator("option").allTextContents();
      await select.selectOption(options[options.length - 1]);
    } else {
      await label.locator("input").fill(VALUES[column] ?? "1");
    }
  }
  await form.getByRole("button", { name: "Score" }).click();
  const result = form.getByText(/^Probability \d\.\d{6}/);
  await expect(result).toBeVisible();
  const shown = (await result.textContent())!.match(/Probability (\d\.\d{6})/)![1];
  // The page's one curl line now carries the values scored, and pasted in a shell it gives the same probability.
  await expect(page.getByText("The values scored above, with the key this page holds.")).toBeVisible();
  const curl = await page.getByLabel("curl example").inputValue();
  expect(curl).toContain(`"age":33`);
  const answer = JSON.parse(execFileSync("/bin/sh", ["-c", curl], { encoding: "utf8", timeout: 30_000 }));
  expect(answer.predictions[0].probability.toFixed(6)).toBe(shown);
  await expectAccessible(page, "the deployment page");
});

test("unsaved changes: leaving asks, a closed page's draft is offered, the header follows saves and Run all; Run selected runs beside an invalid node", async ({ page, context }) => {
  await login(page);
  const id = await createPipeline(page, "Half broken", {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: {}, position: { x: -150, y: 150 } },
      { id: "split_bad", operator: "split_random", params: { ratio: 1.5 }, position: { x: 150, y: 150 } },
    ],
    edges: [
      { source: "import", source_port: "table", target: "split", target_port: "table" },
      { source: "import", source_port: "table", target: "split_bad", target_port: "table" },
    ],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(canvas(page).getByText(/ratio/).first()).toBeVisible(); // the invalid node is marked

  // An unsaved edit, then the side navigation: the page asks, and staying keeps the edit.
  await nodeTitled(page, "split").click();
  await panel(page).getByLabel("Name on the canvas").fill("train and test");
  await expect(page.getByText("● Unsaved changes")).toBeVisible();
  const asked = new Promise<string>((resolve) => page.once("dialog", (d) => { resolve(d.message()); void d.dismiss(); }));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).click();
  expect(await asked).toContain("unsaved changes");
  await expect(page).toHaveURL(new RegExp(`/pipelines/${id}$`));
  await expect(nodeTitled(page, "train and test")).toBeVisible();

  // A crash-like close (no save, no prompt): opened again, the page offers the draft, and restoring brings it back.
  await page.waitForFunction((pid) => window.localStorage.getItem(`studio.draft.pipeline.${pid}`)?.includes("train and test"), id);
  const again = await context.newPage();
  await page.close({ runBeforeUnload: false });
  await again.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(again.getByRole("alert").filter({ hasText: "were kept in this browser" })).toBeVisible();
  await again.getByRole("button", { name: "Restore draft" }).click();
  await expect(nodeTitled(again, "train and test")).toBeVisible();
  await expect(again.getByText("● Unsaved changes")).toBeVisible();

  // Save: the header names the API's latest version.
  await again.getByRole("button", { name: "Save", exact: true }).click();
  await expect(again.getByText("All changes saved")).toBeVisible();
  await expect(again.getByText(`Saved version v${await latestVersion(again, id)}`, { exact: true })).toBeVisible();

  // Run selected on the valid node runs, while split_bad is invalid.
  await nodeTitled(again, "train and test").click();
  await again.getByRole("button", { name: "Run selected" }).click();
  await expect(again.getByText(/^Run #\d+: succeeded$/)).toBeVisible({ timeout: 120_000 });

  // An edit and Run all: saved first (the header and the toolbar follow), then refused with the node marked.
  await nodeTitled(again, "import").click();
  await panel(again).getByLabel("Name on the canvas").fill("credit file");
  const before = await latestVersion(again, id);
  await again.getByRole("button", { name: "Run all" }).click();
  await expect(again.getByRole("alert").filter({ hasText: "Not run: the pipeline has 1 validation error(s)" })).toBeVisible();
  await expect(again.getByText("All changes saved")).toBeVisible();
  expect(await latestVersion(again, id)).toBe(before + 1);
  await expect(again.getByText(`Saved version v${before + 1}`, { exact: true })).toBeVisible();
  await expect(canvas(again).getByText(/ratio/).first()).toBeVisible();

  // The version history shows the field-by-field change of the label.
  await again.getByRole("button", { name: "Version history" }).click();
  const table = again.getByRole("table", { name: "Changed parameters" });
  await expect(table.getByRole("row", { name: "import label — credit file" })).toBeVisible();
});
