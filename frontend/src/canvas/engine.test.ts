import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { EngineSelect, engineReadOnlyReason } from "./EngineSelect";

describe("the Engine picker for a viewer", () => {
  it("is disabled with the reason for a viewer, enabled for editors and owners", () => {
    expect(engineReadOnlyReason("editor")).toBe("");
    expect(engineReadOnlyReason("owner")).toBe("");
    const reason = engineReadOnlyReason("viewer");
    expect(reason).toContain("viewer");
    const html = renderToStaticMarkup(createElement(EngineSelect, { value: "spark", onChange: () => undefined, readOnly: reason }));
    expect(html).toMatch(/<select[^>]*disabled=""[^>]*aria-describedby="engine-read-only"/);
    expect(html).toContain(`id="engine-read-only"`);
    expect(html).toContain(`View only: ${reason}`);
    const editable = renderToStaticMarkup(createElement(EngineSelect, { value: "spark", onChange: () => undefined }));
    expect(editable).not.toContain("disabled");
  });
});
