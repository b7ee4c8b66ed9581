#!/usr/bin/env bash
# oras (the OCI registry client, oras.land/oras/cmd/oras) built from the machine's Go module proxy
# at a pinned version, for the tests and the bench that check real consumers read run artifacts.
# Installed once to ~/.cache/trainyard/oras-<version>/oras; prints that path. A no-op when it is
# there. Go as the Kubernetes rig gets it (scripts/lib.sh ty_go_env: the machine's Go >= 1.21, else
# the toolchain module from the proxy); GOTOOLCHAIN=auto then fetches, from the same proxy, the Go
# that oras's go.mod asks for when that Go is older.
#   usage: setup-oras.sh       Env: TY_ORAS_VERSION (default v1.3.6)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

VERSION="${TY_ORAS_VERSION:-v1.3.6}"
DIR="$HOME/.cache/trainyard/oras-$VERSION"
if [ -x "$DIR/oras" ]; then
  echo "$DIR/oras"
  exit 0
fi

ty_go_env
ty_goproxy_url >/dev/null
BUILD="$DIR/build"
mkdir -p "$BUILD"
export GOMODCACHE="$BUILD/gomod" GOCACHE="$BUILD/gocache" GOPATH="$BUILD/gopath" GOBIN="$BUILD/bin"
export GOFLAGS="-trimpath -modcacherw" GOMAXPROCS="${GOMAXPROCS:-2}" CGO_ENABLED=0 GOTOOLCHAIN=auto
ty_log "building oras $VERSION from the Go module proxy (once, into $DIR)"
# BuildMetadata empty: `oras version` says the release version, not "<version>+unreleased"
nice -n 10 go install -ldflags "-s -w -X oras.land/oras/internal/version.BuildMetadata= -X oras.land/oras/internal/version.GitTreeState=clean" \
  "oras.land/oras/cmd/oras@$VERSION" >&2
mv "$BUILD/bin/oras" "$DIR/oras"
rm -rf "$BUILD"
"$DIR/oras" version >&2
echo "$DIR/oras"
