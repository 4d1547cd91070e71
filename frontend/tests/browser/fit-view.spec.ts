// "Fit view" pressed before the parameter panel opens centres the graph in the whole canvas; a node clicked afterwards
// opens the panel, which narrows the canvas from the right, and the view moves left so that the graph, the rightmost
// node included, shows whole and centred left of the panel; closing the panel centres it again. Found by role, label
// and visible text.
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

/** The graph's free space on the left and on the right of `right` (the canvas's right side, or the panel's left). */
async function gaps(page: Page, right: number): Promise<{ left: number; right: number }> {
  const canvasLeft = (await canvas(page).boundingBox())!.x;
  const first = (await cardOf(page, TITLES[0]).boundingBox())!;
  const last = (await cardOf(page, TITLES[TITLES.length - 1]).boundingBox())!;
  return { left: first.x - canvasLeft, right: right - (last.x + last.width) };
}

const PX = 4; // xyflow floors the paddings it applies, and the cards' borders round

/** How far the element's right edge reaches past `x` on screen (<= 0: wholly left of it). */
async function pastX(element: Locator, x: number): Promise<number> {
  const box = (await element.boundingBox())!;
  return box.x + box.width - x;
}

test("Fit view centres the graph; a click opens the panel and the graph moves beside it, none of it behind", async ({ page }) => {
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
    // Centred in the whole canvas: as much room on the left of the graph as on its right.
    const fitted = await gaps(page, canvasBox.x + canvasBox.width);
    expect(Math.abs(fitted.left - fitted.right), JSON.stringify(fitted)).toBeLessThanOrEqual(PX);

    // The rightmost node is clicked: the panel opens beside it, the view moves left (same zoom), and every node
    // shows whole, left of the panel, the graph centred in what is left of the canvas.
    await nodeTitled(page, "Last file").click();
    await expect(panel(page).getByRole("heading", { name: "Last file" })).toBeVisible();
    const after = await settledViewport(page);
    expect(after).not.toBe(before);
    expect(after.match(/scale\(([^)]+)\)/)![1]).toBe(before.match(/scale\(([^)]+)\)/)![1]);
    const panelLeft = (await panel(page).boundingBox())!.x;
    await page.screenshot({ path: `${SHOTS}/fit-view-then-panel.png` });
    for (const title of TITLES) {
      expect(await pastX(cardOf(page, title), panelLeft), `${title} reaches under the panel`).toBeLessThanOrEqual(0);
    }
    const beside = await gaps(page, panelLeft);
    expect(Math.abs(beside.left - beside.right), JSON.stringify(beside)).toBeLessThanOrEqual(PX);
    // and the rightmost node takes a click on its right end, where the panel would have covered it
    await nodeTitled(page, "Read applications").click();
    const card = (await cardOf(page, "Last file").boundingBox())!;
    await page.mouse.click(card.x + card.width - 8, card.y + card.height / 2);
    await expect(panel(page).getByRole("heading", { name: "Last file" })).toBeVisible();
  }

  // The panel closed: the view goes back, the graph centred in the whole canvas again.
  await page.keyboard.press("Escape");
  await expect(panel(page)).toHaveCount(0);
  await settledViewport(page);
  const canvasBox = (await canvas(page).boundingBox())!;
  const closed = await gaps(page, canvasBox.x + canvasBox.width);
  expect(Math.abs(closed.left - closed.right), JSON.stringify(closed)).toBeLessThanOrEqual(PX);
  await page.screenshot({ path: `${SHOTS}/fit-view-panel-closed.png` });
});
