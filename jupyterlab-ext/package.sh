#!/usr/bin/env bash
# `npm run package:jupyterlab`: a clean wheel in jupyterlab-ext/dist/. Stale outputs are removed
# first (hatch's skip-if-exists would otherwise keep an old labextension in a new wheel); the
# build runs in the cached JupyterLab venv (jupyter-builder, hatchling) without isolation.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ty_node_env
VENV="$(bash scripts/setup-jupyterlab.sh venv)"
cd jupyterlab-ext
[ -d node_modules ] || npm ci --no-audit --no-fund >&2
npm run --silent typecheck >&2
rm -rf lib dist build trainyard_jupyterlab/labextension trainyard_jupyterlab/node
PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m build --wheel --no-isolation --outdir dist . >&2
ls dist/*.whl
