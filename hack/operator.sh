#!/usr/bin/env bash
# Run the operator in the background for `make demo` (stop it with `make down`).
#   hack/operator.sh start | stop | status
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.cluster"
pidfile="$state/operator.pid"
logfile="$state/operator.log"
port=${MICROAPP_LIVENESS_PORT:-8080}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "[operator] already running (pid $(cat "$pidfile"), log $logfile)"; exit 0; fi
    mkdir -p "$state"
    echo "[operator] starting in the background (log: $logfile) ..."
    KUBECONFIG="$state/kubeconfig" nohup "$root/.venv/bin/microapp" run \
      --liveness "http://127.0.0.1:$port/healthz" >"$logfile" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 60); do
      if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
        echo "[operator] up (pid $(cat "$pidfile"), liveness http://127.0.0.1:$port/healthz)"; exit 0
      fi
      running || { echo "[operator] exited during start-up; last log lines:"; tail -20 "$logfile"; exit 1; }
      sleep 1
    done
    echo "[operator] not live after 60s; last log lines:"; tail -20 "$logfile"; exit 1 ;;
  stop)
    if running; then
      echo "[operator] stopping (pid $(cat "$pidfile")) ..."
      kill "$(cat "$pidfile")"
      for _ in $(seq 1 20); do running || break; sleep 0.5; done
      running && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -f "$pidfile" ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
