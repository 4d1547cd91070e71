import { apiCall, createPipeline, demoProjectId, expect, expectAccessible, login, newcomerCsv, SHOTS, studioUrl, test, uploadOnDataPage } from "./fixtures";

// A quick pipeline with a declared parameter: the schedule's form shows a field for it.
const GRAPH = {
  format: "studio.pipeline/1",
  parameters: { ratio: { type: "number", default: 0.7, description: "Share of rows in the first part" } },
  nodes: [
    { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
    { id: "split", operator: "split_random", params: { ratio: { $param: "ratio" } }, position: { x: 0, y: 150 } },
  ],
  edges: [{ source: "import", source_port: "table", target: "split", target_port: "table" }],
};

test("schedule a pipeline from its page: plain-language preview, next fire times, run now, history, disable", async ({ page }) => {
  await login(page);
  const name = `nightly-${Date.now()}`;
  const pipeline = await createPipeline(page, `scheduled-${Date.now()}`, GRAPH);
  await page.goto(`${process.env.STUDIO_URL}/pipelines/${pipeline}`);
  await page.getByRole("button", { name: "Schedule this pipeline" }).click();

  // The editor: cron field with its plain-language preview in the chosen zone and the next five fire times.
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Cron expression").fill("0 2 * * 1-5");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await expect(page.getByTestId("cron-preview")).toHaveText("At 02:00, Monday through Friday, Europe/Berlin");
  const next = page.getByRole("list", { name: "Next fire times" }).getByRole("listitem");
  await expect(next).toHaveCount(5);
  await expect(next.first()).toContainText("02:00 (Europe/Berlin)");
  // An expression that cannot be read has no preview and no fire times.
  await page.getByLabel("Cron expression").fill("61 2 * * *");
  await expect(page.getByTestId("cron-preview")).toHaveText("Not a cron expression yet.");
  await expect(next).toHaveCount(0);
  await page.getByLabel("Cron expression").fill("0 2 * * 1-5");
  await expect(next).toHaveCount(5);
  // The pipeline's parameter is a generated field; policies are fields too.
  await page.getByLabel("ratio").fill("0.6");
  await page.getByLabel("Retries after a failure").fill("1");
  await page.getByLabel("While the previous run is still going").selectOption("queue");
  await page.getByRole("button", { name: "Create schedule" }).click();

  // The schedule's page: run now, and watch the run finish in its history.
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await expect(page.getByText("At 02:00, Monday through Friday, Europe/Berlin")).toBeVisible();
  await page.getByRole("button", { name: "Run now" }).click();
  const history = page.getByRole("table", { name: "History" });
  const row = history.getByRole("row").nth(1);
  await expect(row.getByRole("cell").nth(1)).toHaveText("manual");
  await expect(row.getByText("succeeded")).toBeVisible({ timeout: 120_000 });
  const run = row.getByRole("link", { name: /Run #\d+/ });
  const runId = Number((await run.textContent())!.replace(/\D/g, ""));
  const stored = await apiCall<{ params: Record<string, unknown>; trigger: { type: string } }>(page, "GET", `/api/runs/${runId}/`);
  expect(stored.trigger.type).toBe("schedule");
  expect(stored.params.ratio).toBe(0.6);
  expect(String(stored.params.run_date)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  await page.screenshot({ path: `${SHOTS}/schedule-detail.png`, fullPage: true });

  // Backfill three past weekdays (Monday to Wednesday two weeks ago): three runs; the same again makes none.
  const monday = new Date();
  monday.setUTCDate(monday.getUTCDate() - 14 - ((monday.getUTCDay() + 6) % 7));
  const day = (offset: number) => new Date(monday.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  const backfill = page.getByRole("form", { name: "Backfill" });
  await backfill.getByLabel("From").fill(day(0));
  await backfill.getByLabel("To").fill(day(2));
  await backfill.getByRole("button", { name: "Backfill" }).click();
  await expect(backfill.getByRole("status")).toHaveText("3 run(s) started; 0 fire time(s) had run already.");
  await expect(history.getByRole("row").filter({ hasText: "backfill" })).toHaveCount(3);
  await backfill.getByRole("button", { name: "Backfill" }).click();
  await expect(backfill.getByRole("status")).toHaveText("0 run(s) started; 3 fire time(s) had run already.");
  await expect(history.getByRole("row").filter({ hasText: "backfill" })).toHaveCount(3);

  // Disable it: the switch says so, and no next fire time is shown.
  const toggle = page.getByRole("switch", { name: `Enabled: ${name}` });
  await expect(toggle).toBeChecked();
  await toggle.click();
  await expect(toggle).not.toBeChecked();
  await expect(page.getByText("Disabled: it does not fire.")).toBeVisible();

  // The Schedules page lists it with its last run, disabled; axe finds no serious violation there.
  await page.getByRole("link", { name: "← Schedules" }).click();
  const listed = page.getByRole("row").filter({ hasText: name });
  await expect(listed.getByText("succeeded")).toBeVisible();
  await expect(listed.getByRole("switch")).not.toBeChecked();
  await expect(listed.getByRole("link", { name: `run #${runId}` })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/schedules.png`, fullPage: true });
  await expectAccessible(page, "the Schedules page");

  // The run link opens the pipeline with that run.
  await listed.getByRole("link", { name: `run #${runId}` }).click();
  await expect(page.getByTestId("run-status")).toHaveText(`Run #${runId}: succeeded`);
});

test("a city typed as the time zone: the summary does not name it, the error names the field and the IANA zone", async ({ page, consoleErrors }) => {
  await login(page);
  const pipeline = await createPipeline(page, `zone-typo-${Date.now()}`, GRAPH);
  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await page.getByRole("button", { name: "Schedule this pipeline" }).click();
  // The pipeline has no publishing node: the form says its runs republish nothing, and which node to add.
  await expect(page.getByRole("note", { name: "Republishing" })).toContainText(
    "Scheduled runs retrain but republish nothing: this pipeline has no publish_if_better or publish_model node.");
  await page.screenshot({ path: `${SHOTS}/schedule-republish-note.png` });
  await page.getByLabel("Cron expression").fill("0 7 * * *");
  await page.getByLabel("Time zone").fill("Paris");

  // Beside the field: what is wrong and what to type; the summary says the time alone, not "At 07:00, Paris".
  await expect(page.getByRole("alert")).toHaveText("unknown time zone 'Paris'; did you mean Europe/Paris?");
  await expect(page.getByTestId("cron-preview")).toHaveText("At 07:00");
  await expect(page.getByRole("list", { name: "Next fire times" })).toHaveCount(0);

  // Saving anyway: the refusal names the field by its label, "Time zone", not the API's "timezone".
  await page.getByRole("button", { name: "Create schedule" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Not saved:" }))
    .toHaveText("Not saved: Time zone: unknown time zone 'Paris'; did you mean Europe/Paris?");
  await expect(page.getByLabel("Time zone")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("cron-preview")).toHaveText("At 07:00");

  // The suggested name: the refusal goes, the zone is back in the summary and the fire times show.
  await page.getByLabel("Time zone").fill("Europe/Paris");
  await expect(page.getByRole("list", { name: "Next fire times" }).getByRole("listitem")).toHaveCount(5);
  await expect(page.getByTestId("cron-preview")).toHaveText("At 07:00, Europe/Paris");
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(page.getByLabel("Time zone")).not.toHaveAttribute("aria-invalid");
  // The browser logs the two refusals (the preview's and the save's), and nothing else.
  expect(consoleErrors).toEqual([expect.stringContaining("status of 400"), expect.stringContaining("status of 400")]);
  consoleErrors.length = 0;
});

test("a schedule whose file was deleted on the Data page: its history says why the run failed and what to do", async ({ page }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  const upload = await uploadOnDataPage(page, project, "renewals-nightly.csv", newcomerCsv(200));
  const pipelineName = `renewals-${Date.now()}`;
  const pipeline = await createPipeline(page, pipelineName, {
    nodes: [
      { id: "import_csv", operator: "import_csv", params: { upload: String(upload) }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: {}, position: { x: 0, y: 150 } },
    ],
    edges: [{ source: "import_csv", source_port: "table", target: "split", target_port: "table" }],
  });
  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await page.getByRole("button", { name: "Schedule this pipeline" }).click();
  const name = `renewals-nightly-${Date.now()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Cron expression").fill("0 2 * * *");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  const schedule = page.url();

  // The file is deleted on the Data page: the browser's confirm names the pipeline and the schedule that read it.
  await page.goto(`${studioUrl()}/projects/${project}/data`);
  let question = "";
  page.once("dialog", (d) => { question = d.message(); void d.accept(); });
  await page.getByRole("row", { name: /renewals-nightly\.csv/ }).getByRole("button", { name: /^Delete/ }).click();
  await expect(page.getByRole("row", { name: /renewals-nightly\.csv/ })).toHaveCount(0);
  expect(question).toBe(`Delete the file “renewals-nightly.csv”? Used by: ${pipelineName} (pipeline), ${name} (schedule). `
    + "Their runs will fail at the import until another file is picked.");

  // Run now: the history says "failed" and, under it, the import node's own words (before, only "failed").
  await page.goto(schedule);
  await page.getByRole("button", { name: "Run now" }).click();
  const status = page.getByRole("table", { name: "History" }).getByRole("row").nth(1).getByRole("cell").nth(4);
  await expect(status).toContainText("failed", { timeout: 120_000 });
  // The file by the name the person knew it, not by an id they never saw.
  await expect(status).toContainText(
    "import_csv: the uploaded file 'renewals-nightly.csv' was deleted: pick a file for this node again, or upload it again");
  await expect(status).not.toContainText(`'${upload}'`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(width).toBeLessThanOrEqual(0);
  await page.screenshot({ path: `${SHOTS}/schedule-fire-reason.png` });
});

test("a name typed into a new schedule's form is the name saved, however slowly the form's data came", async ({ page }) => {
  await login(page);
  const pipeline = await createPipeline(page, `slow-members-${Date.now()}`, GRAPH);
  // The project's members (the e-mail choices) answer late, as on a busy server: the form used to show before
  // them, and its default name then replaced what the person had typed, or ran into it.
  await page.route(/\/api\/projects\/\d+\/members\//, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await page.getByRole("button", { name: "Schedule this pipeline" }).click();
  const name = `typed-${Date.now()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Cron expression").fill("0 3 * * *");
  await expect(page.getByRole("list", { name: "Next fire times" }).getByRole("listitem")).toHaveCount(5);
  // The members came (a box per member to e-mail): what was typed is still there.
  await expect(page.getByRole("group", { name: "E-mail on a final failure" }).getByRole("checkbox", { name: process.env.STUDIO_USER! })).toBeVisible();
  await expect(page.getByLabel("Name")).toHaveValue(name);
  await page.getByRole("button", { name: "Create schedule" }).click();
  await expect(page.getByRole("heading", { name, exact: true })).toBeVisible();
  await expect(page.getByText(/^At 03:00/)).toBeVisible();
});
