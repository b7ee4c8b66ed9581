#!/usr/bin/env bash
# Installs code-server (real VS Code, from npm) for the VS Code end-to-end tests, once, into
# ~/.cache/trainyard/code-server-<version> (outside the repo, keyed by version). Needs Node >= 22
# with headers (scripts/node-env.sh sets npm_config_nodedir) and Debian's libkrb5-dev (native
# module build). Prints the path of the code-server binary. About 200 s the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ty_node_env

VERSION="${TRAINYARD_CODE_SERVER_VERSION:-4.139.1}"
CACHE="${TRAINYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}"
DIR="$CACHE/code-server-$VERSION"
BIN="$DIR/node_modules/.bin/code-server"

if [ ! -x "$BIN" ] || [ ! -f "$DIR/.complete" ]; then
  if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
    ty_log "installing system packages with apt: libkrb5-dev"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libkrb5-dev >&2
  fi
  ty_log "installing code-server@$VERSION into $DIR (about 200 s, once)"
  rm -rf "$DIR"; mkdir -p "$DIR"
  (cd "$DIR" && echo '{"name":"code-server-cache","private":true}' > package.json &&
    npm_config_yes=true npm install --unsafe-perm --foreground-scripts --no-audit --no-fund \
      "code-server@$VERSION" >"$DIR/install.log" 2>&1) || {
    ty_log "code-server install failed; see $DIR/install.log"; tail -20 "$DIR/install.log" >&2; exit 1; }
  touch "$DIR/.complete"
fi
echo "$BIN"
