import type { FitViewOptions } from "@xyflow/react";

/** The parameter panel's width (styles.css `.param-panel`, border-box): the canvas narrows by it when a node is selected. */
export const PANEL_WIDTH = 300;
/** The space kept clear between the graph and the canvas's sides (or the panel) once the panel has opened. */
export const GAP = 24;
const MARGIN = "7%"; // about what `padding: 0.15` gave on every side

/**
 * How "Fit view" (and the fit on opening a pipeline) pads the graph: centred in the canvas a person sees. With the
 * panel open that is the narrowed canvas, the same margin on every side. With it closed, the whole canvas, at a zoom
 * that leaves half the panel's width free on each side: a node selected afterwards opens the panel, which narrows the
 * canvas from the right, and the view then moves left by that half (panelOpenShift), so the graph shows whole and
 * centred left of the panel instead of its rightmost nodes under it.
 */
export function fitPadding(panelOpen: boolean): NonNullable<FitViewOptions["padding"]> {
  if (panelOpen) return MARGIN;
  const side = `${PANEL_WIDTH / 2 + GAP}px`;
  return { top: MARGIN, bottom: MARGIN, left: side, right: side };
}

/**
 * How far (px) to move the view left once the panel has opened and narrowed the canvas to `width`, for a graph
 * whose left and right ends are at `left` and `right` on the canvas: the least that brings its right end GAP clear
 * of the panel, never moving its left end nearer the canvas's left side than GAP. 0 when it already shows whole
 * (no jump for a click), or when its left end is already at the side (a view zoomed in on a part stays as it is).
 */
export function panelOpenShift(left: number, right: number, width: number): number {
  return Math.max(0, Math.min(right - (width - GAP), left - GAP));
}
