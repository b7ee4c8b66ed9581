#!/usr/bin/env bash
# `npm run bench`: the same set-up as `npm test` (Node >= 22, npm ci when needed, the
# Debian packages the benches start: PostgreSQL and python3, the build), then every
# bench/*.bench.ts with tsx, one after the other. Each bench runs its peer on the same
# input in the same run, prints a table and `RATIO ...` lines; the RATIO lines of all
# benches are repeated at the end. Benches start what they need themselves (the
# runs-page bench a throwaway PostgreSQL, or TRAINYARD_BENCH_PG_URL).
#   npm run bench                 all benches
#   npm run bench -- ingest       the benches whose file name contains "ingest"
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ty_node_env
ty_npm_ci
ty_apt_ensure "$(ty_pg_bindir)/initdb:postgresql" python3:python3 buildah:buildah skopeo:skopeo umoci:umoci docker-registry:docker-registry debootstrap:debootstrap
ty_build
bash scripts/setup-oras.sh >/dev/null  # oras, the artifacts bench's peer (Go module proxy, cached in ~/.cache/trainyard)

files=()
for f in bench/*.bench.ts; do
  if [ "$#" -eq 0 ]; then files+=("$f"); continue; fi
  for want in "$@"; do case "$f" in *"$want"*) files+=("$f"); break ;; esac; done
done
[ "${#files[@]}" -gt 0 ] || { ty_log "no bench matches: $*"; exit 1; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
failed=0
ty_log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for f in "${files[@]}"; do
  echo "== $f"
  if ! node_modules/.bin/tsx "$f" | tee -a "$out"; then
    ty_log "bench $f failed"
    failed=1
  fi
  echo
done
echo "== summary (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
grep '^RATIO ' "$out" || true
exit "$failed"
