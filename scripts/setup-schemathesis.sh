#!/usr/bin/env bash
# Schemathesis (from PyPI) for test/api/schemathesis.test.ts: a venv cached outside the repo,
# made once. Prints the path of its `schemathesis` command on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ty_node_env  # also sets TRAINYARD_CACHE
ST_VERSION=4.32.5
VENV="${TRAINYARD_SCHEMATHESIS_VENV:-$TRAINYARD_CACHE/schemathesis-$ST_VERSION-venv}"
if [ ! -x "$VENV/bin/schemathesis" ] || [ ! -f "$VENV/.trainyard-ready" ]; then
  ty_log "creating the schemathesis $ST_VERSION venv in $VENV"
  python3 -c 'import ensurepip' 2>/dev/null || ty_apt_ensure "/nonexistent/ensurepip:python3-venv"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION" >&2
  touch "$VENV/.trainyard-ready"
fi
echo "$VENV/bin/schemathesis"
