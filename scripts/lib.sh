# Shared set-up for scripts/start.sh and scripts/test.sh (sourced, from the repo root).
#   ty_node_env   - Node >= 22 first on PATH (scripts/node-env.sh)
#   ty_npm_ci     - `npm ci` only when node_modules is missing or older than package-lock.json
#   ty_build      - `npm run build` (skipped with a message while backend/build.mjs does not exist)
#   ty_apt_ensure - install, with apt, only the Debian packages whose command is missing
#   ty_goproxy_url - the machine's Go module proxy (GOPROXY, else `go env GOPROXY`): its first URL
#   ty_go_env     - a Go >= 1.21 first on PATH (the machine's, else one from the Go module proxy)
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

# The Go module proxy this machine is configured for (GOPROXY, else `go env GOPROXY`): its first
# URL entry, without a trailing "/". Nothing is fetched from a host the machine was not told to use.
ty_goproxy_url() {
  local list p proxies
  list="${GOPROXY:-$(go env GOPROXY 2>/dev/null || true)}"
  IFS=',|' read -ra proxies <<< "$list"
  for p in "${proxies[@]}"; do
    case "$p" in http://*|https://*|file://*) echo "${p%/}"; return 0 ;; esac
  done
  ty_log "no Go module proxy is configured (GOPROXY is \"${list:-unset}\"); set GOPROXY to your module proxy's URL"
  return 1
}

# Puts a Go >= 1.21 first on PATH: the machine's own (it then fetches the toolchain a go.mod asks
# for through GOTOOLCHAIN=auto), else (none, or Debian 12's 1.19) the module golang.org/toolchain
# TY_GO_TOOLCHAIN (default go1.24.13) from the Go module proxy, unpacked once into
# ~/.cache/trainyard/go/<version> (TY_GO_CACHE overrides the directory).
ty_go_env() {
  if command -v go >/dev/null && go version | grep -Eq 'go1\.(2[1-9]|[3-9][0-9])'; then return 0; fi
  local version="${TY_GO_TOOLCHAIN:-go1.24.13}" root="${TY_GO_CACHE:-$HOME/.cache/trainyard/go}" proxy zip src
  local tc="$root/$version"
  if [ ! -x "$tc/bin/go" ]; then
    proxy="$(ty_goproxy_url)" || return 1
    ty_log "fetching Go $version (module golang.org/toolchain) from the Go module proxy"
    rm -rf "$tc.tmp"; mkdir -p "$tc.tmp"
    zip="$root/$version.zip"
    curl -fsSL -o "$zip" "$proxy/golang.org/toolchain/@v/v0.0.1-$version.linux-amd64.zip" || return 1
    python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tc.tmp" || return 1
    src="$(find "$tc.tmp" -maxdepth 4 -type f -path '*/bin/go' | head -1)"
    rm -rf "$tc"; mv "$(dirname "$(dirname "$src")")" "$tc"; rm -rf "$tc.tmp" "$zip"
    chmod +x "$tc/bin/"* "$tc/pkg/tool/"*/* 2>/dev/null || true
  fi
  export PATH="$tc/bin:$PATH" GOTOOLCHAIN=local
}
