import { describe, expect, it } from "vitest";
import { describeCron, fieldErrors, fieldLabel, fireTimeText, inZone, isZone, notSavedText, paramSpecs, paramValues, publishingNodes, zoneNames } from "./logic";

describe("describeCron", () => {
  it("says a cron expression in plain words with its zone", () => {
    expect(describeCron("0 2 * * 1-5", "Europe/Berlin")).toBe("At 02:00, Monday through Friday, Europe/Berlin");
    expect(describeCron("*/15 * * * *", "UTC")).toBe("Every 15 minutes, UTC");
    expect(describeCron("@daily", "UTC")).toBe("At 00:00, UTC");
  });
  it("gives null for what it cannot read", () => {
    expect(describeCron("", "UTC")).toBeNull();
    expect(describeCron("61 * * * *", "UTC")).toBeNull();
    expect(describeCron("* * * *", "UTC")).toBeNull();
  });
});

describe("parameters", () => {
  const specs = paramSpecs({ seed: { type: "integer", default: 42 }, on: { default: true }, path: { default: "a.csv" } });
  it("makes one field per declared parameter, typed", () => {
    expect(specs.map((s) => [s.name, s.kind])).toEqual([["on", "boolean"], ["path", "text"], ["seed", "integer"]]);
  });
  it("leaves empty fields to the pipeline's default", () => {
    expect(paramValues(specs, { seed: "7", path: "", on: "false" })).toEqual({ seed: 7, on: false });
  });
});

it("maps API errors to fields and shows a time in a zone", () => {
  expect(fieldErrors([{ path: "cron", message: "bad" }, { path: "cron", message: "worse" }, { path: "", message: "x" }]))
    .toEqual({ cron: "bad; worse", "": "x" });
  expect(inZone("2024-03-31T01:00:00Z", "Europe/Berlin")).toBe("2024-03-31 03:00 (Europe/Berlin)");
});

it("shows a time in UTC, so labelled, for a zone the browser does not know instead of throwing", () => {
  expect(inZone("2024-03-31T01:00:00Z", "Paris")).toBe("2024-03-31 01:00 (UTC)");
  expect(fireTimeText("2024-03-31T01:00:00Z", "Paris")).toBe("2024-03-31 01:00 UTC");
});

describe("the time zone field", () => {
  const known = new Set(zoneNames());
  it("knows an IANA name and not a city's name alone", () => {
    expect(isZone("Europe/Paris", known)).toBe(true);
    expect(isZone("UTC", known)).toBe(true);
    expect(isZone("Paris", known)).toBe(false);
    expect(isZone("", known)).toBe(false);
    expect(isZone("Mars/Olympus", known)).toBe(false);
  });
  it("names the field of an API error as the form labels it", () => {
    expect(fieldLabel("timezone")).toBe("Time zone");
    expect(fieldLabel("cron")).toBe("Cron expression");
    expect(fieldLabel("params.seed")).toBe("seed");
    const errors = fieldErrors([{ path: "timezone", message: "unknown time zone 'Paris'; did you mean Europe/Paris?" }, { message: "busy" }]);
    expect(notSavedText(errors)).toBe("Not saved: Time zone: unknown time zone 'Paris'; did you mean Europe/Paris?; busy");
  });
});

describe("publishingNodes", () => {
  it("finds the nodes a schedule republishes through, and none in a pipeline without one", () => {
    const graph = { nodes: [{ id: "train", operator: "train_gbdt" }, { id: "ship", operator: "publish_if_better" }, { id: "p", operator: "publish_model" }] };
    expect(publishingNodes(graph)).toEqual([{ id: "ship", operator: "publish_if_better" }, { id: "p", operator: "publish_model" }]);
    expect(publishingNodes({ nodes: [{ id: "train", operator: "train_gbdt" }] })).toEqual([]);
    expect(publishingNodes(undefined)).toEqual([]);
  });
});
