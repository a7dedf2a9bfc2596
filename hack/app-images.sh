#!/usr/bin/env bash
# The images an app's Pod runs on this machine (tests/delivery/test_app_pods.py), built with podman
# from the Debian base hack/image.sh makes (no registry, no Docker); each step prints its elapsed
# time and each image its size:
#   demo app   samples/demo-app/Containerfile -> registry.internal/microapp/demo-app:<version>
#              (the registry the default policy allows; it stays in local storage, nothing is pushed)
#   collector  the otelcol of hack/build-otelcol.sh in hack/otelcol/Containerfile ->
#              localhost/otelcol:<OTELCOL_VERSION>, also tagged with the default sidecarImage's name
#              (docker.io/otel/opentelemetry-collector:<OTELCOL_VERSION>) so a rendered Pod runs
#              unchanged: the same distribution and version, built here, not the upstream image
#   pause      the base with `sleep infinity`: the infra container that holds a podman pod's network
# Prints the three references on its last line (demo collector pause).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
out="$cache/app-images"; mkdir -p "$out"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)
base=localhost/microapp-base:bookworm
demo=registry.internal/microapp/demo-app:$version
collector=localhost/otelcol:$OTELCOL_VERSION
upstream=docker.io/otel/opentelemetry-collector:$OTELCOL_VERSION
pause=localhost/microapp-pause:bookworm
log() { echo "[app-images] $*" >&2; }
size() { echo "$(( $(podman image inspect --format '{{.Size}}' "$1") / 1000000 )) MB"; }
PODMAN=(podman --runtime runc)
BUILD=("${PODMAN[@]}" build --quiet --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
t_all=$(date +%s)
if ! podman image exists "$base"; then
  log "no $base yet: hack/image.sh makes it (with the operator's image) ..."
  "$here/image.sh" >/dev/null
fi

t0=$(date +%s)
secret=()
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca" ] && secret=(--secret "id=cacert,src=$ca")
"${BUILD[@]}" "${secret[@]}" --build-arg "BASE=$base" --build-arg "VERSION=$version" \
  -f "$root/samples/demo-app/Containerfile" -t "$demo" "$root/samples/demo-app" >/dev/null
log "demo app: $demo built in $(( $(date +%s) - t0 ))s ($(size "$demo"))"

t0=$(date +%s)
otelcol=$("$here/build-otelcol.sh" 2>/dev/null | tail -1)
ctx="$out/otelcol-context"; rm -rf "$ctx"; mkdir -p "$ctx"
cp "$otelcol" "$ctx/otelcol"; cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
"${BUILD[@]}" --build-arg "VERSION=$OTELCOL_VERSION" -f "$here/otelcol/Containerfile" -t "$collector" "$ctx" >/dev/null
podman tag "$collector" "$upstream"
rm -rf "$ctx"
log "collector: $collector (also $upstream) built in $(( $(date +%s) - t0 ))s ($(size "$collector"))"

t0=$(date +%s)
printf 'FROM %s\nSTOPSIGNAL SIGKILL\nENTRYPOINT ["sleep", "infinity"]\n' "$base" \
  | "${BUILD[@]}" -t "$pause" -f - "$out" >/dev/null
log "pause: $pause built in $(( $(date +%s) - t0 ))s"
log "done in $(( $(date +%s) - t_all ))s"
echo "$demo $collector $pause"
