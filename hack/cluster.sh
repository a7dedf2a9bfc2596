#!/usr/bin/env bash
# The local control plane: etcd + kube-apiserver + kube-controller-manager + kube-scheduler +
# kwok (simulated nodes), run by kwokctl's binary runtime from locally built binaries.
#   hack/cluster.sh up      build if needed, start (idempotent), write .cluster/kubeconfig
#   hack/cluster.sh down    stop and delete the cluster
#   hack/cluster.sh status  exit 0 if the API server answers
# Environment: MICROAPP_STATE_DIR (default .cluster), MICROAPP_CLUSTER_NAME (default microapp),
# MICROAPP_NODES (default 2), MICROAPP_APISERVER_ARGS (extra kube-apiserver flags, "key=value ...",
# e.g. the fault tests' low max-requests-inflight). Every cluster writes an audit log of write
# requests (hack/audit-policy.yaml), which tests read to count the operator's writes per namespace.
# kwok runs without node leases and with its Pod CIDR set in hack/kwok.yaml (why: see there).
# The API server reaches webhook Services through their ready endpoints (enable-aggregator-routing:
# there is no kube-proxy), so admission really goes through a Service's EndpointSlice.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/hack/versions.env"
cache=${MICROAPP_CACHE:-$HOME/.cache/microapp-operator}
bin="$cache/$KUBE_VERSION/bin"
name=${MICROAPP_CLUSTER_NAME:-microapp}
nodes=${MICROAPP_NODES:-2}
state=${MICROAPP_STATE_DIR:-$root/.cluster}
kubeconfig="$state/kubeconfig"
apiserver_args=${MICROAPP_APISERVER_ARGS:-}
# A cluster created with other settings is recreated (state lives in etcd under $state: tests only).
fingerprint=$(cat "$root/hack/kwok.yaml" "$root/hack/audit-policy.yaml" <(echo "$KUBE_VERSION $apiserver_args routing=endpoints") | sha256sum | cut -c1-16)
export KWOK_WORKDIR="$state/kwok" KWOK_KUBE_VERSION="$KUBE_VERSION" KWOK_RUNTIME=binary
export KWOK_KUBECTL_BINARY="$bin/kubectl" PATH="$bin:$PATH"

log() { echo "[cluster] $*"; }
kwok() {  # kwokctl with its JSON logs in .cluster/kwokctl.log, shown only on failure
  if ! kwokctl "$@" >>"$state/kwokctl.log" 2>&1; then
    log "kwokctl $1 $2 failed; last lines of $state/kwokctl.log:"; tail -20 "$state/kwokctl.log" >&2; return 1
  fi
}
since() { echo "$(( $(date +%s) - $1 ))s"; }
healthy() { [ -f "$kubeconfig" ] && kubectl --kubeconfig "$kubeconfig" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; }
exists() { kwokctl get clusters 2>/dev/null | grep -qx "$name"; }

wait_for() {  # wait_for WHAT SECONDS COMMAND...: poll until COMMAND succeeds
  local what=$1 limit=$2 t0; shift 2; t0=$(date +%s)
  log "waiting for $what (up to ${limit}s) ..."
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) - t0 >= limit )); then log "gave up waiting for $what after ${limit}s"; return 1; fi
    sleep 1
  done
  log "$what: ok after $(since "$t0")"
}

ready_nodes() {
  [ "$(kubectl --kubeconfig "$kubeconfig" get nodes --no-headers 2>/dev/null | awk '$2=="Ready"' | wc -l)" -ge "$nodes" ]
}

sa_ready() { kubectl --kubeconfig "$kubeconfig" -n default get serviceaccount default; }

