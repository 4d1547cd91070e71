// What the editor's notice says around Run all: a save made before the run is quiet unless it found errors, and a
// run starting takes down a confirmation of an earlier action (an error stays).
import { describe, expect, it } from "vitest";
import { savedNotice, withoutConfirmation } from "./useNotice";

describe("the notice of a save", () => {
  it("confirms a save the person asked for", () => {
    expect(savedNotice(0)).toEqual({ kind: "info", text: "Saved a new version." });
  });
  it("says nothing of a save Run all made before its run: the run reports below", () => {
    expect(savedNotice(0, true)).toBeNull();
  });
  it("names validation errors either way, and they stay", () => {
    const errors = { kind: "error", text: "Saved, with 2 validation error(s) shown on the nodes." };
    expect(savedNotice(2)).toEqual(errors);
    expect(savedNotice(2, true)).toEqual(errors);
  });
});

describe("a run starting", () => {
  it("takes down a confirmation and keeps an error", () => {
    expect(withoutConfirmation({ kind: "info", text: "Saved a new version." })).toBeNull();
    const error = { kind: "error" as const, text: "Connection refused: a table port takes a table" };
    expect(withoutConfirmation(error)).toBe(error);
    expect(withoutConfirmation(null)).toBeNull();
  });
});
