#!/usr/bin/env bash
# Runs the cloud metadata emulator (metadata_emulator.py) on a free loopback
# port for the agent's notice tests.
#   emulator.sh up STATE_DIR     start it; STATE_DIR/port holds its port
#   emulator.sh down STATE_DIR   stop it and delete STATE_DIR
set -euo pipefail
cmd=${1:?usage: emulator.sh up|down STATE_DIR}
state=${2:?usage: emulator.sh up|down STATE_DIR}
here=$(cd "$(dirname "$0")" && pwd)

wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

healthy() { [[ -s $state/port ]] && curl -sf --noproxy '*' "http://127.0.0.1:$(cat "$state/port")/_emulator/health"; }

stop() {
  [[ -f $state/pid ]] || return 0
  local pid; pid=$(cat "$state/pid")
  kill "$pid" 2>/dev/null || true
  wait_until 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/pid"
}

case $cmd in
  up)
    [[ -d $state ]] && stop
    rm -rf "$state"; mkdir -p "$state"
    setsid python3 "$here/metadata_emulator.py" --port-file "$state/port" >>"$state/emulator.log" 2>&1 </dev/null &
    echo $! >"$state/pid"
    wait_until 20 healthy || { echo "emulator.sh: the emulator did not start; log:" >&2; tail -20 "$state/emulator.log" >&2; exit 1; }
    ;;
  down) stop; rm -rf "$state" ;;
  *) echo "emulator.sh: unknown command $cmd" >&2; exit 2 ;;
esac
