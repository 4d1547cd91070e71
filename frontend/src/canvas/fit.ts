import type { FitViewOptions } from "@xyflow/react";

/** The parameter panel's width (styles.css `.param-panel`, border-box): the canvas narrows by it when a node is selected. */
export const PANEL_WIDTH = 300;
const MARGIN = "7%"; // about what `padding: 0.15` gave on every side

/**
 * How "Fit view" (and the fit on opening a pipeline) pads the graph. While the parameter panel is closed, the right
 * side keeps the panel's width free: selecting a node opens the panel and narrows the canvas from the right, and a
 * view fitted to the wide canvas left the rightmost nodes half hidden behind it. With the panel open the canvas is
 * already narrow: the same margin on every side.
 */
export function fitPadding(panelOpen: boolean): NonNullable<FitViewOptions["padding"]> {
  if (panelOpen) return MARGIN;
  return { top: MARGIN, bottom: MARGIN, left: MARGIN, right: `${PANEL_WIDTH + 24}px` };
}
