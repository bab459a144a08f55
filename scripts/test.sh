#!/usr/bin/env bash
# README's test command: sets everything up (idempotent), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/run-tests.js "$@"
