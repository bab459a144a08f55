#!/usr/bin/env bash
# README's main job: sets everything up (idempotent), then runs lastframe's demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/lastframe.js demo "$@"
