#!/usr/bin/env bash
# Build the OpenTelemetry Collector core distribution (otelcol, the collector of the default
# sidecarImage otel/opentelemetry-collector:$OTELCOL_VERSION) from the Go module proxy, once, into
# the same cache as the control plane. The component list is the release's own manifest
# (hack/otelcol/manifest.yaml), built by the release's own builder (ocb, go.opentelemetry.io/
# collector/cmd/builder) at the same version. Tests load every rendered collector configuration
# with it (`otelcol validate`) and run it as the app's sidecar and as the platform's gateway.
# Prints the binary's path on its last line; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
dir="$cache/otelcol-$OTELCOL_VERSION"
bin="$dir/bin"
mkdir -p "$bin"
exec 9>"$dir.lock"
flock 9
if [ -x "$bin/otelcol" ]; then echo "[otelcol] $OTELCOL_VERSION: cached" >&2; echo "$bin/otelcol"; exit 0; fi
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
total=$(date +%s)
step() {  # step NAME COMMAND...: run COMMAND, printing the component and its elapsed time
  local name=$1 t0; shift
  echo "[otelcol] $name: building ..." >&2
  t0=$(date +%s)
  "$@" >&2
  echo "[otelcol] $name: built in $(( $(date +%s) - t0 ))s" >&2
}
if [ ! -x "$dir/ocb/builder" ]; then
  step "ocb (go.opentelemetry.io/collector/cmd/builder v$OTELCOL_VERSION)" \
    env GOBIN="$dir/ocb" go install -trimpath -ldflags "-s -w" "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION"
fi
work="$dir/build"
rm -rf "$work"; mkdir -p "$work"
# The manifest with its version placeholders filled and the output under the cache.
sed -e "s/\${OTELCOL_VERSION}/$OTELCOL_VERSION/g; s/\${OTELCOL_STABLE_VERSION}/$OTELCOL_STABLE_VERSION/g" \
    -e "s#output_path: .*#output_path: $work/src#" "$here/otelcol/manifest.yaml" > "$work/manifest.yaml"
if grep -q '\${' "$work/manifest.yaml"; then echo "[otelcol] unfilled placeholder in hack/otelcol/manifest.yaml" >&2; exit 1; fi
echo "[otelcol] core distribution $OTELCOL_VERSION ($(grep -c 'gomod:' "$work/manifest.yaml") components) -> $bin (many minutes on 2 cores) ..." >&2
# ocb writes the sources (main.go, components.go, go.mod) of the distribution; its own module step
# (`go mod download` of every module, Windows-only ones included) fails on modules the proxy does
# not serve (pkg/winperfcounters), so the build is done here: `go mod tidy -e` keeps going past
# the packages no Linux build uses, then `go build` with ocb's own flags and the manifest's tags.
"$dir/ocb/builder" --config "$work/manifest.yaml" --skip-get-modules --skip-compilation >&2
tags=$(sed -n 's/^  build_tags: "\(.*\)"/\1/p' "$work/manifest.yaml")
step "go mod tidy" bash -c "cd '$work/src' && go mod tidy -e -compat=1.25 2>&1 | grep -v '^go: downloading' || true"
step "otelcol $OTELCOL_VERSION" bash -c "cd '$work/src' && go build -trimpath -tags '$tags' -ldflags '-s -w' -o '$bin/otelcol.tmp' ."
mv "$bin/otelcol.tmp" "$bin/otelcol"
rm -rf "$work"
echo "[otelcol] done in $(( $(date +%s) - total ))s: $("$bin/otelcol" --version 2>&1 | head -1)" >&2
echo "$bin/otelcol"
