#!/usr/bin/env bash
# Runs every test layer: native unit tests and clippy, wasm-bindgen-test in
# headless Chromium, then the package build and the JS end-to-end tests
# (playwright-core + Chromium against the loopback reference server).
# Installs whatever is missing first (scripts/setup.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=${ONCEFETCH_TOOLS:-$ROOT/.tools}
bash scripts/setup.sh || exit 1
SETUP_S=$SECONDS
. "$TOOLS/env.sh"

LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
pass=0; fail=0; status=0
summary=()

# Adds the counts of one layer from its log; a non-zero exit always counts as a failure.
tally() { # name rc log kind
  local name=$1 rc=$2 log=$3 kind=$4 p=0 f=0
  case $kind in
    cargo) p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
           f=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}') ;;
    node)  p=$(grep -Eo '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
           f=$(grep -Eo '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ;;
  esac
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$rc" -ne 0 ] && status=1
  pass=$((pass + p)); fail=$((fail + f))
  summary+=("$(printf '%-34s %4d passed, %d failed' "$name" "$p" "$f")")
}

# Each layer's wall time goes into the summary (the warm-run budget is 2 minutes).
mark=$SECONDS; current=""; timings=()
lap() { [ -n "$current" ] && timings+=("$(printf '  %-60s %4ds' "$current" $((SECONDS - mark)))"); mark=$SECONDS; }
step() { lap; current=$*; printf '\n=== %s\n' "$*"; }

step "native unit tests (cargo test --workspace --lib)"
cargo test --workspace --lib 2>&1 | tee "$LOGS/native"; tally "native (cargo test)" "${PIPESTATUS[0]}" "$LOGS/native" cargo

step "clippy: no panic path (unwrap/expect/panic/indexing denied)"
# The shipped module (its own exports, src/abi.rs) and the browser tests' build (wasm-bindgen).
{ cargo clippy --quiet --workspace --lib --target wasm32-unknown-unknown --no-default-features --features oncefetch/tiny -- -D warnings \
  && cargo clippy --quiet --workspace --lib --target wasm32-unknown-unknown -- -D warnings; } 2>&1 | tee "$LOGS/clippy"
rc=${PIPESTATUS[0]}; [ "$rc" -ne 0 ] && { status=1; fail=$((fail + 1)); }
summary+=("$(printf '%-34s %s' "clippy (wasm32, -D warnings)" "$([ "$rc" -eq 0 ] && echo clean || echo FAILED)")")

step "fuzz: every cargo-fuzz target ~8 s, cached if unchanged"
bash scripts/fuzz.sh --quick 2>&1 | tee "$LOGS/fuzz"; rc=${PIPESTATUS[0]}
p=$(grep -Eo '^fuzz: [0-9]+ passed' "$LOGS/fuzz" | grep -Eo '[0-9]+' || echo 0)
f=$(grep -Eo '^fuzz: [0-9]+ passed, [0-9]+ failed' "$LOGS/fuzz" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0)
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
[ "$rc" -ne 0 ] && status=1
pass=$((pass + p)); fail=$((fail + f))
summary+=("$(printf '%-34s %4d passed, %d failed' "fuzz (cargo fuzz --quick)" "$p" "$f")")

step "browser edge: wasm-bindgen-test in headless Chromium"
cargo test --target wasm32-unknown-unknown --test web 2>&1 | tee "$LOGS/wasm"; tally "wasm-bindgen-test (Chromium)" "${PIPESTATUS[0]}" "$LOGS/wasm" cargo

step "build the package (and the demo app)"
if bash scripts/build.sh && { [ ! -f www/package.json ] || (cd www && node_modules/.bin/vite build --logLevel warn); }; then
  step "end-to-end: playwright-core + Chromium + loopback server"
  node --test --test-reporter=tap --test-concurrency=1 tests/e2e/*.test.mjs 2>&1 | tee "$LOGS/e2e"
  tally "end-to-end (node --test, Chromium)" "${PIPESTATUS[0]}" "$LOGS/e2e" node
else
  status=1; fail=$((fail + 1)); summary+=("build                              FAILED")
fi

lap
printf '\n=== summary\n'
printf 'time per step (setup %ds):\n' "$SETUP_S"
printf '%s\n' "${timings[@]}"
printf '  %-60s %4ds\n' "total" "$SECONDS"
printf '%s\n' "${summary[@]}"
printf 'total: %d passed, %d failed\n' "$pass" "$fail"
exit $status
