#!/usr/bin/env bash
# Build Helm from the Go module proxy, once, into the same cache as the control plane.
# Prints the path of the binary on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
bin="$cache/helm-$HELM_VERSION/bin"
mkdir -p "$bin"
exec 9>"$cache/helm-$HELM_VERSION.lock"
flock 9
if [ -x "$bin/helm" ]; then echo "[helm] $HELM_VERSION: cached" >&2; echo "$bin/helm"; exit 0; fi
t0=$(date +%s)
echo "[helm] building helm.sh/helm/v3 $HELM_VERSION from the Go module proxy (a few minutes on a cold machine) ..." >&2
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# The same -X flags as Helm's Makefile: its version, and the Kubernetes version `helm template`
# and `helm lint` assume (client-go v0.N means Kubernetes 1.N), else it assumes v1.20.
src=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$src/go.mod")
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for p in pkg/lint/rules pkg/chartutil; do
  ldflags="$ldflags -X helm.sh/helm/v3/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/$p.k8sVersionMinor=$minor"
done
GOBIN="$bin.tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mv "$bin.tmp/helm" "$bin/helm"; rmdir "$bin.tmp"
echo "[helm] built in $(( $(date +%s) - t0 ))s: $("$bin/helm" version --short)" >&2
echo "$bin/helm"
