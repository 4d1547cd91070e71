// "Fit view" centres the graph in the canvas a person sees: the whole canvas while the parameter panel is closed, the
// narrowed one while it is open; and when a click opens the panel after a fit, the view moves left just enough that
// the graph shows whole (and centred) left of the panel, not its rightmost nodes under it.
import { getViewportForBounds } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import { fitPadding, GAP, PANEL_WIDTH, panelOpenShift } from "./fit";

const WIDTH = 1100; // the canvas with the panel closed (a 1600 px window less the side bar and the palette)
const NARROWED = WIDTH - PANEL_WIDTH;
const HEIGHT = 500;
const PX = 2; // xyflow floors the paddings it applies: a pixel or two either way

/** Where the graph's left and right ends land on the canvas when fitted with this padding. */
function fitted(bounds: { x: number; y: number; width: number; height: number }, width: number, panelOpen: boolean) {
  const { x, zoom } = getViewportForBounds(bounds, width, HEIGHT, 0.05, 2, fitPadding(panelOpen));
  return { left: x + bounds.x * zoom, right: x + (bounds.x + bounds.width) * zoom };
}

describe("Fit view", () => {
  const wide = { x: -200, y: 0, width: 2400, height: 300 }; // a long pipeline, limited by the width
  const small = { x: 0, y: 0, width: 220, height: 200 }; // two nodes, limited by the zoom

  it("centres the graph in the whole canvas while the panel is closed", () => {
    for (const bounds of [wide, small]) {
      const { left, right } = fitted(bounds, WIDTH, false);
      expect(left).toBeGreaterThan(0);
      expect(Math.abs(left - (WIDTH - right))).toBeLessThanOrEqual(PX);
    }
  });

  it("then, as the panel opens, moves a long graph left by half the panel: whole and centred left of it", () => {
    const { left, right } = fitted(wide, WIDTH, false);
    const by = panelOpenShift(left, right, NARROWED);
    expect(Math.abs(by - PANEL_WIDTH / 2)).toBeLessThanOrEqual(PX);
    expect(left - by).toBeGreaterThanOrEqual(GAP);
    expect(right - by).toBeLessThanOrEqual(NARROWED - GAP);
    expect(Math.abs(left - by - (NARROWED - (right - by)))).toBeLessThanOrEqual(PX);
  });

  it("leaves a small graph that already shows whole left of the panel where it is (a click does not move it)", () => {
    const { left, right } = fitted(small, WIDTH, false);
    expect(right).toBeLessThanOrEqual(NARROWED - GAP);
    expect(panelOpenShift(left, right, NARROWED)).toBe(0);
  });

  it("never moves a graph's left end off the canvas, nor a view zoomed in on a part", () => {
    expect(panelOpenShift(100, 1000, NARROWED)).toBe(100 - GAP); // as far as its left end allows
    expect(panelOpenShift(-400, 1500, NARROWED)).toBe(0);
  });

  it("uses the whole narrowed canvas while the panel is open", () => {
    const { left, right } = fitted(wide, NARROWED, true);
    expect(left).toBeGreaterThan(0);
    expect(right).toBeLessThan(NARROWED);
    expect(right - left).toBeGreaterThan(0.8 * NARROWED); // not padded for a panel that is already there
    expect(Math.abs(left - (NARROWED - right))).toBeLessThanOrEqual(PX);
  });
});
