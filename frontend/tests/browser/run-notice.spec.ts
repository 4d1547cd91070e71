// Run all and the editor's notice, as a newcomer sees them: the save Run all makes first says nothing over the
// run's progress (the toolbar and the header say it was saved, the run reports below), and a confirmation still up
// from a Save pressed just before goes when the run starts. Found by role, label and visible text; the order of
// what the page showed is recorded as it changed (no timing).
import type { Page } from "@playwright/test";
import { createPipeline, expect, login, SHOTS, studioUrl, test } from "./fixtures";

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
