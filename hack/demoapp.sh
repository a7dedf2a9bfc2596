#!/usr/bin/env bash
# The demo app's Python environment (samples/demo-app/requirements.txt, from PyPI), once, in the
# cache beside the control plane: its tests run the app as a plain process with it.
# Prints the venv's opentelemetry-instrument path on its last line; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/../samples/demo-app/requirements.txt"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
venv="$cache/demoapp-$(sha256sum "$req" | cut -c1-12)"
mkdir -p "$cache"
exec 9>"$venv.lock"
flock 9
if [ -x "$venv/bin/opentelemetry-instrument" ]; then echo "[demoapp] cached" >&2; echo "$venv/bin/opentelemetry-instrument"; exit 0; fi
t0=$(date +%s)
echo "[demoapp] installing the OpenTelemetry SDK for the demo app into $venv ..." >&2
rm -rf "$venv"
python3 -m venv "$venv.tmp" >&2
"$venv.tmp/bin/python" -m pip install -q -r "$req" >&2
mv "$venv.tmp" "$venv"
# The venv was made under its temporary name: fix the scripts' interpreter lines.
sed -i "1s#$venv.tmp/#$venv/#" "$venv"/bin/*
echo "[demoapp] installed in $(( $(date +%s) - t0 ))s" >&2
echo "$venv/bin/opentelemetry-instrument"
