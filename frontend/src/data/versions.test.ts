import { describe, expect, it } from "vitest";
import type { Upload } from "./uploads";
import { newerUpload, uploadChoice, uploadVersions } from "./versions";

const up = (id: number, name: string): Upload =>
  ({ id, name, content_type: "csv", size: 10, created_at: "2026-12-07T05:00:00Z", path: name, preview: null }) as unknown as Upload;

describe("versions of a file uploaded again under its name", () => {
  const uploads = [up(9, "customers.csv"), up(2, "customers.csv"), up(5, "other.csv"), up(4, "customers.csv")];

  it("numbers same-named uploads in upload order", () => {
    const v = uploadVersions(uploads);
    expect([v.get(2), v.get(4), v.get(9), v.get(5)]).toEqual([{ version: 1, of: 3 }, { version: 2, of: 3 }, { version: 3, of: 3 }, { version: 1, of: 1 }]);
  });

  it("offers the newest of the name to a node reading an older one, nothing to one reading the newest", () => {
    expect(newerUpload(uploads, "2")?.id).toBe(9);
    expect(newerUpload(uploads, "4")?.id).toBe(9);
    expect(newerUpload(uploads, "9")).toBeNull();
    expect(newerUpload(uploads, "5")).toBeNull();
    expect(newerUpload(uploads, "77")).toBeNull();
  });

  it("tells the versions apart in a picker, and leaves a single file's text as it was", () => {
    const v = uploadVersions(uploads);
    expect(uploadChoice(uploads[1], v, "10 B")).toMatch(/^customers\.csv \(version 1 of 3, uploaded .+, CSV, 10 B\)$/);
    expect(uploadChoice(uploads[2], v, "10 B")).toBe("other.csv (CSV, 10 B)");
  });
});
