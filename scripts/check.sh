#!/usr/bin/env bash
# Architecture and hygiene checks, run by CI (.ci/run) after the build: the layer order of src/ with no upward
# import and no cycle (dependency-cruiser, .dependency-cruiser.cjs), eslint with typescript-eslint, knip (no
# unused files, exports or dependencies), formatting, then the line count per layer. Fails on the first
# violation. `bash scripts/check.sh` (about a minute on 2 busy cores; needs `npm run build` first for the count).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\033[1m[check]\033[0m %s\n' "$*" >&2; }

step "layers and cycles (dependency-cruiser)"
npm run --silent check:layers
step "eslint"
npm run --silent check:lint
step "unused files, exports and dependencies (knip)"
npm run --silent check:unused
step "formatting (prettier)"
npx --no-install prettier --check --log-level=warn "src/**/*.ts" "test/**/*.ts" "tools/**/*.ts"
step "lines per layer"
npm run --silent size
