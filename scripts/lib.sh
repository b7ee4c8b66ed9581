# Shared set-up for scripts/start.sh and scripts/test.sh (sourced, from the repo root).
#   ty_node_env   - Node >= 22 first on PATH (scripts/node-env.sh)
#   ty_npm_ci     - `npm ci` only when node_modules is missing or older than package-lock.json
#   ty_build      - `npm run build` (skipped with a message while backend/build.mjs does not exist)
#   ty_apt_ensure - install, with apt, only the Debian packages whose command is missing
# Messages go to stderr, prefixed "trainyard:".

ty_log() { echo "trainyard: $*" >&2; }

ty_node_env() {
  # shellcheck source=scripts/node-env.sh
  . scripts/node-env.sh
}

ty_npm_ci() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    ty_log "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund >&2
  fi
}

ty_build() {
  if [ -f backend/build.mjs ]; then
    npm run --silent build >&2
  else
    ty_log "backend/build.mjs does not exist yet; skipping the build"
  fi
}

# ty_apt_ensure "command:package" ...  - a package is installed only if its command is missing.
# The command may be a path (checked with -x) or a name (checked with command -v, plus sbin dirs).
ty_apt_ensure() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}" pkg="${pair#*:}"
    case "$cmd" in
      /*) [ -x "$cmd" ] && continue ;;
      *) PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { ty_log "missing system packages (${missing[*]}) and not root: install them with apt-get"; return 1; }
    sudo="sudo"
  fi
  ty_log "installing system packages with apt: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

# The PostgreSQL server binaries: pg_config --bindir, else the newest /usr/lib/postgresql/*/bin.
ty_pg_bindir() {
  local d
  d="$(pg_config --bindir 2>/dev/null || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  echo /usr/lib/postgresql/15/bin   # not installed: a path that fails the -x check
}
