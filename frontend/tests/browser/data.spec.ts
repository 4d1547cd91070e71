// Issue 14, item 1 and the first acceptance point: a person's own CSV (a yes/no label, an unnamed row-number
// column) goes from their disk to a trained, evaluated, published model in the browser alone.
import type { Page } from "@playwright/test";
import { demoProjectId, expect, expectAccessible, login, SHOTS, test } from "./fixtures";

/** A churn table as a spreadsheet exports it: the first column is an unnamed row number, the label is yes/no. */
export function churnCsv(rows: number): string {
  const lines = [",tenure,monthly_fee,plan,support_calls,churned"];
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < rows; i++) {
    const tenure = Math.floor(rand() * 72);
    const fee = Math.round((20 + rand() * 80) * 100) / 100;
    const plan = ["basic", "plus", "pro"][Math.floor(rand() * 3)];
    const calls = Math.floor(rand() * 8);
    const risk = 0.8 * calls / 7 + 0.6 * (1 - tenure / 72) + (plan === "basic" ? 0.3 : 0) + 0.4 * rand();
    lines.push(`${i},${tenure},${fee},${plan},${calls},${risk > 1.05 ? "yes" : "no"}`);
  }
  return lines.join("\n") + "\n";
}

async function openDataPage(page: Page): Promise<number> {
  const project = await demoProjectId(page);
  await page.getByRole("link", { name: /^Demo/ }).click();
  await page.getByRole("button", { name: "Data", exact: true }).click();
  await expect(page.getByRole("heading", { name: /: data$/ })).toBeVisible();
  return project;
}

test("the Data page uploads with the file picker, shows the preview, renames and deletes", async ({ page, consoleErrors }) => {
  await login(page);
  await openDataPage(page);
  await page.getByLabel("Choose files to upload").setInputFiles([
    { name: "scratch.csv", mimeType: "text/csv", buffer: Buffer.from("a;b\n1;x\n2;\n") },
  ]);
  const row = page.getByRole("row", { name: /scratch\.csv/ });
  await expect(row).toBeVisible();
  const preview = page.getByRole("region", { name: "Preview of scratch.csv" });
  await expect(preview).toContainText("delimiter: semicolon (;)");
  await expect(preview.getByRole("table", { name: "Columns" }).getByRole("row", { name: /^b string 1 1$/ })).toBeVisible();
  await expectAccessible(page, "the Data page with a preview");
  await page.screenshot({ path: `${SHOTS}/data-page-preview.png` });

  // A file that is not a table is refused by name, and nothing is listed for it.
  await page.getByLabel("Choose files to upload").setInputFiles([
    { name: "photo.csv", mimeType: "text/csv", buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]) },
  ]);
  await expect(page.getByRole("alert")).toContainText("photo.csv");
  await expect(page.getByRole("row", { name: /photo\.csv/ })).toHaveCount(0);
  // the browser logs the refused request itself; that one line is expected, nothing else
  expect(consoleErrors).toEqual([expect.stringContaining("status of 415")]);
  consoleErrors.length = 0;
  await page.getByRole("button", { name: "Dismiss" }).click();

  await row.getByRole("button", { name: "Rename scratch.csv" }).click();
  await page.getByLabel("New name for scratch.csv").fill("renamed.csv");
  await page.getByRole("button", { name: "OK" }).click();
  const renamed = page.getByRole("row", { name: /renamed\.csv/ });
  await expect(renamed).toBeVisible();
  page.once("dialog", (d) => void d.accept());
  await renamed.getByRole("button", { name: "Delete renamed.csv" }).click();
  await expect(page.getByRole("row", { name: /renamed\.csv/ })).toHaveCount(0);
});
