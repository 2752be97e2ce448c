#!/usr/bin/env bash
# Fuzzes every parser of outside input in oncefetch's pure core with cargo-fuzz
# (libFuzzer): stored entries, Retry-After, key/action validation, action
# identity, and the store's state machine (see fuzz/README.md).
#
#   bash scripts/fuzz.sh --quick        # each target ~8 s (2 at a time): the test run
#                                       # (a target whose inputs are unchanged since it
#                                       # passed here is not re-run; FUZZ_FORCE=1 re-runs)
#   bash scripts/fuzz.sh                # each target 5 min (npm run fuzz)
#   bash scripts/fuzz.sh store_ops      # only the named target(s)
#   FUZZ_SECONDS=60 bash scripts/fuzz.sh
#   bash scripts/fuzz.sh --strict       # also assert the properties the library breaks today
#
# First replays the committed seeds and regression tests (cargo test, stable),
# then fuzzes. Needs the nightly toolchain; without it, says so and exits 0.
# Installs cargo-fuzz into .tools/ when it is missing. New inputs go to
# fuzz/target/corpus/ (git-ignored; fuzz/corpus/ holds the committed seeds),
# crashes to fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=${ONCEFETCH_TOOLS:-$ROOT/.tools}
say() { printf '[fuzz] %s\n' "$*"; }

SECONDS_EACH=${FUZZ_SECONDS:-300}
# --quick (the test run) starts from a fixed seed, so it replays the same
# exploration every time instead of a new random one; FUZZ_SEED overrides.
SEED=${FUZZ_SEED:-}
JOBS=${FUZZ_JOBS:-2}
QUICK=0
FEATURES=()
TARGETS=()
for arg in "$@"; do
  case $arg in
    --quick) SECONDS_EACH=${FUZZ_SECONDS:-8}; SEED=${FUZZ_SEED:-1}; QUICK=1 ;;
    --strict) FEATURES=(--features strict) ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) say "unknown option $arg"; exit 2 ;;
    *) TARGETS+=("$arg") ;;
  esac
done
ALL=(entry_parse entry_roundtrip validate action_identity store_ops)
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

# 1. The nightly toolchain (libFuzzer's instrumentation needs -Z flags).
have_nightly() {
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain list 2>/dev/null | grep -q '^nightly' || return 1
  fi
  cargo +nightly --version >/dev/null 2>&1
}
if ! have_nightly; then
  say "SKIPPED: no nightly Rust toolchain (cargo +nightly); install it with: rustup toolchain install nightly --profile minimal"
  exit 0
fi

# 2. cargo-fuzz, into .tools/ like the other build tools.
export PATH="$TOOLS/cargo-fuzz/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz into $TOOLS/cargo-fuzz (takes 1-2 minutes once)"
  cargo install cargo-fuzz --locked --quiet --root "$TOOLS/cargo-fuzz" \
    || cargo install cargo-fuzz --quiet --root "$TOOLS/cargo-fuzz" \
    || { say "FAILED: could not install cargo-fuzz"; exit 1; }
fi

# 3. Seeds and regression tests, on stable: cheap, and what a crash fix is checked with.
say "replaying seeds and regression tests (cargo test --manifest-path fuzz/Cargo.toml)"
mkdir -p fuzz/target
if ! cargo test --quiet --manifest-path fuzz/Cargo.toml >fuzz/target/cargo-test.log 2>&1; then
  cat fuzz/target/cargo-test.log
  say "FAILED: seeds or regression tests"
  printf 'fuzz: 0 passed, 1 failed\n'
  exit 1
fi
grep -E '^test result' fuzz/target/cargo-test.log | sed 's/^/[fuzz]   /'

# 4. Build every target once (release, debug assertions and overflow checks on).
SANITIZER=${FUZZ_SANITIZER:-none}
FUZZ_FLAGS=(--sanitizer "$SANITIZER" --debug-assertions "${FEATURES[@]}")
say "building the fuzz targets (cargo +nightly fuzz build, sanitizer $SANITIZER)"
if ! cargo +nightly fuzz build "${FUZZ_FLAGS[@]}" >fuzz/target/build.log 2>&1; then
  tail -40 fuzz/target/build.log
  say "FAILED: build"
  printf 'fuzz: 0 passed, 1 failed\n'
  exit 1
fi

