#!/usr/bin/env bash
# make image: build the operator's image with podman, with no registry.
#   1. a Debian bookworm base with Python 3.11 made by mmdebstrap from Debian's packages (cached),
#   2. podman import -> localhost/microapp-base:bookworm,
#   3. podman build --from that base (pip reaches PyPI from the build stage, host network),
#   4. podman save as an OCI archive outside the repo; prints its size.
# Prints the image reference on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
out="$cache/image"; mkdir -p "$out"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)
image=${MICROAPP_IMAGE:-localhost/microapp-operator:$version}
base=localhost/microapp-base:bookworm
log() { echo "[image] $*" >&2; }
"$here/image-tools.sh" >&2
export PODMAN="podman --runtime runc"
t_all=$(date +%s)
if ! podman image exists "$base"; then
  if [ ! -s "$out/base.tar" ]; then
    t0=$(date +%s)
    log "making the base: mmdebstrap --variant=minbase bookworm + python3, python3-venv (about a minute) ..."
    # merged-usr hook: /usr merged without the usrmerge package (which pulls in all of Perl);
    # dpkg path-excludes: no documentation, manuals, locales or charset converters.
    mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --aptopt='Acquire::Check-Valid-Until "false"' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*' \
      --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
      bookworm "$out/base.tmp.tar" http://deb.debian.org/debian >"$out/base.log" 2>&1 \
      || { tail -20 "$out/base.log" >&2; exit 1; }
    mv "$out/base.tmp.tar" "$out/base.tar"
    log "base made in $(( $(date +%s) - t0 ))s ($(du -h "$out/base.tar" | cut -f1))"
  fi
  podman import --quiet "$out/base.tar" "$base" >/dev/null
  log "imported the base as $base"
fi
t0=$(date +%s)
log "building $image from $base ..."
secret=()
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca" ] && secret=(--secret "id=cacert,src=$ca")
revision=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
podman --runtime runc build --quiet --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  "${secret[@]}" --build-arg "BASE=$base" --build-arg "APT_OPTS=-o Acquire::Check-Valid-Until=false" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  -f "$root/Containerfile" -t "$image" "$root" >/dev/null
log "built in $(( $(date +%s) - t0 ))s"
rm -f "$out/microapp-operator.oci.tar"
podman save --quiet --format oci-archive -o "$out/microapp-operator.oci.tar" "$image"
size=$(podman image inspect --format '{{.Size}}' "$image")
log "$image: $(( size / 1000000 )) MB uncompressed; OCI archive $out/microapp-operator.oci.tar ($(du -h "$out/microapp-operator.oci.tar" | cut -f1)); total $(( $(date +%s) - t_all ))s"
echo "$image"
