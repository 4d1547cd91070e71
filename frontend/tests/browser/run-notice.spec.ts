// Run all and the editor's notice, as a newcomer sees them: the save Run all makes first says nothing over the
// run's progress (the toolbar and the header say it was saved, the run reports below), and a confirmation still up
// from a Save pressed just before goes when the run starts. Found by role, label and visible text; the order of
// what the page showed is recorded as it changed (no timing).
import type { Page } from "@playwright/test";
import { createPipeline, dragConnect, expect, handle, login, SHOTS, studioUrl, test } from "./fixtures";

const canvas = (page: Page) => page.getByRole("region", { name: "Pipeline canvas" });
const panel = (page: Page) => page.getByRole("complementary", { name: "Parameters" });

/** From now on, every change of the page is recorded as [the notice's text or "", the run panel's status line]. */
async function recordNoticeAndRun(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { shown: [string, string][] };
    w.shown = [];
    const look = () => {
      const notice = document.querySelector('[data-testid="notice"] span')?.textContent ?? "";
      const run = document.querySelector('section[aria-label="Run results"] .run-status')?.textContent ?? "";
      const last = w.shown[w.shown.length - 1];
      if (!last || last[0] !== notice || last[1] !== run) w.shown.push([notice, run]);
    };
    look();
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { shown: [string, string][] }).shown);

test("Run all: no 'Saved a new version.' stands over the run's progress", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Notice and run", {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: {}, position: { x: 0, y: 160 } },
    ],
    edges: [{ source: "import", source_port: "table", target: "split", target_port: "table" }],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);

  // An edit, then Run all: saved first (the toolbar says so), run, and the notice never said "Saved a new version.".
  await canvas(page).getByText("split", { exact: true }).click();
  await panel(page).getByLabel("Name on the canvas").fill("train and test");
  await expect(page.getByText("● Unsaved changes")).toBeVisible();
  await recordNoticeAndRun(page);
  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(/^Run #\d+: succeeded$/)).toBeVisible({ timeout: 120_000 });
  await expect(page.getByText("All changes saved")).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/run-notice-after-run-all.png` });
  const first = await recorded(page);
  expect(first.some(([, run]) => /^Run #\d+: succeeded$/.test(run))).toBe(true);
  expect(first.filter(([notice]) => notice !== ""), "notices shown during Run all").toEqual([]);

  // Save pressed, then Run all with nothing unsaved: the save's confirmation goes before the run says anything.
  await panel(page).getByLabel("Name on the canvas").fill("train / test");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved a new version." })).toBeVisible();
  const firstRun = Number((await page.getByText(/^Run #\d+: succeeded$/).textContent())!.match(/#(\d+)/)![1]);
  await recordNoticeAndRun(page);
  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(`Run #${firstRun + 1}: succeeded`, { exact: true })).toBeVisible({ timeout: 120_000 });
  const second = await recorded(page);
  expect(second[0][0]).toBe("Saved a new version."); // it was up when Run all was pressed
  const overRun = second.filter(([notice, run]) => notice && run.startsWith(`Run #${firstRun + 1}:`));
  expect(overRun, "a notice shown beside the new run's status").toEqual([]);
  await expect(page.getByRole("status").filter({ hasText: "Saved a new version." })).toHaveCount(0);
});

/** Where a node's name stands on the screen, rounded to the pixel. */
async function whereIs(page: Page, name: string) {
  const box = (await canvas(page).getByText(name, { exact: true }).boundingBox())!;
  return { x: Math.round(box.x), y: Math.round(box.y) };
}

