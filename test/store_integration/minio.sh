#!/usr/bin/env bash
# Runs a real MinIO server for the store's integration tests, on loopback
# with a temporary data directory.
#   minio.sh up STATE_DIR      build (cached) and start; write STATE_DIR/env
#   minio.sh start STATE_DIR   start again on the same port and data (after stop)
#   minio.sh stop STATE_DIR    stop the server, keep its data
#   minio.sh down STATE_DIR    stop and delete everything
set -euo pipefail
cmd=${1:?usage: minio.sh up|start|stop|down STATE_DIR}
state=${2:?usage: minio.sh up|start|stop|down STATE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

live() { curl -sf "http://127.0.0.1:$(cat "$state/port")/minio/health/live"; }

start() {
  local port bin
  port=$(cat "$state/port"); bin=$(cat "$state/bin")
  MINIO_ROOT_USER=wscptest MINIO_ROOT_PASSWORD=wscptest-secret-key \
  MINIO_BROWSER=off MINIO_UPDATE=off \
    setsid "$bin" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$((port + 1))" \
      "$state/data" >>"$state/minio.log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  wait_until 60 live || { echo "minio.sh: MinIO did not become live on port $port; log:" >&2; tail -20 "$state/minio.log" >&2; exit 1; }
}

stop() {
  [[ -f $state/pid ]] || return 0
  local pid; pid=$(cat "$state/pid")
  kill "$pid" 2>/dev/null || true
  wait_until 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/pid"
}

case $cmd in
  up)
    [[ -f $state/pid ]] && stop
    rm -rf "$state"; mkdir -p "$state/data"
    bin=$("$repo/scripts/install-minio")
    echo "$bin" >"$state/bin"
    port=$("$repo/scripts/free-ports" 2)  # the server's, and the next for its console
    echo "$port" >"$state/port"
    start
    cat >"$state/env" <<ENV
WSCP_S3_ENDPOINT=http://127.0.0.1:$port
WSCP_S3_ACCESS_KEY=wscptest
WSCP_S3_SECRET_KEY=wscptest-secret-key
ENV
    ;;
  start) start ;;
  stop) stop ;;
  down) stop; rm -rf "$state" ;;
  *) echo "minio.sh: unknown command $cmd" >&2; exit 2 ;;
esac
