// Ctrl+Z while the focus is in the node's parameter panel: in a select or a checkbox it takes back that change on the
// canvas's history (before, it did nothing there: only a focused canvas undid); in a text field it is the browser's
// own undo of the typing, never the canvas's, until the typing is all taken back; then it is the canvas's again.
import { createPipeline, expect, login, node, SHOTS, studioUrl, test } from "./fixtures";

const GRAPH = {
  format: "studio.pipeline/1",
  nodes: [
    { id: "import_csv", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
    { id: "split_time", operator: "split_time", params: { column: "when" }, position: { x: 0, y: 160 } },
  ],
  edges: [{ source: "import_csv", source_port: "table", target: "split_time", target_port: "table" }],
};

test("Ctrl+Z in the parameter panel: a select's or a checkbox's change is undone on the canvas, a text field's typing by the browser", async ({ page }) => {
  await login(page);
  const id = await createPipeline(page, `Panel undo ${Date.now()}`, GRAPH);
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  const panel = page.getByRole("complementary", { name: "Parameters" });

  await node(page, "split_time").click();
  const mode = panel.getByLabel("mode");
  const chosen = mode.locator("option:checked"); // (the form's option values are indices: read the shown text)
  await expect(chosen).toHaveText("last_fraction");
  await mode.focus(); // as a click or Tab leaves it
  await mode.selectOption({ label: "cutoff" });
  await expect(mode).toBeFocused();
  await page.keyboard.press("Control+z");
  await expect(chosen).toHaveText("last_fraction");
  await page.keyboard.press("Control+Shift+z");
  await expect(chosen).toHaveText("cutoff");

  // Typing in a text field: the browser takes it back, and the select's change stays.
  const cutoff = panel.getByLabel("cutoff");
  await cutoff.click();
  await page.keyboard.type("2025-01-01");
  await expect(cutoff).toHaveValue("2025-01-01");
  await page.keyboard.press("Control+z");
  await expect(cutoff).toHaveValue("");
  await expect(chosen).toHaveText("cutoff");
  // Nothing typed is left to take back: the next Ctrl+Z is the canvas's, the select's change.
  await page.keyboard.press("Control+z");
  await expect(chosen).toHaveText("last_fraction");
  await expect(cutoff).toBeFocused();

  // A checkbox of another node's panel, unticked and undone with the focus on it.
  await node(page, "import_csv").click();
  const header = panel.getByRole("checkbox", { name: "header" });
  await expect(header).toBeChecked();
  await header.click();
  await expect(header).not.toBeChecked();
  await expect(header).toBeFocused();
  await page.keyboard.press("Control+z");
  await expect(header).toBeChecked();
  await panel.screenshot({ path: `${SHOTS}/panel-undo.png` });
});
