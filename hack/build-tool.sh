#!/usr/bin/env bash
# Build a Go tool from the Go module proxy, once, into the same cache as the control plane:
#   hack/build-tool.sh helm    helm.sh/helm/v3 (HELM_VERSION), for the chart's tests and `make manifests`
#   hack/build-tool.sh kind    sigs.k8s.io/kind (KIND_VERSION), to validate kind-config.yaml
#   hack/build-tool.sh argocd  the argocd CLI (github.com/argoproj/argo-cd/v2, ARGOCD_VERSION), to run the
#                              Argo CD health checks and actions through Argo CD's own code
#   hack/build-tool.sh actionlint  github.com/rhysd/actionlint (ACTIONLINT_VERSION), to check manifests/ci/'s workflow
# Prints the binary's path on its last line; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
tool=${1:?usage: hack/build-tool.sh helm|kind|argocd|actionlint}
case "$tool" in
  helm) version=$HELM_VERSION module=helm.sh/helm/v3 pkg=helm.sh/helm/v3/cmd/helm ;;
  kind) version=$KIND_VERSION module=sigs.k8s.io/kind pkg=sigs.k8s.io/kind ;;
  argocd) version=$ARGOCD_VERSION module=github.com/argoproj/argo-cd/v2 pkg=github.com/argoproj/argo-cd/v2/cmd ;;
  actionlint) version=$ACTIONLINT_VERSION module=github.com/rhysd/actionlint pkg=github.com/rhysd/actionlint/cmd/actionlint ;;
  *) echo "unknown tool $tool (helm, kind, argocd or actionlint)" >&2; exit 2 ;;
esac
bin="$cache/$tool-$version/bin"
mkdir -p "$bin"
exec 9>"$cache/$tool-$version.lock"
flock 9
if [ -x "$bin/$tool" ]; then echo "[$tool] $version: cached" >&2; echo "$bin/$tool"; exit 0; fi
t0=$(date +%s)
echo "[$tool] building $module $version from the Go module proxy (a few minutes on a cold machine) ..." >&2
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
ldflags="-s -w"
if [ "$tool" = helm ]; then
  # The same -X flags as Helm's Makefile: its version, and the Kubernetes version `helm template`
  # and `helm lint` assume (client-go v0.N means Kubernetes 1.N), else it assumes v1.20.
  src=$(go mod download -json "$module@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$src/go.mod")
  ldflags="$ldflags -X helm.sh/helm/v3/internal/version.version=$version"
  for p in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X helm.sh/helm/v3/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/$p.k8sVersionMinor=$minor"
  done
fi
if [ "$tool" = argocd ]; then
  # go install refuses a module with replace directives: a wrapper module copies all of Argo CD's.
  # The binary must be named argocd (cmd/main.go picks the component by its own name).
  work="$cache/$tool-$version/build"; rm -rf "$work"; mkdir -p "$work"
  src=$(go mod download -json "$module@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  { echo "module microapp.dev/argocdbuild"; echo; echo "go 1.24"; echo; echo "require $module $version"; echo
    sed -n '/^replace (/,/^)/p' "$src/go.mod"; } > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$work/tools.go"
  ldflags="$ldflags -X github.com/argoproj/argo-cd/v2/common.version=${version#v}"
  (cd "$work" && go mod tidy >&2 && go build -trimpath -ldflags "$ldflags" -o "$bin/$tool.tmp" "$pkg" >&2)
  mv "$bin/$tool.tmp" "$bin/$tool"
else
  GOBIN="$bin.tmp" go install -trimpath -ldflags "$ldflags" "$pkg@$version" >&2
  mv "$bin.tmp/$tool" "$bin/$tool"; rmdir "$bin.tmp"
fi
echo "[$tool] built in $(( $(date +%s) - t0 ))s: $(case $tool in argocd) "$bin/$tool" version --client --short ;; actionlint) "$bin/$tool" -version ;; *) "$bin/$tool" version ;; esac 2>&1 | head -1)" >&2
echo "$bin/$tool"
