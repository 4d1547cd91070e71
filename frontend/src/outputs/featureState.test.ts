import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { OutputBodyView, type OutputBody } from "./bodies";
import { madeText, type FeatureStateBody } from "./FeatureStateSummary";

const BODY: FeatureStateBody = {
  kind: "model",
  model_kind: "features",
  state: { label: "default" },
  features_summary: {
    features: 9,
    columns: 2,
    label: "default",
    label_classes: ["no", "yes"],
    blocks: [
      { column: "age", kind: "numeric", transform: "standardize", model: "lr", made: 1, names: ["age"] },
      { column: "region", kind: "categorical", transform: "onehot", model: "lr", made: 7, names: ["region=north", "region=south", "region=west"] },
      { column: "region", kind: "categorical", transform: "ordinal", model: "gbdt", made: 1, names: ["region"] },
    ],
    left_out: [
      { column: "signed_up", why: "a date/time: auto mode makes no feature of it" },
      { column: "customer_id", why: "a row identifier: unique text per row" },
    ],
  },
};

describe("a feature state in the node panel", () => {
  it("reads as the features made per column and the columns left out, not raw JSON", () => {
    const html = renderToStaticMarkup(createElement(OutputBodyView, { body: BODY as unknown as OutputBody, onPage: () => undefined }));
    expect(html).toContain('aria-label="Features made"');
    expect(html).toContain("<th scope=\"row\">age</th><td>number</td><td>standardize</td><td>Logistic regression</td><td>age</td>");
    expect(html).toContain("<td>category</td><td>ordinal</td><td>GBDT</td>");
    expect(html).toContain('aria-label="Columns left out"');
    expect(html).toContain("<th scope=\"row\">signed_up</th><td>a date/time: auto mode makes no feature of it</td>");
    expect(html).toContain("positive: yes, negative: no");
    expect(html).not.toContain("<pre"); // the raw JSON only behind its toggle
  });
  it("says how many features a block made when it shows only the first names", () => {
    expect(madeText(BODY.features_summary.blocks[1])).toBe("region=north, region=south, region=west … (7 in all)");
    expect(madeText(BODY.features_summary.blocks[0])).toBe("age");
  });
  it("says when nothing was left out (a state cached before left-out columns were kept)", () => {
    const old = { ...BODY, features_summary: { ...BODY.features_summary, left_out: [] } };
    const html = renderToStaticMarkup(createElement(OutputBodyView, { body: old as unknown as OutputBody, onPage: () => undefined }));
    expect(html).toContain("No column left out by auto mode.");
  });
});

describe("a feature matrix in the node panel", () => {
  it("reads as its rows, features and label, the names behind a disclosure", () => {
    const body = { kind: "features", rows: 1200, width: 62, names: ["age", "region=north"], label_name: "renewed" };
    const html = renderToStaticMarkup(createElement(OutputBodyView, { body, onPage: () => undefined }));
    expect(html).toContain("<dt>Rows</dt><dd>1200</dd><dt>Features</dt><dd>62</dd><dt>Label</dt><dd>renewed</dd>");
    expect(html).toContain("<summary>Feature names (the first 2)</summary><p>age, region=north</p>");
    expect(html).not.toContain("<pre");
  });
});
