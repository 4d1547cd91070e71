// The canvas's lint, run by `make lint` (so by `make test`): fix what it finds instead of silencing it.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  // build output, test reports, and the API types openapi-typescript generates (`make api-types`)
  { ignores: ["dist/", "test-results/", "playwright-report/", "src/api/schema.d.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // the app runs in the browser; the configs and the Playwright tests run in Node
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    // `const { title: _title, ...rest } = schema` is how a copy drops a key; tsc's noUnusedLocals accepts it too
    rules: { "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }] },
  },
  {
    // A hook called conditionally, or an effect missing a dependency, is a bug that shows only at run time.
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
  {
    // STYLE: no React component over ~200 lines (issue 13). A longer one is split into hooks and children.
    files: ["src/**/*.tsx"],
    rules: { "max-lines-per-function": ["error", { max: 200, skipBlankLines: true, skipComments: true }] },
  },
);
