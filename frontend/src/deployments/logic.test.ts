import { describe, expect, it } from "vitest";
import { anyRequests, buildTryRequest, fieldKind, fieldLabel, histogramBars, sortedCategories, inputColumns, latencyFigure, leftOutText, requestsFigure } from "./logic";
import { scoresFigure } from "./rollout";

const spec = inputColumns([
  { name: "income", datatype: "FP64", nullable: true },
  { name: "age", datatype: "INT64", nullable: false },
  { name: "region", datatype: "BYTES", nullable: true, categories: ["north", "south"] },
  { name: "grade", datatype: "INT64", nullable: true, categories: [1, 2, 3] },
  { name: "note", datatype: "BYTES", nullable: true },
]);

describe("try it form", () => {
  it("picks a control per column from the spec", () => {
    expect(spec.map(fieldKind)).toEqual(["number", "integer", "select", "select", "text"]);
  });

  it("labels each field in plain words, not the protocol's datatypes", () => {
    expect(spec.map(fieldLabel)).toEqual([
      "income (number)", "age (whole number, required)", "region (choose one)", "grade (choose one)", "note (text)"]);
    expect(fieldLabel({ name: "flag", datatype: "BOOL", nullable: false, categories: null })).toBe("flag (true / false, required)");
  });
  it("lists a select's categories in order: numbers by value, words alphabetically", () => {
    expect(sortedCategories(["25", "39", "3", "100"])).toEqual(["3", "25", "39", "100"]);
    expect(sortedCategories([10, 2, 33])).toEqual([2, 10, 33]);
    expect(sortedCategories(["east", "south", "west", "north"])).toEqual(["east", "north", "south", "west"]);
    expect(sortedCategories(["b", "10", "a"])).toEqual(["10", "a", "b"]);
  });
  it("turns form strings into one typed instance; empty nullable fields are null", () => {
    const built = buildTryRequest(spec, { income: " 1200.5 ", age: "41", region: "south", grade: "2", note: "" }, true);
    expect(built).toEqual({
      ok: true,
      request: { instances: [{ income: 1200.5, age: 41, region: "south", grade: 2, note: null }], explain: true },
    });
  });

  it("names each bad column: required, not a number, not whole, not a category", () => {
    const built = buildTryRequest(spec, { income: "abc", age: "", region: "east", grade: "1.5" });
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.errors.income).toMatch(/income must be a number/);
    expect(built.errors.age).toMatch(/age is required/);
    expect(built.errors.region).toMatch(/north, south/);
    expect(built.errors.grade).toMatch(/one of 1, 2, 3/);
    expect(built.errors.note).toBeUndefined();
  });

  it("an integer column without categories refuses fractions", () => {
    const built = buildTryRequest(spec, { age: "4.5" });
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.errors.age).toMatch(/whole number/);
  });

  it("drops spec entries without a name and defaults nullable to true", () => {
    const cols = inputColumns([{ datatype: "FP64" }, { name: "x", datatype: "FP64" }]);
    expect(cols).toEqual([{ name: "x", datatype: "FP64", nullable: true, categories: null }]);
  });
});

describe("serving charts", () => {
  const metrics = {
    "": { requests: 4, errors: 4, latency_buckets: {} },
    "2": { requests: 10, errors: 1, latency_buckets: { "0.001": 6, "+Inf": 9, "0.005": 8 } },
    "1": { requests: 3, errors: 0, latency_buckets: { "0.001": 3, "0.005": 3, "+Inf": 3 } },
  };

  it("turns cumulative Prometheus buckets into per-bucket counts in bound order", () => {
    expect(histogramBars(metrics["2"].latency_buckets)).toEqual([
      { label: "≤ 1 ms", count: 6 },
      { label: "≤ 5 ms", count: 2 },
      { label: "> last", count: 1 },
    ]);
  });

  it("one latency trace per known version, in version order", () => {
    const fig = latencyFigure(metrics);
    expect(fig.data.map((t) => (t as { name: string }).name)).toEqual(["v1", "v2"]);
  });

  it("every serving chart names its axes; with no request answered yet there is nothing to draw", () => {
    type Axes = { xaxis?: { title?: { text?: string } }; yaxis?: { title?: { text?: string } } };
    for (const figure of [latencyFigure(metrics), requestsFigure(metrics), scoresFigure(metrics)]) {
      const layout = figure.layout as Axes;
      expect(layout.xaxis?.title?.text, JSON.stringify(layout)).toBeTruthy();
      expect(layout.yaxis?.title?.text, JSON.stringify(layout)).toBeTruthy();
    }
    expect(anyRequests(metrics)).toBe(true);
    expect(anyRequests({ "1": { requests: 0, errors: 0, latency_buckets: {} } })).toBe(false);
    expect(anyRequests({})).toBe(false);
  });

  it("requests chart stacks successful requests and errors per version", () => {
    const [ok, errors] = requestsFigure(metrics).data as { x: string[]; y: number[] }[];
    expect(ok.x).toEqual(["v1", "v2"]);
    expect(ok.y).toEqual([3, 9]);
    expect(errors.y).toEqual([0, 1]);
  });
});

describe("try it form's note on a column the model leaves out", () => {
  it("names the column and why, so nobody fills a date the model ignores", () => {
    expect(leftOutText({ name: "purchase_date", reason: "a date/time: auto mode makes no feature of it" })).toBe(
      "purchase_date is not used by this model — a date/time: auto mode makes no feature of it. A value sent for it changes nothing.");
    expect(leftOutText({ name: "customer_id", reason: "" })).toBe("customer_id is not used by this model. A value sent for it changes nothing.");
  });
});
