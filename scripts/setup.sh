#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, skipping what is
# already there. Safe to run repeatedly; fast when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '[setup] %s\n' "$*"; }

# 1. Rust wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen CLI at exactly the version Cargo.lock pins.
if [ ! -f Cargo.lock ]; then cargo generate-lockfile; fi
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
TOOLS=${ONCEFETCH_TOOLS:-$ROOT/.tools}
WB_BIN=$TOOLS/wasm-bindgen-$WB_VERSION/bin
if [ ! -x "$WB_BIN/wasm-bindgen" ] || ! "$WB_BIN/wasm-bindgen" --version | grep -q " $WB_VERSION\$"; then
  say "installing wasm-bindgen-cli $WB_VERSION into $TOOLS (takes 2-3 minutes once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --no-default-features \
    --root "$TOOLS/wasm-bindgen-$WB_VERSION" --quiet
fi

# 3. Debian's Chromium and ChromeDriver for the browser tests.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  say "installing chromium and chromium-driver from Debian's packages"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

# 4. npm packages (root: build and test tools; www: the demo app).
npm_install() { # dir
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in ${dir#$ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_install "$ROOT"
[ -f "$ROOT/www/package.json" ] && npm_install "$ROOT/www"

# The path other scripts source to find the tools.
cat > "$TOOLS/env.sh" <<ENV
export PATH="$WB_BIN:$ROOT/node_modules/.bin:\$PATH"
export CHROMEDRIVER=/usr/bin/chromedriver
export CHROME_BIN=/usr/bin/chromium
ENV
say "ok (wasm-bindgen $WB_VERSION)"
