import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import type { WidgetProps } from "@rjsf/utils";
import { describe, expect, it } from "vitest";
import type { Upload } from "./uploads";
import { UploadVersionWidget } from "./UploadVersionWidget";
import { runReads, withFollowedName } from "./versions";

const up = (id: number, name: string): Upload =>
  ({ id, name, content_type: "csv", size: 10, created_at: "2026-12-07T05:00:00Z", path: name, preview: null }) as unknown as Upload;

const widget = (value: unknown) =>
  renderToStaticMarkup(createElement(UploadVersionWidget, { id: "root_upload_version", value, onChange: () => undefined } as unknown as WidgetProps));

describe("an import node's Which version choice", () => {
  it("offers this upload (pinned, the default) or the newest upload of this name", () => {
    const pinned = widget(undefined);
    expect(pinned).toContain('role="radiogroup" aria-label="Which version"');
    expect(pinned).toContain('<input type="radio" name="root_upload_version" checked="" value="pinned"/> this upload (pinned)');
    expect(pinned).toContain('<input type="radio" name="root_upload_version" value="newest"/> the newest upload of this name');
    expect(widget("newest")).toContain('<input type="radio" name="root_upload_version" checked="" value="newest"/>');
  });

  it("keeps the name a following node follows, and none on a pinned node", () => {
    const uploads = [up(2, "customers.csv"), up(9, "customers.csv")];
    expect(withFollowedName({ upload: "2", upload_version: "newest", upload_name: "" }, uploads)).toEqual(
      { upload: "2", upload_version: "newest", upload_name: "customers.csv" });
    expect(withFollowedName({ upload: "2", upload_version: "pinned", upload_name: "customers.csv" }, uploads)).toEqual(
      { upload: "2", upload_version: "pinned", upload_name: "" });
    const unchanged = { upload: "77", upload_version: "newest", upload_name: "customers.csv" };  // a deleted upload
    expect(withFollowedName(unchanged, uploads)).toBe(unchanged);
  });

  it("says in a run's details which file each import node read", () => {
    expect(runReads({ import: { upload: 9, name: "customers.csv", version: 2, of: 2, follows: "newest", sha256: "ab" } }))
      .toEqual(["import read customers.csv, version 2 of 2 (upload 9, the newest)"]);
    expect(runReads({})).toEqual([]);
    expect(runReads(undefined)).toEqual([]);
  });
});
