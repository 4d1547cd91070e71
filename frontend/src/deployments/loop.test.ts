import { describe, expect, it } from "vitest";
import { feedbackSummary, liveFigure, psiLevel } from "./loop";

describe("closed loop helpers", () => {
  it("reads a PSI by the usual thresholds", () => {
    expect(psiLevel(0.05)).toBe("stable");
    expect(psiLevel(0.2)).toBe("shift");
    expect(psiLevel(0.3)).toBe("drift");
    expect(psiLevel(0.3, 0.1, 0.5)).toBe("shift");
  });

  it("charts AUC and logloss per day on two axes", () => {
    const figure = liveFigure([{ day: "2026-12-01", labeled: 10, auc: 0.8, logloss: 0.4 },
                               { day: "2026-12-02", labeled: 5, auc: null, logloss: 0.5 }]);
    const [auc, logloss] = figure.data as { x: string[]; y: (number | null)[]; yaxis?: string }[];
    expect(auc.x).toEqual(["2026-12-01", "2026-12-02"]);
    expect(auc.y).toEqual([0.8, null]);
    expect(logloss.yaxis).toBe("y2");
  });

  it("sums up a feedback answer", () => {
    expect(feedbackSummary({ stored: 3, new: 2, replaced: 1, unknown_request_ids: ["x"], unknown_rows: [] }))
      .toBe("3 stored (2 new, 1 replaced); 1 unknown request ids");
  });
});
