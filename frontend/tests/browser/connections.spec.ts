// A newcomer's own PostgreSQL table, reached from the browser alone: the Data page adds a database connection (a
// wrong URL is refused naming the field), and the SQL import node picks it by name from a list instead of asking
// for the name of something "defined in settings" that no screen showed.
import { execFileSync } from "node:child_process";
import { apiCall, createPipeline, demoProjectId, expect, login, node, SHOTS, studioUrl, test } from "./fixtures";

const DB = `shop_browser_${process.pid}`;
const psql = (db: string, sql: string) => execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]);

test.beforeAll(() => {
  psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
  psql("postgres", `CREATE DATABASE ${DB}`);
  psql(DB, "CREATE TABLE customers (customer_id text, region text, churned boolean); " +
    "INSERT INTO customers VALUES ('C0001', 'north', true), ('C0002', 'south', false), ('C0003', 'east', false)");
});
test.afterAll(() => psql("postgres", `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));

test("add a database connection on the Data page and pick it in an import_sql node", async ({ page, consoleErrors }) => {
  await login(page);
  const project = await demoProjectId(page);
  await page.goto(`${studioUrl()}/projects/${project}`);
  await page.getByRole("button", { name: "Data" }).click();
  const section = page.getByRole("region", { name: "Database connections" });
  await expect(section).toBeVisible();

  // A URL of no known database kind: refused, the message names the field.
  await section.getByLabel("Connection name").fill("shop");
  await section.getByLabel("Database URL").fill("shop-database");
  await section.getByRole("button", { name: "Add connection" }).click();
  await expect(section.getByRole("alert")).toContainText("url:");
  await page.screenshot({ path: `${SHOTS}/connections-refused.png` });
  expect(consoleErrors).toEqual([expect.stringContaining("status of 400")]);
  consoleErrors.length = 0;

  await section.getByLabel("Database URL").fill(`postgresql://postgres:secret@127.0.0.1:5432/${DB}`);
  await section.getByRole("button", { name: "Add connection" }).click();
  const row = section.getByRole("table", { name: "Database connections" }).getByRole("row", { name: /shop/ });
  await expect(row).toContainText("postgresql");
  await expect(row).toContainText(DB);
  await expect(row).not.toContainText("secret");
  await expect(section.getByRole("alert")).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/connections-data-page.png`, fullPage: true });

  // The import node offers the project's connections by name.
  const id = await createPipeline(page, "From my database", {
    format: "studio.pipeline/1",
    nodes: [{ id: "customers", operator: "import_sql", params: { table: "customers" }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await page.goto(`${studioUrl()}/pipelines/${id}`);
  await node(page, "customers").click();
  const panel = page.getByRole("complementary", { name: "Parameters" });
  const picker = panel.getByRole("combobox", { name: /Connection/ });
  await expect(picker.getByRole("option", { name: /shop \(postgresql/ })).toHaveCount(1);
  await picker.selectOption({ label: (await picker.getByRole("option", { name: /shop \(postgresql/ }).textContent())! });
  await expect(panel.getByRole("link", { name: /Add or manage connections/ })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/connections-picker.png` });

  await page.getByRole("button", { name: "Run all" }).click();
  await expect(page.getByText(/customers: read 3 rows x 3 columns from customers/)).toBeVisible();
  const graph = await apiCall<{ latest: { graph: { nodes: { params: Record<string, unknown> }[] } } }>(page, "GET", `/api/pipelines/${id}/`);
  expect(graph.latest.graph.nodes[0].params.connection).toBe("shop");
});
