#!/usr/bin/env bash
# Pod addresses the API server can reach, for running the operator "as a Pod" on the local
# control plane (tests/integration/test_chart.py, test_ha.py). Needs root (CI runs as root).
#   hack/pod-network.sh up     a veth whose host side holds 10.213.0.1 and 10.213.0.2, and two kwok
#                              Nodes with those InternalIPs: a hostNetwork Pod scheduled there gets
#                              that address as its podIP, so the real EndpointSlice controller
#                              publishes it and the API server dials it; a process on this machine
#                              listening there plays the Pod's container.
#   hack/pod-network.sh down   remove both
# The Nodes are tainted microapp.dev/host-network:NoSchedule so only Pods that ask land there.
set -euo pipefail
kubeconfig=${KUBECONFIG:?KUBECONFIG must point at the local control plane}
link=mapods0
addrs=(10.213.0.1 10.213.0.2)
up() {
  if ! ip link show "$link" >/dev/null 2>&1; then
    ip link add "$link" type veth peer name mapods1
  fi
  for a in "${addrs[@]}"; do ip addr replace "$a/32" dev "$link"; done
  ip link set "$link" up; ip link set mapods1 up
  local i=0
  for a in "${addrs[@]}"; do
    i=$((i + 1))
    kubectl --kubeconfig "$kubeconfig" apply --server-side --field-manager=microapp-test -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: microapp-host-$i
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {kubernetes.io/hostname: microapp-host-$i, microapp.dev/host-network: "true", type: kwok}
spec:
  taints: [{key: microapp.dev/host-network, value: "true", effect: NoSchedule}]
status:
  addresses: [{type: InternalIP, address: $a}, {type: Hostname, address: microapp-host-$i}]
  allocatable: {cpu: "8", memory: 16Gi, pods: "110"}
  capacity: {cpu: "8", memory: 16Gi, pods: "110"}
YAML
  done
  echo "[pod-network] $link: ${addrs[*]}; nodes microapp-host-1, microapp-host-2"
}
down() {
  kubectl --kubeconfig "$kubeconfig" delete node microapp-host-1 microapp-host-2 --ignore-not-found >/dev/null || true
  ip link del "$link" 2>/dev/null || true
  echo "[pod-network] removed"
}
case "${1:-}" in up) up ;; down) down ;; *) echo "usage: $0 up|down" >&2; exit 2 ;; esac
