#!/usr/bin/env bash
# Builds (or reuses) the Kubernetes test rig's binaries: kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet (k8s.io/kubernetes through a wrapper module whose replaces pin every k8s.io/*
# staging module to its v0.X.Y release), etcd 3.5 (go.etcd.io/etcd/server/v3 through a wrapper
# module), kwok (go install), and `pause` (the kubelet's sandbox process: build/pause/linux/pause.c
# from the k8s.io/kubernetes module, gcc -static). Everything — binaries, Go module and build caches — lives outside
# the repo in ~/.cache/trainyard/k8s/<version>/, so only a fresh machine pays the build.
# Idempotent: a binary that exists is not rebuilt. Prints the bin directory on stdout.
#   usage: build.sh            the rig's binaries
#          build.sh kubectl    only kubectl (optional, for benches), from the same wrapper module
# Env: TY_K8S_VERSION, TY_ETCD_VERSION, TY_KWOK_VERSION, TY_K8S_CACHE override the defaults.
# Modules come from the machine's Go module proxy: GOPROXY, else `go env GOPROXY`.
set -euo pipefail
TARGET="${1:-}"
case "$TARGET" in ""|kubectl) ;; *) echo "usage: build.sh [kubectl]" >&2; exit 2 ;; esac

K8S_VERSION="${TY_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${TY_ETCD_VERSION:-v3.5.35}"
KWOK_VERSION="${TY_KWOK_VERSION:-v0.8.0}"
STAGING_VERSION="v0${K8S_VERSION#v1}"          # v1.34.4 -> v0.34.4
ROOT="${TY_K8S_CACHE:-$HOME/.cache/trainyard/k8s}"
DIR="$ROOT/$K8S_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION"
BIN="$DIR/bin"
mkdir -p "$BIN" "$DIR/src"

log() { echo "[k8s build $(date +%H:%M:%S)] $*" >&2; }

WANT=(kube-apiserver kube-controller-manager kube-scheduler kubelet etcd kwok pause)
[ "$TARGET" = kubectl ] && WANT=(kubectl)
all_built=1
for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || all_built=0; done
if [ "$all_built" = 1 ]; then
  echo "$BIN"
  exit 0
fi

# Go and the Go module proxy (scripts/lib.sh): the machine's Go when it is >= 1.21, else the
# toolchain module from the machine's Go module proxy, cached in ~/.cache/trainyard/go.
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"
GOPROXY_URL="$(ty_goproxy_url)"
ty_go_env

export GOMODCACHE="$DIR/gomod" GOCACHE="$DIR/gocache" GOPATH="$DIR/gopath"
export GOFLAGS="-trimpath -modcacherw" GOMAXPROCS="${GOMAXPROCS:-2}" CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
NICE=(nice -n "${TY_K8S_NICE:-10}")

have() { [ -x "$BIN/$1" ]; }

# --- kubernetes -------------------------------------------------------------------------------
# the wrapper module's tools.go lists every command (so go.sum covers each); a run builds K8S_CMDS
K8S_ALL=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
[ "$TARGET" = kubectl ] && K8S_CMDS=(kubectl)
need_k8s=0
for c in "${K8S_CMDS[@]}"; do have "$c" || need_k8s=1; done
[ "$TARGET" = kubectl ] || have pause || need_k8s=1
if [ "$need_k8s" = 1 ]; then
  W="$DIR/src/kubernetes"
  mkdir -p "$W"
  if [ ! -f "$W/.tidy-ok" ] || ! grep -q '"k8s.io/kubernetes/cmd/kubelet"' "$W/tools.go"; then
    log "preparing wrapper module for k8s.io/kubernetes $K8S_VERSION (staging $STAGING_VERSION)"
    modfile="$(curl -fsSL "$GOPROXY_URL/k8s.io/kubernetes/@v/$K8S_VERSION.mod")"
    staging="$(printf '%s\n' "$modfile" | sed -nE 's#^\s*(k8s\.io/[A-Za-z0-9._-]+) => \./staging/.*#\1#p')"
    [ -n "$staging" ] || { echo "no staging replaces found in k8s.io/kubernetes $K8S_VERSION go.mod" >&2; exit 1; }
    {
      echo "module trainyard.dev/k8s-rig"
      echo
      echo "go 1.24.0"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      for m in $staging; do echo "	$m => $m $STAGING_VERSION"; done
      echo ")"
    } > "$W/go.mod"
    {
      echo "//go:build tools"
      echo
      echo "package tools"
      echo
      echo "import ("
      for c in "${K8S_ALL[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
      echo ")"
    } > "$W/tools.go"
    (cd "$W" && "${NICE[@]}" go mod tidy) >&2
    touch "$W/.tidy-ok"
  fi
  for c in "${K8S_CMDS[@]}"; do
    have "$c" && continue
    log "building $c $K8S_VERSION"
    (cd "$W" && "${NICE[@]}" go build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c") >&2
    mv "$BIN/$c.tmp" "$BIN/$c"
  done
  if [ "$TARGET" != kubectl ] && ! have pause; then
    src="$(cd "$W" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
    log "building pause from $src"
    command -v gcc >/dev/null || { echo "k8s build: gcc is needed for pause (apt-get install gcc)" >&2; exit 1; }
    gcc -Os -static -DVERSION="\"$K8S_VERSION\"" -o "$BIN/pause.tmp" "$src" && strip "$BIN/pause.tmp" && mv "$BIN/pause.tmp" "$BIN/pause"
  fi
fi

if [ "$TARGET" = kubectl ]; then
  log "kubectl ready in $BIN"
  echo "$BIN"
  exit 0
fi

# --- etcd -------------------------------------------------------------------------------------
if ! have etcd; then
  W="$DIR/src/etcd"
  mkdir -p "$W"
  if [ ! -f "$W/.tidy-ok" ]; then
    log "preparing wrapper module for etcd $ETCD_VERSION"
    printf 'module trainyard.dev/etcd-rig\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$W/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$W/tools.go"
    (cd "$W" && "${NICE[@]}" go mod tidy) >&2
    touch "$W/.tidy-ok"
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$W" && "${NICE[@]}" go build -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3) >&2
  mv "$BIN/etcd.tmp" "$BIN/etcd"
fi

# --- kwok -------------------------------------------------------------------------------------
if ! have kwok; then
  log "installing kwok $KWOK_VERSION"
  GOBIN="$BIN/.kwok" "${NICE[@]}" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  mv "$BIN/.kwok/kwok" "$BIN/kwok"
  rmdir "$BIN/.kwok" 2>/dev/null || true
fi

log "binaries ready in $BIN"
echo "$BIN"
