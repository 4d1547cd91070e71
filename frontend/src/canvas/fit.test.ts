// "Fit view" with the parameter panel closed keeps the panel's width free on the right, so a node selected
// afterwards opens the panel over empty canvas, not over the rightmost nodes.
import { getViewportForBounds } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import { fitPadding, PANEL_WIDTH } from "./fit";

const WIDTH = 1100; // the canvas with the panel closed (a 1600 px window less the side bar and the palette)
const HEIGHT = 500;

/** Where the graph's right and left edges land on screen when fitted with this padding. */
function fitted(bounds: { x: number; y: number; width: number; height: number }, width: number, panelOpen: boolean) {
  const { x, zoom } = getViewportForBounds(bounds, width, HEIGHT, 0.05, 2, fitPadding(panelOpen));
  return { left: x + bounds.x * zoom, right: x + (bounds.x + bounds.width) * zoom };
}

describe("Fit view", () => {
  const wide = { x: -200, y: 0, width: 2400, height: 300 }; // a long pipeline, limited by the width
  const small = { x: 0, y: 0, width: 220, height: 200 }; // two nodes, limited by the zoom

  it("fits the graph left of where the panel opens, while the panel is closed", () => {
    for (const bounds of [wide, small]) {
      const { left, right } = fitted(bounds, WIDTH, false);
      expect(left).toBeGreaterThan(0);
      expect(right).toBeLessThanOrEqual(WIDTH - PANEL_WIDTH);
    }
  });

  it("uses the whole narrowed canvas while the panel is open", () => {
    const narrowed = WIDTH - PANEL_WIDTH;
    const { left, right } = fitted(wide, narrowed, true);
    expect(left).toBeGreaterThan(0);
    expect(right).toBeLessThan(narrowed);
    expect(right - left).toBeGreaterThan(0.8 * narrowed); // not padded for a panel that is already there
  });
});
