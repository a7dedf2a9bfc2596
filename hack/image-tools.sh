#!/usr/bin/env bash
# podman, runc and mmdebstrap from Debian's packages, installed once (make image needs them).
set -euo pipefail
missing=()
for t in podman runc mmdebstrap; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
[ ${#missing[@]} = 0 ] && { echo "[image-tools] $(podman --version), runc, mmdebstrap present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "[image-tools] missing: ${missing[*]}; run as root or: apt-get install podman runc mmdebstrap" >&2; exit 1
fi
t0=$(date +%s)
echo "[image-tools] installing Debian's ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
pkgs="podman runc mmdebstrap uidmap slirp4netns"
apt-get install -y -q --no-install-recommends $pkgs >/dev/null 2>&1 || {
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $pkgs >/dev/null; }
echo "[image-tools] $(podman --version) installed in $(( $(date +%s) - t0 ))s"
