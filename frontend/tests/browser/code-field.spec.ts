import { createPipeline, expect, login, node, SHOTS, test } from "./fixtures";

test("a parameter declared as code is edited in a monospaced field with line numbers", async ({ page, consoleErrors }) => {
  await login(page);
  const graph = {
    nodes: [{ id: "sql", operator: "sql_transform", params: { sql: "SELECT *\nFROM t1" }, position: { x: 200, y: 100 } }],
    edges: [],
  };
  await createPipeline(page, "Code field", graph);
  await page.getByRole("link", { name: /^Demo/ }).click();
  await page.getByRole("link", { name: "Code field" }).click();
  await node(page, "sql").click();
  const field = page.getByTestId("param-panel").locator(".code-field");
  await expect(field.locator(".code-gutter")).toHaveText("1\n2");
  const box = field.locator("textarea");
  await box.fill("SELECT city,\n  count(*) AS n\nFROM t1\nGROUP BY city");
  await expect(field.locator(".code-gutter")).toHaveText("1\n2\n3\n4");
  const font = await box.evaluate((el) => getComputedStyle(el).fontFamily);
  expect(font).toMatch(/monospace/);
  await box.press("End");
  await box.press("Tab"); // inserts spaces, does not leave the field
  await expect(box).toBeFocused();
  await expect(box).toHaveValue(/GROUP BY city {4}$/);
  await page.screenshot({ path: `${SHOTS}/code-field.png` });
  expect(consoleErrors).toEqual([]);
});
