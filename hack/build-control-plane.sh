#!/usr/bin/env bash
# Build the local control plane from the Go module proxy, once, into a cache outside the repo.
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, kwokctl
# Re-running is cheap: a component whose binary is cached is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
bin="$cache/$KUBE_VERSION/bin"
work="$cache/$KUBE_VERSION/build"
mkdir -p "$bin" "$work"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
exec 9>"$cache/$KUBE_VERSION/build.lock"
flock 9

total_start=$(date +%s)
step() {  # step NAME FUNCTION: run FUNCTION unless bin/NAME exists, printing elapsed time
  local name=$1 fn=$2 t0
  if [ -x "$bin/$name" ]; then echo "[control-plane] $name: cached ($bin/$name)"; return; fi
  echo "[control-plane] $name: building ..."
  t0=$(date +%s)
  "$fn" "$name"
  echo "[control-plane] $name: built in $(( $(date +%s) - t0 ))s"
}

kube_module() {  # wrapper module: k8s.io/kubernetes at KUBE_VERSION, staging modules replaced
  local d="$work/kubernetes"
  [ -f "$d/.ready" ] && return
  rm -rf "$d"; mkdir -p "$d"
  local staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller"
  {
    echo "module microapp.dev/controlplane"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    for m in $staging; do echo "replace k8s.io/$m => k8s.io/$m $KUBE_STAGING_VERSION"; done
  } > "$d/go.mod"
  cat > "$d/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  echo "[control-plane] resolving k8s.io/kubernetes $KUBE_VERSION modules (go mod tidy) ..."
  (cd "$d" && go mod tidy)
  touch "$d/.ready"
}

kube_ldflags() {
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local f="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f="$f -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    f="$f -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "-s -w$f"
}

build_kube() {
  kube_module
  (cd "$work/kubernetes" && go build -trimpath -ldflags "$(kube_ldflags)" -o "$bin/$1.tmp" "k8s.io/kubernetes/cmd/$1")
  mv "$bin/$1.tmp" "$bin/$1"
}

build_etcd() {  # own wrapper module: kubernetes pulls etcd libraries at other versions
  local d="$work/etcd"
  rm -rf "$d"; mkdir -p "$d"
  printf 'module microapp.dev/etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$d/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$d/tools.go"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd.tmp" "$bin/etcd"
}

build_kwok() {
  GOBIN="$work/gobin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/$1@$KWOK_VERSION"
  mv "$work/gobin/$1" "$bin/$1"
}

echo "[control-plane] Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION -> $bin"
step etcd build_etcd
step kube-apiserver build_kube
step kube-controller-manager build_kube
step kube-scheduler build_kube
step kubectl build_kube
step kwok build_kwok
step kwokctl build_kwok
echo "[control-plane] all components ready in $(( $(date +%s) - total_start ))s"
