// A newcomer's walk with components (walk5): a model trained inside a component is published from its component
// node on the canvas, and the component page says so when what was typed is not JSON or does not validate,
// instead of "Nothing changed" or a plain "Published v2" that breaks the pipelines following it.
import { apiCall, createPipeline, expect, login, node, studioUrl, test, trainedGraph } from "./fixtures";

const TRAINED = trainedGraph();

test("a model trained inside a component publishes from the component node; the component page names bad parameters", async ({ page }) => {
  await login(page);
  const suffix = Date.now() % 100000;
  const name = `train ${suffix}`;
  const slug = name.replace(" ", "_");
  const pipeline = await createPipeline(page, `Trains in a component ${suffix}`, TRAINED);

  await page.goto(`${studioUrl()}/pipelines/${pipeline}`);
  await node(page, "features").click();
  await node(page, "gbdt").click({ modifiers: ["Shift"] });
  await page.getByRole("button", { name: "Make component" }).click();
  await page.getByLabel("Component name").fill(name);
  await page.getByRole("button", { name: "Create component" }).click();
  await expect(node(page, slug)).toContainText(name);
  await page.getByTestId("run-all").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 150_000 });

  // The component node holds the model: its outputs show as a training node's do, and it offers Publish….
  await node(page, slug).click();
  // a component follows the latest version: no empty "v" after its name
  await expect(page.getByRole("complementary", { name: "Parameters" })).toContainText(`component:${name} — Component ${name}`);
  await page.getByRole("tab", { name: "Outputs", exact: true }).click();
  await expect(page.getByTestId("outputs")).toContainText("419 from 10 columns"); // the feature state port
  await page.getByTestId("outputs").getByRole("tab", { name: "Model" }).click();
  await expect(page.getByTestId("outputs")).toContainText(/trees/i);
  await page.screenshot({ path: "test-results/walk5-component-outputs.png", fullPage: true });
  await page.getByRole("button", { name: "Publish…" }).click();
  await page.getByLabel("Deployment name").fill(`in-component-${suffix}`);
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await expect(page.getByRole("heading", { name: `in-component-${suffix}` })).toBeVisible();
  await expect(page.getByTestId("version-row-1")).toContainText(`${slug}.gbdt`);
  await page.screenshot({ path: "test-results/walk5-published-from-component.png", fullPage: true });

  // The component page: text that is not JSON is named, never dropped as "Nothing changed".
  const components = await apiCall<{ results: { id: number; name: string }[] }>(page, "GET", "/api/components/");
  const id = components.results.find((c) => c.name === name)!.id;
  await page.goto(`${studioUrl()}/components/${id}`);
  const features = page.getByLabel(/Parameters of features/);
  await features.fill('{label: "default"');
  await expect(page.getByText("Not a JSON object")).toBeVisible();
  await page.getByRole("button", { name: "Publish new version" }).click();
  await expect(page.getByRole("status")).toHaveText("Not published: the parameters of features are not a JSON object");

  // A version that does not validate is published (the API keeps its errors) and the page says what breaks.
  await features.fill(JSON.stringify({ label: "default", mode: "fast" }));
  await page.getByRole("button", { name: "Publish new version" }).click();
  const status = page.getByRole("status");
  await expect(status).toContainText("Published v2, which does not validate:");
  await expect(status).toContainText("parameter 'mode'");
  await expect(status).toContainText(`The pipelines following the latest (Trains in a component ${suffix}) will fail at their next run`);
  await page.screenshot({ path: "test-results/walk5-component-invalid.png", fullPage: true });
});
