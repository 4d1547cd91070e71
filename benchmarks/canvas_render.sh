#!/usr/bin/env bash
# Canvas figures: time from navigation to all nodes of a generated 500-node pipeline rendered, in headless
# Chromium against a real studio; and the production bundle's size, gzipped.
# Run from the repository root after `make frontend`:  bash benchmarks/canvas_render.sh
set -euo pipefail
cd "$(dirname "$0")/../frontend"
npm run build >/dev/null
echo "bundle (gzip -9 of each file; plotly.js is a separate chunk loaded on first chart):"
total=0
for f in dist/assets/*.js dist/assets/*.css; do
  size=$(gzip -9 -c "$f" | wc -c)
  total=$((total + size))
  printf "  %-45s %8d bytes gzipped\n" "$(basename "$f")" "$size"
done
echo "  total                                         $total bytes gzipped"
npx playwright test -c playwright.bench.config.ts 2>&1 | grep -E "500 nodes|passed|failed|Error"