up() {
  local t0; t0=$(date +%s)
  "$root/hack/build-control-plane.sh"
  mkdir -p "$state"
  if exists && [ "$(cat "$state/fingerprint" 2>/dev/null)" != "$fingerprint" ]; then
    log "cluster '$name' was created with other settings (audit policy, API server flags): recreating"
    kwok delete cluster --name "$name" || true
    rm -f "$kubeconfig"
  fi
  if healthy; then log "cluster '$name' already running ($kubeconfig)"; return; fi
  if exists; then
    log "starting existing cluster '$name' ..."
    kwok start cluster --name "$name" || { log "start failed; recreating"; kwok delete cluster --name "$name" || true; }
  fi
  if ! exists; then
    log "creating cluster '$name' (Kubernetes $KUBE_VERSION, binary runtime, 127.0.0.1) ..."
    local extra=()
    for arg in $apiserver_args; do extra+=(--extra-args "kube-apiserver=$arg"); done
    kwok create cluster --name "$name" --kubeconfig "" --config "$root/hack/kwok.yaml" \
      --kube-audit-policy "$root/hack/audit-policy.yaml" "${extra[@]}" \
      --etcd-binary "$bin/etcd" \
      --kube-apiserver-binary "$bin/kube-apiserver" \
      --kube-controller-manager-binary "$bin/kube-controller-manager" \
      --kube-scheduler-binary "$bin/kube-scheduler" \
      --kwok-controller-binary "$bin/kwok" \
      --kube-authorization --kube-admission \
      --extra-args "kube-apiserver=service-cluster-ip-range=10.96.0.0/16" \
      --extra-args "kube-apiserver=enable-aggregator-routing=true" \
      --extra-args "kube-controller-manager=service-cluster-ip-range=10.96.0.0/16" \
      --timeout 5m --wait 2m
  fi
  echo "$fingerprint" > "$state/fingerprint"
  kwokctl get kubeconfig --name "$name" > "$kubeconfig.tmp" && mv "$kubeconfig.tmp" "$kubeconfig"
  chmod 600 "$kubeconfig"
  wait_for "the API server" 120 healthy
  local have; have=$(kubectl --kubeconfig "$kubeconfig" get nodes --no-headers 2>/dev/null | wc -l)
  if [ "$have" -lt "$nodes" ]; then
    log "adding simulated nodes: $have -> $nodes"
    kwok scale node --name "$name" --replicas "$nodes"
  fi
  wait_for "$nodes Ready kwok nodes" 120 ready_nodes
  wait_for "the default ServiceAccount (controller-manager up)" 120 sa_ready
  log "cluster '$name' ready in $(since "$t0"); export KUBECONFIG=$kubeconfig"
}

down() {
  mkdir -p "$state"
  if exists; then
    log "deleting cluster '$name' ..."
    kwok delete cluster --name "$name"
  else
    log "no cluster '$name'"
  fi
  rm -f "$kubeconfig"
}

stop() { log "stopping cluster '$name' (etcd data kept) ..."; kwok stop cluster --name "$name"; }
# A component is back once it renews its leader lease after the start. A restarted
# controller-manager or scheduler has a new identity and waits out its predecessor's lease (15 s),
# as in a real cluster; until then no Deployment gets a ReplicaSet and no Pod a node.
renewed_since() {  # renewed_since LEASE RFC3339-TIME
  local renew
  renew=$(kubectl --kubeconfig "$kubeconfig" -n kube-system get lease "$1" -o jsonpath='{.spec.renewTime}' 2>/dev/null)
  [[ -n "$renew" && "$renew" > "$2" ]]
}

start() {
  local t0 since_iso; t0=$(date +%s); since_iso=$(date -u +%Y-%m-%dT%H:%M:%S)
  log "starting cluster '$name' ..."
  kwok start cluster --name "$name"
  wait_for "the API server" 120 healthy
  wait_for "the controller-manager to lead again (its predecessor's lease runs out)" 120 \
    renewed_since kube-controller-manager "$since_iso"
  wait_for "the scheduler to lead again" 120 renewed_since kube-scheduler "$since_iso"
  log "cluster '$name' back in $(since "$t0")"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) healthy ;;
  stop) stop ;;
  start) start ;;
  *) echo "usage: $0 up|down|status|stop|start" >&2; exit 2 ;;
esac
