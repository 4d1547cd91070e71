// The layout a chart is drawn with: the figure's own, with room for long axis labels, and one fix for charts
// stored by older runs. Their evaluation figures (before evaluate's LEGEND) asked for a horizontal legend at
// plotly's default place, just under the plot area, where it covered the x axis's title ("False positive rate"):
// Compare shows such a run beside a new one, so the old figure gets the new legend row at the figure's bottom.
import type { Figure } from "./Plot";

/** A horizontal legend in a row at the bottom of the figure, below the x axis's title (operators' LEGEND). */
export const BOTTOM_LEGEND = { orientation: "h", yref: "container", y: 0, yanchor: "bottom", x: 0, xanchor: "left" };

export function plotLayout(figure: Figure): Record<string, unknown> {
  const given = figure.layout ?? {};
  const legend = given.legend as Record<string, unknown> | undefined;
  const unplaced = legend?.orientation === "h" && legend.y === undefined;
  return {
    autosize: true, height: 300, margin: { l: 50, r: 20, t: 40, b: 40 }, ...given,
    xaxis: { automargin: true, ...(given.xaxis as object | undefined) },
    yaxis: { automargin: true, ...(given.yaxis as object | undefined) },
    ...(unplaced ? { legend: { ...legend, ...BOTTOM_LEGEND } } : {}),
  };
}
