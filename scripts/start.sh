#!/usr/bin/env bash
# `npm start`: does all set-up itself on a fresh clone (Node >= 22, npm ci when needed,
# the build), then runs `trainyard demo`: starts the server, runs the demo, keeps serving.
# Extra args go to the demo command: npm start -- --port 7879
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ty_node_env
ty_npm_ci
ty_build
[ -f backend/dist/trainyard.mjs ] || { ty_log "backend/dist/trainyard.mjs is missing (the build did not produce it)"; exit 1; }
exec node backend/dist/trainyard.mjs demo "$@"