test("a notice moves no node: Save, Copy and a refused connection leave every node where it was", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Notice moves nothing", {
    nodes: [
      { id: "train", operator: "train_gbdt", params: {}, position: { x: 0, y: 0 } },
      { id: "evaluate", operator: "evaluate_binary", params: {}, position: { x: 0, y: 200 } },
    ],
    edges: [],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await canvas(page).getByText("train", { exact: true }).click();
  await expect(panel(page)).toBeVisible();
  const before = await whereIs(page, "evaluate");

  // A confirmation: the node stays put while it shows, a click aimed at the node lands, and it stays put after the fade.
  await page.keyboard.press("Control+c");
  const copied = page.getByRole("status").filter({ hasText: "Copied 1 node." });
  await expect(copied).toBeVisible();
  expect(await whereIs(page, "evaluate")).toEqual(before);
  await page.screenshot({ path: `${SHOTS}/notice-over-canvas.png` });
  // The notice stands below the toolbar, over none of its buttons.
  const toolbar = (await page.getByRole("toolbar", { name: "Pipeline" }).boundingBox())!;
  expect((await copied.boundingBox())!.y).toBeGreaterThanOrEqual(toolbar.y + toolbar.height);
  await canvas(page).getByText("evaluate", { exact: true }).click();
  await expect(panel(page).getByRole("heading", { name: "evaluate" })).toBeVisible();
  await expect(copied).toHaveCount(0); // a confirmation fades by itself
  expect(await whereIs(page, "evaluate")).toEqual(before);

  // Save after an edit: the save's answer (the two unconnected inputs, an error) over the canvas, nothing moved.
  await panel(page).getByLabel("Name on the canvas").fill("score");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Saved, with 2 validation error(s)" })).toBeVisible();
  const named = await whereIs(page, "score");
  expect(named).toEqual(before);

  // An error stays until dismissed; neither its showing nor its dismissal moves a node.
  await page.keyboard.press("Escape");
  await dragConnect(page, handle(page, "train", "source", "model"), handle(page, "evaluate", "target", "table"));
  const refused = page.getByRole("alert").filter({ hasText: "Connection refused" });
  await expect(refused).toBeVisible();
  expect(await whereIs(page, "score")).toEqual(before);
  await refused.getByRole("button", { name: "Dismiss" }).click();
  await expect(refused).toHaveCount(0);
  expect(await whereIs(page, "score")).toEqual(before);
});

test("the Make component bar moves no node: selecting a second node, opening its form and leaving it", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, "Selection bar moves nothing", {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: {}, position: { x: 0, y: 200 } },
    ],
    edges: [{ source: "import", source_port: "table", target: "split", target_port: "table" }],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await canvas(page).getByText("import", { exact: true }).click();
  await expect(panel(page)).toBeVisible();
  const before = await whereIs(page, "split");

  // Two nodes selected: the offer shows over the canvas, below the toolbar, and the nodes stay where they were.
  await canvas(page).getByText("split", { exact: true }).click({ modifiers: ["Shift"] });
  const offer = page.getByRole("button", { name: "Make component" });
  await expect(offer).toBeVisible();
  expect(await whereIs(page, "split")).toEqual(before);
  const toolbar = (await page.getByRole("toolbar", { name: "Pipeline" }).boundingBox())!;
  expect((await offer.boundingBox())!.y).toBeGreaterThanOrEqual(toolbar.y + toolbar.height);

  // Its form, open, moves nothing either; a click aimed at a node then lands on it.
  await offer.click();
  const form = page.getByRole("form", { name: "Make component" });
  await expect(form.getByLabel("Component name")).toBeVisible();
  expect(await whereIs(page, "split")).toEqual(before);
  await page.screenshot({ path: `${SHOTS}/make-component-over-canvas.png` });
  await form.getByRole("button", { name: "Cancel" }).click();
  await page.keyboard.press("Escape"); // the selection goes, and with it the offer
  await expect(offer).toHaveCount(0);
  expect(await whereIs(page, "split")).toEqual(before);
  await canvas(page).getByText("split", { exact: true }).click();
  await expect(panel(page).getByRole("heading", { name: "split" })).toBeVisible();
  expect(await whereIs(page, "split")).toEqual(before);
});
