#!/usr/bin/env bash
# Chromium for the portal's browser tests: Debian's package, installed once. Playwright for
# Python (the test extras) drives it through executable_path; `playwright install`, which
# downloads a browser build of its own, is never run.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "[browser] $(chromium --version 2>/dev/null | head -1)"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[browser] chromium is not installed; run as root or: apt-get install chromium" >&2; exit 1
fi
t0=$(date +%s)
echo "[browser] installing Debian's chromium package ..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 || {
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
echo "[browser] $(chromium --version 2>/dev/null | head -1) installed in $(( $(date +%s) - t0 ))s"
