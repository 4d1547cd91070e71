import { defineConfig } from "@playwright/test";
import { chromiumLaunch } from "./tests/browser/chromium";

// Browser tests: a real studio (daphne + the huey worker) started by global-setup on a free port with a
// throw-away data dir, driven through Debian's Chromium. Screenshots land in test-results/ (not committed).
export default defineConfig({
  testDir: "tests/browser",
  testMatch: /.*\.spec\.ts$/,
  outputDir: "test-results/artifacts",
  globalSetup: "./tests/browser/global-setup.ts",
  timeout: 180_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    launchOptions: chromiumLaunch,
    viewport: { width: 1600, height: 1000 },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
