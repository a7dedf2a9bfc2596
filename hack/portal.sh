#!/usr/bin/env bash
# The portal in the background for `make demo`, in local mode as a member of the demo team
# (stop it with `make down`).   hack/portal.sh start | stop | status
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.cluster"
pidfile="$state/portal.pid"
logfile="$state/portal.log"
listen=${MICROAPP_PORTAL_LISTEN:-127.0.0.1:8090}
user=${MICROAPP_PORTAL_USER:-demo@example.com}
group=${MICROAPP_PORTAL_GROUP:-finance-devs}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "[portal] already running: http://$listen/ (pid $(cat "$pidfile"))"; exit 0; fi
    mkdir -p "$state"
    KUBECONFIG="$state/kubeconfig" nohup "$root/.venv/bin/microapp" portal --listen "$listen" \
      --dev-user "$user" --dev-group "$group" >"$logfile" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 30); do
      if curl -fsS "http://$listen/healthz" >/dev/null 2>&1; then
        echo "[portal] http://$listen/ (local mode as $user in $group; log: $logfile)"; exit 0
      fi
      running || { echo "[portal] exited during start-up:"; tail -20 "$logfile"; exit 1; }
      sleep 0.5
    done
    echo "[portal] not answering after 15s:"; tail -20 "$logfile"; exit 1 ;;
  stop)
    if running; then echo "[portal] stopping (pid $(cat "$pidfile")) ..."; kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile" ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
