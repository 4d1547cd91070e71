import { describe, expect, it } from "vitest";
import { BOTTOM_LEGEND, plotLayout } from "./plotLayout";

describe("the layout a chart is drawn with", () => {
  it("moves an old run's horizontal legend, left at plotly's default place over the x axis's title, to the bottom row", () => {
    // An ROC figure as evaluate stored it before the legend row (Compare shows such a run beside a new one).
    const old = { data: [], layout: { title: { text: "ROC" }, xaxis: { title: { text: "False positive rate" } }, legend: { orientation: "h" } } };
    const layout = plotLayout(old);
    expect(layout.legend).toEqual(BOTTOM_LEGEND);
    expect(layout.xaxis).toEqual({ automargin: true, title: { text: "False positive rate" } });
  });

  it("keeps a legend the figure placed itself, and a figure with no legend has none added", () => {
    const placed = { orientation: "h", yref: "container", y: 0, yanchor: "bottom", x: 0, xanchor: "left" };
    expect(plotLayout({ data: [], layout: { legend: placed } }).legend).toBe(placed);
    const vertical = { x: 1.02 };
    expect(plotLayout({ data: [], layout: { legend: vertical } }).legend).toBe(vertical);
    expect(plotLayout({ data: [] }).legend).toBeUndefined();
    expect(plotLayout({ data: [] }).height).toBe(300);
  });
});
