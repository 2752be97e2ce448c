#!/usr/bin/env bash
# Builds the npm package into dist/: release wasm -> wasm-bindgen (--target web)
# -> wasm-opt -Oz (npm binaryen) -> the TypeScript facade compiled by tsc.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${ONCEFETCH_TOOLS:-$PWD/.tools}
[ -f "$TOOLS/env.sh" ] || bash scripts/setup.sh
. "$TOOLS/env.sh"

cargo build --quiet --release --target wasm32-unknown-unknown --lib --features tiny
rm -rf js/wasm dist
mkdir -p js/wasm dist/wasm
wasm-bindgen target/wasm32-unknown-unknown/release/oncefetch.wasm \
  --target web --out-dir js/wasm --out-name oncefetch
# The producers and target_features sections serve wasm-bindgen and wasm-opt
# (both done by now), not the browser: stripped from what ships.
wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  --strip-producers --strip-target-features \
  js/wasm/oncefetch_bg.wasm -o dist/wasm/oncefetch_bg.wasm
cp js/wasm/oncefetch.js js/wasm/oncefetch.d.ts dist/wasm/
tsc -p js/tsconfig.json
printf '[build] dist/wasm/oncefetch_bg.wasm %s bytes, %s gzipped\n' \
  "$(wc -c < dist/wasm/oncefetch_bg.wasm)" "$(gzip -9c dist/wasm/oncefetch_bg.wasm | wc -c)"
