import { describe, expect, it } from "vitest";
import { canaryPercent, comparedAs, curlWithKey, describeTraffic, differenceFigure, handOffKeys, heldKey, holdKey, scoresFigure, takeFreshKeys } from "./rollout";

const CURL = `curl -s -X POST http://s/v1/models/m:predict -H "Authorization: Bearer $SERVING_KEY" -H 'Content-Type: application/json' -d '{}'`;

describe("keys on the page", () => {
  it("puts the held key in the curl line, single-quoted, and leaves the placeholder without one", () => {
    expect(curlWithKey(CURL, "sk_abc")).toContain(`-H 'Authorization: Bearer sk_abc' -H`);
    expect(curlWithKey(CURL, "")).toBe(CURL);
    expect(curlWithKey(CURL, "sk_a'b")).toContain("Bearer sk_ab'");
  });

  it("holds a key per deployment in memory; fresh keys are shown once", () => {
    holdKey(7, "sk_seven");
    expect(heldKey("7")).toBe("sk_seven");
    holdKey(7, "");
    expect(heldKey(7)).toBe("");
    handOffKeys(8, { primary: "sk_p", secondary: "sk_s" });
    expect(heldKey(8)).toBe("sk_p");
    expect(takeFreshKeys(8)).toEqual({ primary: "sk_p", secondary: "sk_s" });
    expect(takeFreshKeys(8)).toBeNull();
  });
});

describe("traffic", () => {
  it("describes a split heaviest first and checks a canary percent", () => {
    expect(describeTraffic({ "2": 10, "1": 90 })).toBe("v1 90% · v2 10%");
    expect(canaryPercent("10")).toEqual({ ok: true, value: 10 });
    for (const bad of ["0", "100", "5.5", "x", ""]) expect(canaryPercent(bad).ok).toBe(false);
  });

  it("charts each version's score distribution as shares, and the shadow differences", () => {
    const figure = scoresFigure({
      "1": { requests: 4, errors: 0, latency_buckets: {}, scores: { "0.1": 3, "0.9": 1 } },
      "2": { requests: 0, errors: 0, latency_buckets: {} },
    });
    expect(figure.data).toHaveLength(1);
    const y = (figure.data[0] as { y: number[] }).y;
    expect(y[1]).toBe(0.75);
    expect(y[9]).toBe(0.25);
    const diff = differenceFigure({ available: true, versions: { "2": { rows: 3, agreement: 1, mean_abs_difference: 0, live_versions: ["1"], difference_histogram: { edges: [-1, 0, 1], counts: [1, 2] } } } });
    expect((diff.data[0] as { x: string[] }).x).toEqual(["-1 to 0", "0 to 1"]);
  });
});

describe("shadow comparison", () => {
  it("says which classes both sides were read as", () => {
    expect(comparedAs({ available: true, compared_as: ["no", "yes"] })).toContain('positive "yes", negative "no"');
    expect(comparedAs({ available: true, compared_as: [0, 1] })).toContain("positive 1, negative 0");
    expect(comparedAs({ available: true })).toBe("");
  });
});
