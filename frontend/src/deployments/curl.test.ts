import { describe, expect, it } from "vitest";
import { curlWithBody } from "./curl";

const EXAMPLE = "curl -s -X POST http://127.0.0.1:8001/v1/models/credit:predict -H 'Content-Type: application/json' -d '{\"instances\": [{\"age\": 40}]}'";

describe("curlWithBody", () => {
  it("puts the form's row in place of the example's body, keeping URL and headers", () => {
    const curl = curlWithBody(EXAMPLE, { instances: [{ age: 23, region: "north" }], explain: false });
    expect(curl).toBe("curl -s -X POST http://127.0.0.1:8001/v1/models/credit:predict -H 'Content-Type: application/json' -d '{\"instances\":[{\"age\":23,\"region\":\"north\"}]}'");
  });
  it("quotes a single quote in a value for the shell", () => {
    const curl = curlWithBody(EXAMPLE, { instances: [{ name: "O'Brien" }], explain: false });
    expect(curl.endsWith(`-d '{"instances":[{"name":"O'\\''Brien"}]}'`)).toBe(true);
  });
  it("keeps a header that follows the body (an Authorization header added later)", () => {
    const curl = curlWithBody(`${EXAMPLE} -H 'Authorization: Bearer k'`, { instances: [{ age: 1 }], explain: false });
    expect(curl).toContain(`-d '{"instances":[{"age":1}]}' -H 'Authorization: Bearer k'`);
  });
  it("is empty without an example (no version to call)", () => {
    expect(curlWithBody("", { instances: [{}], explain: false })).toBe("");
  });
});
