#!/usr/bin/env bash
# Runs a real Prometheus server (Debian's package) on loopback for the
# agent's metrics test. It scrapes 127.0.0.1:TARGET_PORT/metrics every
# second, where the test serves its metrics.
#   prometheus.sh up STATE_DIR     pick two free ports, start, wait until ready;
#                                  STATE_DIR/env: WSCP_PROMETHEUS_URL, WSCP_PROMETHEUS_TARGET_PORT
#   prometheus.sh down STATE_DIR   stop it and delete STATE_DIR
set -euo pipefail
cmd=${1:?usage: prometheus.sh up|down STATE_DIR}
state=${2:?usage: prometheus.sh up|down STATE_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)

wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

ready() { curl -sf --noproxy '*' "http://127.0.0.1:$(cat "$state/port")/-/ready"; }

stop() {
  [[ -f $state/pid ]] || return 0
  local pid; pid=$(cat "$state/pid")
  kill "$pid" 2>/dev/null || true
  wait_until 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/pid"
}

case $cmd in
  up)
    command -v prometheus >/dev/null || { echo "prometheus.sh: no prometheus binary (scripts/install-deps installs Debian's package)" >&2; exit 1; }
    [[ -d $state ]] && stop
    rm -rf "$state"; mkdir -p "$state/data"
    port=$("$repo/scripts/free-ports" 2); target=$((port + 1))
    echo "$port" >"$state/port"
    cat >"$state/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: wscp-agent
    static_configs:
      - targets: ["127.0.0.1:$target"]
YML
    setsid prometheus --config.file="$state/prometheus.yml" --storage.tsdb.path="$state/data" \
      --web.listen-address="127.0.0.1:$port" >>"$state/prometheus.log" 2>&1 </dev/null &
    echo $! >"$state/pid"
    wait_until 60 ready || { echo "prometheus.sh: Prometheus did not become ready on port $port; log:" >&2; tail -20 "$state/prometheus.log" >&2; exit 1; }
    cat >"$state/env" <<ENV
WSCP_PROMETHEUS_URL=http://127.0.0.1:$port
WSCP_PROMETHEUS_TARGET_PORT=$target
ENV
    ;;
  down) stop; rm -rf "$state" ;;
  *) echo "prometheus.sh: unknown command $cmd" >&2; exit 2 ;;
esac
