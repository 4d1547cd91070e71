// "Fit view" pressed before the parameter panel opens: a node clicked afterwards opens the panel, which narrows the
// canvas from the right; the fitted graph, the rightmost node included, stays wholly left of the panel. Found by
// role, label and visible text.
import type { Locator, Page } from "@playwright/test";
import { createPipeline, expect, login, SHOTS, studioUrl, test } from "./fixtures";

const canvas = (page: Page) => page.getByRole("region", { name: "Pipeline canvas" });
const nodeTitled = (page: Page, title: string) => canvas(page).getByText(title, { exact: true });
const panel = (page: Page) => page.getByRole("complementary", { name: "Parameters" });
const TITLES = ["Read applications", "Second file", "Third file", "Fourth file", "Last file"];

const cardOf = (page: Page, title: string) => canvas(page).locator(".op-node").filter({ has: page.getByText(title, { exact: true }) });

/** The viewport's transform once the fit's animation is over (two reads a frame apart agree). */
async function settledViewport(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const read = () => document.querySelector(".react-flow__viewport")!.getAttribute("style")!;
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    let last = read();
    for (;;) {
      await frame();
      const now = read();
      if (now === last) return now;
      last = now;
    }
  });
}

/** How far the element's right edge reaches past `x` on screen (<= 0: wholly left of it). */
async function pastX(element: Locator, x: number): Promise<number> {
  const box = (await element.boundingBox())!;
  return box.x + box.width - x;
}

test("Fit view, then a click opens the panel: no node is left behind it", async ({ page }) => {
  await login(page);
  const nodes = TITLES.map((label, i) => ({
    id: `read_${i}`, operator: "import_csv", label, params: { path: "data/credit_default.csv" }, position: { x: i * 420, y: (i % 2) * 60 },
  }));
  const id = await createPipeline(page, "A long row of nodes", { nodes, edges: [] });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await expect(nodeTitled(page, "Last file")).toBeVisible();

  // Twice: with the toolbar's Fit view, and with the zoom controls' own.
  const fitButtons = [page.getByRole("toolbar", { name: "Pipeline" }).getByRole("button", { name: "Fit view" }),
    canvas(page).getByRole("button", { name: "Fit View" })];
  for (const fit of fitButtons) {
    // The view moved away (zoomed out twice), then fitted again with the button, no node selected.
    await page.keyboard.press("Escape");
    await expect(panel(page)).toHaveCount(0);
    await page.getByRole("button", { name: "Zoom Out" }).click();
    await page.getByRole("button", { name: "Zoom Out" }).click();
    await fit.click();
    const canvasBox = (await canvas(page).boundingBox())!;
    await expect.poll(() => pastX(cardOf(page, "Last file"), canvasBox.x + canvasBox.width)).toBeLessThan(0);
    await expect.poll(() => page.locator(".react-flow__viewport").getAttribute("style")).toContain("scale"); // drawn
    const before = await settledViewport(page);

    // The rightmost node is clicked: the panel opens beside it, and every node shows whole, left of the panel.
    await nodeTitled(page, "Last file").click();
    await expect(panel(page).getByRole("heading", { name: "Last file" })).toBeVisible();
    expect(await page.locator(".react-flow__viewport").getAttribute("style")).toBe(before); // the view did not jump
    const panelLeft = (await panel(page).boundingBox())!.x;
    await page.screenshot({ path: `${SHOTS}/fit-view-then-panel.png` });
    for (const title of TITLES) {
      expect(await pastX(cardOf(page, title), panelLeft), `${title} reaches under the panel`).toBeLessThanOrEqual(0);
    }
    // and the rightmost node takes a click on its right end, where the panel would have covered it
    await nodeTitled(page, "Read applications").click();
    const card = (await cardOf(page, "Last file").boundingBox())!;
    await page.mouse.click(card.x + card.width - 8, card.y + card.height / 2);
    await expect(panel(page).getByRole("heading", { name: "Last file" })).toBeVisible();
  }
});
