import { defineConfig } from "@playwright/test";
import { chromiumLaunch } from "./tests/browser/chromium";

// Benchmarks (not part of `make test`): benchmarks/canvas_render.sh runs them and prints the figures.
export default defineConfig({
  testDir: "tests/bench",
  testMatch: /.*\.bench\.ts$/,
  outputDir: "test-results/bench",
  globalSetup: "./tests/browser/global-setup.ts",
  timeout: 300_000,
  workers: 1,
  reporter: [["list"]],
  use: { launchOptions: chromiumLaunch, viewport: { width: 1600, height: 1000 } },
});
