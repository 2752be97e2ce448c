#!/usr/bin/env bash
# Builds the npm package into dist/: release wasm -> wasm-opt -Oz (npm
# binaryen) -> the TypeScript facade (with its wasm interface) compiled by tsc.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${ONCEFETCH_TOOLS:-$PWD/.tools}
[ -f "$TOOLS/env.sh" ] || bash scripts/setup.sh
. "$TOOLS/env.sh"

# The shipped module needs no wasm-bindgen: its interface is src/abi.rs, driven
# by js/engine.ts (wasm-bindgen is only used by the browser tests).
cargo build --quiet --release --target wasm32-unknown-unknown --lib --no-default-features --features tiny
rm -rf js/wasm dist
mkdir -p dist/wasm
# The producers and target_features sections serve wasm-opt (done by now),
# not the browser: stripped from what ships. Rust's wasm layout leaves the
# first KB unused and the module's own memory starts zeroed, which lets
# wasm-opt fold a little more (--low-memory-unused, --zero-filled-memory).
wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-multivalue --low-memory-unused --zero-filled-memory \
  --strip-debug --strip-producers --strip-target-features \
  target/wasm32-unknown-unknown/release/oncefetch.wasm -o dist/wasm/oncefetch_bg.wasm
tsc -p js/tsconfig.json
printf '[build] dist/wasm/oncefetch_bg.wasm %s bytes, %s gzipped\n' \
  "$(wc -c < dist/wasm/oncefetch_bg.wasm)" "$(gzip -9c dist/wasm/oncefetch_bg.wasm | wc -c)"
