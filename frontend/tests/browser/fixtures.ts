import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Locator, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test-results");
mkdirSync(SHOTS, { recursive: true });

export const studioUrl = () => process.env.STUDIO_URL!;

/**
 * Every test fails on any console error or uncaught page error (issue 6): the fixture is automatic, so a test
 * need not ask for it. A test that asks for `consoleErrors` can also assert on the list mid-way.
 */
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
      });
      page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
      await use(errors);
      expect(errors, "console errors during the test").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export async function login(page: Page) {
  await page.goto(`${studioUrl()}/`);
  await page.getByLabel("User name").fill(process.env.STUDIO_USER!);
  await page.getByLabel("Password").fill(process.env.STUDIO_PASSWORD!);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Projects" })).toBeVisible();
}

/** Call the API from inside the page, with its session cookie and CSRF token, as the app does. */
export async function apiCall<T>(page: Page, method: string, url: string, body?: unknown): Promise<T> {
  return page.evaluate(
    async ({ method, url, body }) => {
      const csrf = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.slice(10) ?? "";
      const r = await fetch(url, {
        method,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    { method, url, body },
  );
}

export async function demoProjectId(page: Page): Promise<number> {
  const projects = await apiCall<{ results: { id: number; name: string }[] }>(page, "GET", "/api/projects/");
  const demo = projects.results.find((p) => p.name.startsWith("Demo"));
  if (!demo) throw new Error("no demo project");
  return demo.id;
}

export async function createPipeline(page: Page, name: string, graph?: unknown): Promise<number> {
  const project = await demoProjectId(page);
  const created = await apiCall<{ id: number }>(page, "POST", "/api/pipelines/", { project, name, ...(graph ? { graph } : {}) });
  return created.id;
}

/**
 * The demo's credit table imported, split, featurised and a GBDT trained on it: the pipeline the publish, canary,
 * component and partial-run specs start from. `split` and `trees` are what they vary.
 */
export function trainedGraph({ split = {}, trees = 10 }: { split?: Record<string, unknown>; trees?: number } = {}) {
  return {
    nodes: [
      { id: "import", operator: "import_csv", params: { path: "data/credit_default.csv" }, position: { x: 0, y: 0 } },
      { id: "split", operator: "split_random", params: split, position: { x: 0, y: 150 } },
      { id: "features", operator: "feature_extraction", params: { label: "default" }, position: { x: 0, y: 300 } },
      { id: "gbdt", operator: "train_gbdt", params: { n_estimators: trees, num_threads: 1 }, position: { x: 0, y: 450 } },
    ],
    edges: [
      { source: "import", source_port: "table", target: "split", target_port: "table" },
      { source: "split", source_port: "first", target: "features", target_port: "table" },
      { source: "features", source_port: "features", target: "gbdt", target_port: "features" },
    ],
  };
}

export const node = (page: Page, id: string) => page.getByTestId(`node-${id}`);

export function handle(page: Page, nodeId: string, kind: "source" | "target", port: string): Locator {
  return page.locator(`.react-flow__handle.${kind}[data-nodeid="${nodeId}"][data-handleid="${port}"]`);
}

/** Drag from one handle to another with the mouse, as a user does. */
export async function dragConnect(page: Page, from: Locator, to: Locator) {
  const a = (await from.boundingBox())!;
  const b = (await to.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2 + 10, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 10 });
  await page.mouse.up();
}

/** Drop operators from the palette onto the canvas at the given points, finding each by the palette's search. */
export async function dropFromPalette(page: Page, canvas: Locator, drops: [string, number, number][]) {
  const search = page.getByLabel("Search operators");
  for (const [op, x, y] of drops) {
    await search.fill(op);
    await page.getByTestId(`palette-${op}`).dragTo(canvas, { targetPosition: { x, y } });
    await expect(node(page, op)).toBeVisible();
  }
  await search.fill("");
}

/** import -> split -> features -> GBDT -> predict (with the test rows and the feature state) -> evaluate. */
export const TRAIN_AND_EVALUATE_EDGES: [string, string, string, string][] = [
  ["import_csv", "table", "split_random", "table"],
  ["split_random", "first", "feature_extraction", "table"],
  ["feature_extraction", "features", "train_gbdt", "features"],
  ["train_gbdt", "model", "predict", "model"],
  ["feature_extraction", "feature_state", "predict", "feature_state"],
  ["split_random", "second", "predict", "table"],
  ["predict", "table", "evaluate_binary", "table"],
];

/** Wire each [source node, its port, target node, its port] by dragging between the handles. */
export async function connectAll(page: Page, edges: [string, string, string, string][]) {
  for (const [s, sp, t, tp] of edges) await dragConnect(page, handle(page, s, "source", sp), handle(page, t, "target", tp));
}

/**
 * A newcomer's own CSV, as a spreadsheet exports it: an unnamed row-number column, a signup date, a city with a few
 * empty cells, a plan with one typo ("premuim", line 20), visits and spend with empty cells, a yes/no label.
 */
export function newcomerCsv(rows: number): string {
  const lines = [",signup_date,city,plan,visits,spend,renewed"];
  let seed = 11;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < rows; i++) {
    const date = new Date(Date.UTC(2023, 0, 1) + Math.floor(rand() * 700) * 86_400_000).toISOString().slice(0, 10);
    const plan = i === 18 ? "premuim" : ["basic", "premium", "family"][Math.floor(rand() * 3)];
    const city = i % 53 === 9 ? "" : ["Lyon", "Paris", "Nice"][Math.floor(rand() * 3)];
    const visits = Math.floor(rand() * 30);
    const spend = Math.round(rand() * 20000) / 100;
    const renewed = visits / 30 + (plan === "premium" ? 0.3 : 0) + 0.5 * rand() > 0.8 ? "yes" : "no";
    lines.push([i, date, city, plan, i % 37 === 5 ? "" : visits, i % 61 === 3 ? "" : spend, renewed].join(","));
  }
  return lines.join("\n") + "\n";
}

/** Upload a file with the Data page's file picker (the page must be open); its preview shows; returns the upload's id. */
export async function uploadOnDataPage(page: Page, project: number, name: string, body: string): Promise<number> {
  await page.getByLabel("Choose files to upload").setInputFiles([{ name, mimeType: "text/csv", buffer: Buffer.from(body) }]);
  await expect(page.getByRole("region", { name: `Preview of ${name}` })).toBeVisible();
  const uploads = await apiCall<{ results: { id: number; name: string }[] }>(page, "GET", `/api/uploads/?project=${project}&limit=500`);
  return uploads.results.find((u) => u.name === name)!.id;
}

/** No critical or serious accessibility violation on the page as it stands. */
export async function expectAccessible(page: Page, what: string) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")})`);
  expect(bad, `accessibility violations on ${what}`).toEqual([]);
}
