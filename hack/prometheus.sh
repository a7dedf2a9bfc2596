#!/usr/bin/env bash
# Prometheus for the lifecycle's activity tests: Debian's package (2.42), installed once.
# The tests start their own server on 127.0.0.1 with their own config and data directory;
# the package's service is never used.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  echo "[prometheus] $(prometheus --version 2>&1 | head -1)"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[prometheus] not installed; run as root or: apt-get install prometheus" >&2; exit 1
fi
t0=$(date +%s)
echo "[prometheus] installing Debian's prometheus package ..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 || {
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
# A container has no init system: make sure the package's own server is not left running.
pkill -x prometheus 2>/dev/null || true
echo "[prometheus] $(prometheus --version 2>&1 | head -1) installed in $(( $(date +%s) - t0 ))s"
