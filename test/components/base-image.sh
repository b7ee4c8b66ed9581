#!/usr/bin/env bash
# Builds the test base image "Debian bookworm + python3" as an OCI image layout,
# without any container engine, and caches it outside the repo:
#   ${TRAINYARD_CACHE:-$HOME/.cache/trainyard}/base-images/debian-python3/  (tag "latest")
#
# How: debootstrap --variant=minbase (same mirror apt uses here) + python3, strip
# apt lists/caches/docs/locales, then one deterministic layer (sorted names, mtime 0,
# owner 0:0, gzip -n), a config (amd64/linux, diff_ids, Env PATH), a manifest,
# index.json and oci-layout. Built in a temp dir and renamed into place, under a
# lock, so a half-built image is never seen. Prints the layout dir on stdout.
# Needs root (debootstrap chroots). Use it as oci:<dir>:latest with skopeo/podman.
set -euo pipefail

cache="${TRAINYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}"
out="$cache/base-images/debian-python3"
[ -f "$out/index.json" ] && { echo "$out"; exit 0; }

[ "$(id -u)" = 0 ] || { echo "base-image.sh: must run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "base-image.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

# The Debian mirror apt uses: first non-security URI in deb822 or one-line sources.
mirror="${TRAINYARD_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || { echo "base-image.sh: apt has no Debian mirror in /etc/apt/sources.list(.d); add one there or set TRAINYARD_DEBIAN_MIRROR" >&2; exit 1; }
fi

mkdir -p "$cache/base-images" "$cache/debootstrap-debs"
exec 9>"$cache/base-images/.debian-python3.lock"
flock 9
[ -f "$out/index.json" ] && { echo "$out"; exit 0; }   # built by someone else while we waited

work="$(mktemp -d "$cache/base-images/.build.XXXXXX")"
cleanup() {
  local rc=$?; set +e
  # debootstrap mounts proc/sys in the target; never rm -rf through a mount
  findmnt -rn -o TARGET | grep -F "$work/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

echo "base-image.sh: debootstrap bookworm (minbase + python3) from $mirror" >&2
debootstrap --variant=minbase --include=python3 --cache-dir="$cache/debootstrap-debs" \
  bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

r="$work/rootfs"
rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/cache/debconf/*-old "$r"/var/log/* \
  "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* "$r"/tmp/* \
  "$r"/var/cache/ldconfig/aux-cache
find "$r/usr/lib" -name __pycache__ -type d -prune -exec rm -rf {} +
echo "deb $mirror bookworm main" >"$r/etc/apt/sources.list"   # so `apt-get update` works inside
: >"$r/etc/machine-id"; rm -f "$r/etc/hostname" "$r/etc/resolv.conf"

# Layer: sorted, fixed mtime and owner; entries without a "./" prefix.
mkdir -p "$work/oci/blobs/sha256"
(cd "$r" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort \
  | tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" -T -)
diff_id="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -6 "$work/layer.tar"

put_blob() {  # file -> prints "<sha256> <size>", moves it into blobs/
  local d s; d="$(sha256sum "$1" | cut -d' ' -f1)"; s="$(stat -c %s "$1")"
  mv "$1" "$work/oci/blobs/sha256/$d"; echo "$d $s"
}
read -r layer_d layer_s < <(put_blob "$work/layer.tar.gz")

printf '%s' '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",'\
'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8"],'\
'"Cmd":["python3"],"WorkingDir":"/"},'\
'"rootfs":{"type":"layers","diff_ids":["sha256:'"$diff_id"'"]},'\
'"history":[{"created":"1970-01-01T00:00:00Z","created_by":"trainyard base-image.sh: debootstrap bookworm minbase + python3"}]}' \
  >"$work/config.json"
read -r config_d config_s < <(put_blob "$work/config.json")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'\
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'"$config_d"'","size":'"$config_s"'},'\
'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$layer_d"'","size":'"$layer_s"'}]}' \
  >"$work/manifest.json"
read -r manifest_d manifest_s < <(put_blob "$work/manifest.json")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{'\
'"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'"$manifest_d"'","size":'"$manifest_s"','\
'"platform":{"architecture":"amd64","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  >"$work/oci/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"

rm -rf "$out"
mv "$work/oci" "$out"
echo "base-image.sh: built $out (layer $((layer_s / 1024 / 1024)) MiB gzip, manifest sha256:$manifest_d)" >&2
echo "$out"
