// One colour per port type, used by handles, edges and the palette's legend.
export const PORT_COLORS: Record<string, string> = {
  table: "#1f6feb",
  features: "#8250df",
  feature_state: "#bf3989",
  model: "#bc4c00",
  metrics: "#1a7f37",
  report: "#9a6700",
};

export const portColor = (type: string): string => PORT_COLORS[type] ?? "#57606a";