# 5. --quick remembers a passing run: with the same sources (the crates, the
# fuzz targets, the lock files, this script), toolchain, seed and time, the
# fixed-seed run has nothing new to check, like a build system's cached test
# result. Anything else, or FUZZ_FORCE=1, runs the target again.
cached=0
STAMP=""
if [ "$QUICK" = 1 ] && [ "${FUZZ_FORCE:-0}" != 1 ]; then
  # (The generated corpus in fuzz/target/corpus/ also feeds each run and is not
  # hashed: a cached pass means these sources passed this seeded run here.)
  inputs=$( { git ls-files -z -co --exclude-standard -- src crates fuzz Cargo.toml Cargo.lock scripts/fuzz.sh 2>/dev/null \
              || find src crates fuzz Cargo.toml Cargo.lock scripts/fuzz.sh -type f -not -path 'fuzz/target/*' -not -path 'fuzz/artifacts/*' -print0; } \
            | grep -zv '^fuzz/target/\|^fuzz/artifacts/' | LC_ALL=C sort -z | xargs -0 sha256sum 2>/dev/null
            cargo +nightly --version; cargo fuzz --version 2>/dev/null
            echo "$SECONDS_EACH $SEED ${FEATURES[*]} ${FUZZ_SANITIZER:-none} ${RUSTFLAGS:-}" )
  STAMP=$(printf '%s' "$inputs" | sha256sum | cut -c1-16)
  mkdir -p fuzz/target/passed
  left=()
  for t in "${TARGETS[@]}"; do
    if [ -f "fuzz/target/passed/$t.$STAMP" ]; then
      printf '[fuzz]   %-16s ok      (cached: passed with these inputs on %s; FUZZ_FORCE=1 re-runs)\n' "$t" "$(cat "fuzz/target/passed/$t.$STAMP")"
      cached=$((cached + 1))
    else
      left+=("$t")
    fi
  done
  TARGETS=("${left[@]}")
fi

# 6. Fuzz, $JOBS targets at a time, each for $SECONDS_EACH seconds.
[ ${#TARGETS[@]} -gt 0 ] && say "fuzzing ${#TARGETS[@]} target(s), ${SECONDS_EACH}s each, $JOBS at a time"
fuzz_one() { # target
  local t=$1 work=fuzz/target/corpus/$1 log=fuzz/target/fuzz-$1.log
  mkdir -p "$work" "fuzz/corpus/$t"
  # The first corpus directory receives new inputs; the seeds are only read.
  cargo +nightly fuzz run "${FUZZ_FLAGS[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${SEED:+-seed="$SEED"} >"$log" 2>&1
}
pass=0; fail=0; failed=()
report() { # target rc
  local t=$1 rc=$2 log=fuzz/target/fuzz-$1.log runs cov
  runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+')
  if [ "$rc" -eq 0 ]; then
    pass=$((pass + 1))
    [ -n "${STAMP:-}" ] && date -u '+%Y-%m-%d %H:%M UTC' >"fuzz/target/passed/$t.$STAMP"
    printf '[fuzz]   %-16s ok      %9s runs, coverage %s\n' "$t" "${runs:-?}" "${cov:-?}"
  else
    fail=$((fail + 1)); failed+=("$t")
    printf '[fuzz]   %-16s FAILED  (log: %s)\n' "$t" "$log"
    grep -E "panicked at|assertion|left:|right:|Test unit written" "$log" | head -8 | sed 's/^/[fuzz]     /'
    local crash
    crash=$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //')
    if [ -n "$crash" ]; then
      say "    inspect: cargo +nightly fuzz fmt ${FUZZ_FLAGS[*]} $t $crash"
      say "    replay:  cargo +nightly fuzz run ${FUZZ_FLAGS[*]} $t $crash"
    fi
  fi
}
pending=("${TARGETS[@]}")
while [ ${#pending[@]} -gt 0 ]; do
  batch=("${pending[@]:0:$JOBS}")
  pending=("${pending[@]:$JOBS}")
  pids=()
  for t in "${batch[@]}"; do fuzz_one "$t" & pids+=($!); done
  for i in "${!batch[@]}"; do
    wait "${pids[$i]}"; report "${batch[$i]}" $?
  done
done

if [ "$fail" -gt 0 ]; then say "failed: ${failed[*]} (crashes in fuzz/artifacts/)"; fi
printf 'fuzz: %d passed, %d failed%s\n' "$((pass + cached))" "$fail" "$([ "$cached" -gt 0 ] && echo " ($cached cached)")"
[ "$fail" -eq 0 ]
