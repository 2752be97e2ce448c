#!/usr/bin/env bash
# `npm run demo`: installs what is missing, builds the package and the demo app
# (www/, React 19 + Vite, with oncefetch as an npm dependency), then serves it
# with the reference backend on 127.0.0.1 until Ctrl-C.
#   PORT=8080 npm run demo    # another port (default 5174)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-5174}
say() { printf '[demo] %s\n' "$*"; }

bash scripts/setup.sh
bash scripts/build.sh

say "building the demo app (www/)"
(cd www && node_modules/.bin/vite build --logLevel warn)

say "open http://127.0.0.1:$PORT/ (Ctrl-C stops the server)"
# exec: the server is the foreground process, so Ctrl-C reaches it directly.
exec node server/reference.mjs --host 127.0.0.1 --port "$PORT" --static /=www/dist
