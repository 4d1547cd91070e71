// A returning analyst's week: last week's pipeline reads customers.csv, whose "visits" header was typed "vists" and
// held "n/a" cells; the corrected file is uploaded again under the same name. The two files are told apart on the
// Data page and in the import node's picker (they read "customers.csv" twice), and the import node of last week's
// pipeline says a newer customers.csv exists and switches to it with one click (it silently kept reading the old one),
// or follows the newest of the name from then on ("Which version"). The same file dropped twice is one version.
import { apiCall, createPipeline, demoProjectId, expect, login, node, SHOTS, studioUrl, test, uploadOnDataPage } from "./fixtures";

function customers(rows: number, visits: string, na: string): string {
  const lines = [`,signup_date,city,plan,${visits},spend,renewed`];
  for (let i = 0; i < rows; i++) {
    const v = (i * 7) % 30;
    const city = i % 13 === 4 ? "" : ["Lyon", "Paris", "Nice"][i % 3];
    const renewed = v > 14 ? "yes" : "no";
    lines.push([i, `2024-0${1 + (i % 9)}-1${i % 10}`, city, ["basic", "premium"][i % 2], i % 11 === 2 ? na : v, (i * 3.7) % 200, renewed].join(","));
  }
  return lines.join("\n") + "\n";
}

test("a corrected file uploaded under the same name is a new version the import node offers to read", async ({ page }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  const first = await uploadOnDataPage(page, project, "customers.csv", customers(300, "vists", "n/a"));
  const id = await createPipeline(page, "Last week's renewals", {
    format: "studio.pipeline/1", edges: [],
    nodes: [{ id: "import_csv", operator: "import_csv", params: { upload: String(first) }, position: { x: 0, y: 0 } }],
  });
  const run = await apiCall<{ id: number }>(page, "POST", "/api/runs/", { pipeline: id });
  await expect(async () => {
    expect((await apiCall<{ status: string }>(page, "GET", `/api/runs/${run.id}/`)).status).toBe("succeeded");
  }).toPass({ timeout: 60_000 });

  // This week: the corrected file, under the same name.
  await page.getByLabel("Choose files to upload").setInputFiles([{ name: "customers.csv", mimeType: "text/csv", buffer: Buffer.from(customers(400, "visits", "")) }]);
  const files = page.getByRole("table", { name: "Uploaded files" });
  await expect(files.getByRole("row", { name: /customers\.csv · version 2 of 2 \(newest\)/ })).toBeVisible();
  await expect(files.getByRole("row", { name: /customers\.csv · version 1 of 2 / })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/dataset-version-data-page.png` });
  // The same corrected file dropped again by mistake is the upload already there, not a third version.
  await page.getByLabel("Choose files to upload").setInputFiles([{ name: "customers.csv", mimeType: "text/csv", buffer: Buffer.from(customers(400, "visits", "")) }]);
  const already = page.getByRole("list", { name: "Uploads in progress" }).getByRole("status");
  await expect(already).toContainText(/Already uploaded: the same file as customers\.csv uploaded .*: nothing new was stored/);
  await expect(files.getByRole("row", { name: /customers\.csv · version 2 of 2 \(newest\)/ })).toBeVisible();
  await expect(files.getByRole("row", { name: /customers\.csv · version 3/ })).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/dataset-version-same-file-again.png` });
  await page.getByRole("button", { name: "Dismiss" }).click();
  await expect(already).toHaveCount(0);

  // Last week's pipeline: its import node says a newer file exists; the picker tells the two apart.
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await node(page, "import_csv").click();
  const panel = page.getByRole("complementary", { name: "Parameters" });
  const notice = panel.getByRole("status").filter({ hasText: "A newer customers.csv" });
  await expect(notice).toContainText(/A newer customers\.csv was uploaded .* \(version 2\); this node reads version 1, uploaded /);
  await expect(panel.getByRole("status").filter({ hasText: "vists is read as text" })).toBeVisible();
  const picker = panel.getByRole("combobox", { name: /^Upload/ });
  await expect(picker.getByRole("option", { name: /^customers\.csv \(version 1 of 2, uploaded .*, CSV, / })).toHaveCount(1);
  await expect(picker.getByRole("option", { name: /^customers\.csv \(version 2 of 2, uploaded .*, CSV, / })).toHaveCount(1);
  await page.screenshot({ path: `${SHOTS}/dataset-version-import-node.png` });

  await notice.getByRole("button", { name: "Read the newer customers.csv" }).click();
  await expect(notice).toHaveCount(0);
  await expect(panel.getByRole("status").filter({ hasText: "vists is read as text" })).toHaveCount(0);
  await expect(picker.locator("option:checked")).toHaveText(/version 2 of 2/);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved version v2")).toBeVisible();
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(/^Run #\d+: succeeded$/)).toHaveText(`Run #${run.id + 1}: succeeded`, { timeout: 60_000 });
  await page.getByRole("tab", { name: "Log", exact: true }).click();
  // the file as the person knows it, by its name (an upload's id is never shown)
  await expect(page.getByText("import_csv: read 400 rows x 7 columns from customers.csv")).toBeVisible();
  // Undo takes the switch back as one step.
  await page.keyboard.press("Control+z");
  await node(page, "import_csv").click();
  await expect(panel.getByRole("status").filter({ hasText: "A newer customers.csv" })).toBeVisible();

  // Or follow the newest: each run (a schedule's too) reads the newest customers.csv, and its log says which.
  await panel.getByRole("radiogroup", { name: "Which version" }).getByRole("radio", { name: /^the newest upload of this name/ }).check();
  await expect(panel.getByRole("status").filter({ hasText: "Follows the newest customers.csv: the next run reads version 2" })).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved version v3")).toBeVisible();
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(/^Run #\d+: succeeded$/)).toHaveText(`Run #${run.id + 2}: succeeded`, { timeout: 60_000 });
  await page.getByRole("tab", { name: "Log", exact: true }).click();
  await expect(page.getByText(/import_csv: reads upload \d+: customers\.csv, version 2 of 2 \(the newest of its name, followed\)/)).toBeVisible();
});
