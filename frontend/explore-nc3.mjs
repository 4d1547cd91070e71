// Throw-away newcomer walk (not committed): make run on :8730, the browser only.
import { chromium } from "@playwright/test";
import { readFileSync } from "node:fs";
const URL = "http://127.0.0.1:8730";
const SHOTS = "/tmp/nc3/shots";
const pw = readFileSync(process.env.PWFILE, "utf8").trim();
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
const errors = [];
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
page.on("pageerror", (e) => errors.push(String(e)));
const shot = async (n) => { await page.screenshot({ path: `${SHOTS}/${n}.png` }); console.log("shot", n); };
const step = process.argv[2] ?? "all";
await page.goto(URL + "/");
await page.getByLabel("User name").fill("admin");
await page.getByLabel("Password").fill(pw);
await page.getByRole("button", { name: "Log in" }).click();
await page.getByRole("heading", { name: "Projects" }).waitFor();
await shot("01-projects");
if (step === "all" || step === "upload") {
  await page.getByRole("link", { name: /Demo/ }).first().click().catch(async () => { await page.getByText(/Demo/).first().click(); });
  await page.waitForTimeout(1500);
  await shot("02-project");
  await page.getByRole("button", { name: "Data" }).click().catch(() => page.getByRole("link", { name: "Data" }).click());
  await page.waitForTimeout(1000);
  await shot("03-data");
  await page.getByLabel("Choose files to upload").setInputFiles("/tmp/nc3/renewals.csv");
  await page.getByRole("region", { name: "Preview of renewals.csv" }).waitFor();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${SHOTS}/04-preview.png`, fullPage: true });
}
const node = (id) => page.getByTestId(`node-${id}`);
const handle = (n, kind, port) => page.locator(`.react-flow__handle.${kind}[data-nodeid="${n}"][data-handleid="${port}"]`);
async function drag(from, to) {
  const a = await from.boundingBox(); const b = await to.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2); await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2 + 10, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 10 }); await page.mouse.up();
}
if (step === "all" || step === "canvas") {
  await page.goto(URL + "/");
  await page.getByRole("link", { name: /^Demo/ }).click();
  await page.waitForTimeout(800);
  await page.getByLabel("New pipeline name").fill("Renewals " + Date.now());
  await page.getByRole("button", { name: "Create pipeline" }).click();
  const canvas = page.getByTestId("canvas");
  await canvas.waitFor();
  await shot("05-empty-canvas");
  const search = page.getByLabel("Search operators");
  for (const [op, x, y] of [["import_csv", 250, 30], ["split_random", 250, 120], ["feature_extraction", 250, 210], ["train_gbdt", 150, 310], ["predict", 450, 390], ["evaluate_binary", 650, 460], ["publish_model", 650, 250]]) {
    await search.fill(op);
    await page.getByTestId(`palette-${op}`).dragTo(canvas, { targetPosition: { x, y } });
    await node(op).waitFor();
  }
  await search.fill("");
  await shot("06-dropped");
  await node("import_csv").click();
  const form = page.getByTestId("param-panel");
  await shot("07-import-form");
  const upload = form.getByLabel("Upload");
  console.log("upload tag", await upload.evaluate((e) => e.tagName + " " + e.outerHTML.slice(0, 300)));
  const edges = [["import_csv", "table", "split_random", "table"], ["split_random", "first", "feature_extraction", "table"],
    ["feature_extraction", "features", "train_gbdt", "features"], ["train_gbdt", "model", "predict", "model"],
    ["feature_extraction", "feature_state", "predict", "feature_state"], ["split_random", "second", "predict", "table"],
    ["predict", "table", "evaluate_binary", "table"], ["train_gbdt", "model", "publish_model", "model"],
    ["feature_extraction", "feature_state", "publish_model", "feature_state"], ["split_random", "second", "publish_model", "table"]];
  await page.keyboard.press("Escape");
  for (const [s1, sp, t, tp] of edges) await drag(handle(s1, "source", sp), handle(t, "target", tp));
  console.log("edges", await page.locator(".react-flow__edge").count());
  await shot("08-wired");
  await node("import_csv").click();
  await form.getByLabel("Upload").selectOption({ label: "renewals.csv (CSV, 17.7 KB)" });
  await node("feature_extraction").click();
  await page.waitForTimeout(500);
  await shot("09-features-form");
  await form.getByLabel("Label", { exact: true }).fill("renewed");
  await node("evaluate_binary").click();
  await page.waitForTimeout(300);
  await shot("10-evaluate-form");
  await node("publish_model").click();
  await form.getByLabel("Deployment").fill("renewals-" + (Date.now() % 100000));
  await shot("11-publish-form");
  await page.getByTestId("run-all").click();
  await page.waitForFunction(() => { const s = document.querySelector('[data-testid="run-status"]')?.getAttribute("data-status"); return ["succeeded", "failed", "cancelled"].includes(s); }, null, { timeout: 240000 });
  console.log("run status", await page.getByTestId("run-status").getAttribute("data-status"), await page.getByTestId("run-status").textContent());
  await shot("12-after-run");
  await node("evaluate_binary").click();
  await page.waitForTimeout(1500);
  await shot("13-evaluate-out");
  await page.getByRole("tab", { name: "Log" }).click().catch(() => page.getByRole("button", { name: "Log" }).click());
  await page.waitForTimeout(500);
  await shot("14-log");
  console.log("url", page.url());
}
if (step === "results") {
  await page.goto(URL + "/pipelines/6");
  await node("evaluate_binary").waitFor();
  await shot("19-open");
  console.log(await page.getByRole("button").evaluateAll((bs) => bs.map((b) => b.getAttribute("aria-label") || b.textContent).join(" | ")));
  await page.getByRole("button", { name: "Fit view", exact: true }).click();
  await page.waitForTimeout(500);
  await node("evaluate_binary").click();
  await page.getByRole("tab", { name: "Outputs" }).click().catch(() => page.getByRole("button", { name: "Outputs" }).click());
  await page.waitForTimeout(1500);
  await shot("20-eval-outputs");
  await page.getByTestId("output-tab-report").click().catch(() => {});
  await page.waitForTimeout(1500);
  await shot("21-eval-report");
  await node("publish_model").click();
  await page.waitForTimeout(1000);
  await shot("22-publish-out");
  await page.getByRole("link", { name: "Deployments" }).click();
  await page.waitForTimeout(1500);
  await shot("23-deployments");
  await page.getByRole("link", { name: /renewals-/ }).first().click();
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${SHOTS}/24-deployment.png`, fullPage: true });
}
if (step === "tryit") {
  await page.getByRole("link", { name: "Deployments" }).click();
  await page.getByRole("link", { name: /renewals-/ }).first().click();
  await page.getByRole("heading", { name: "Try it" }).waitFor();
  await page.getByRole("combobox", { name: /^age/ }).selectOption({ index: 3 });
  await page.getByRole("spinbutton", { name: /^tenure_months/ }).fill("12");
  await page.getByRole("button", { name: "Score" }).click();
  await page.waitForTimeout(2500);
  await page.getByRole("heading", { name: "Try it" }).scrollIntoViewIfNeeded();
  await shot("30-tryit-nokey");
  await page.getByRole("button", { name: "Regenerate primary key" }).click();
  await page.waitForTimeout(1500);
  await shot("31-regenerated");
  await page.getByRole("button", { name: "Score" }).click();
  await page.waitForTimeout(2500);
  await shot("32-tryit-key");
}
if (step === "schedule") {
  await page.goto(URL + "/pipelines/6");
  await page.getByRole("link", { name: "Schedule this pipeline" }).click().catch(() => page.getByRole("button", { name: "Schedule this pipeline" }).click());
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${SHOTS}/40-schedule.png`, fullPage: true });
}
if (step === "more") {
  await page.goto(URL + "/pipelines/6");
  await page.getByText("Schedule this pipeline").click();
  await page.getByRole("button", { name: "Create schedule" }).waitFor();
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.waitForTimeout(2000);
  await page.screenshot({ path: `${SHOTS}/51-schedule-created.png`, fullPage: true });
  await page.getByRole("button", { name: "Run now" }).click();
  await page.waitForTimeout(8000);
  await page.screenshot({ path: `${SHOTS}/52-run-now.png`, fullPage: true });
}
console.log("errors", errors);
await browser.close();
