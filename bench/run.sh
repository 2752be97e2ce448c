#!/usr/bin/env bash
# `npm run bench`: builds the package (skip with BENCH_SKIP_BUILD=1), then runs
# the benchmark in headless Chromium and writes bench/RESULTS.md.
# Not part of `npm test`. Extra arguments go to bench/run.mjs (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/esbuild ] && [ -d node_modules/wretch ] || npm install --no-audit --no-fund
if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then bash scripts/build.sh; fi
exec node bench/run.mjs "$@"
