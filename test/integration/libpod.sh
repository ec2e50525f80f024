# Shell helpers over Podman's libpod REST socket, for the sandbox smoke test
# and the demo. Sourced, not executed.

LIBPOD_PREFIX=http://d/v4.0.0/libpod

# libpod SOCKET METHOD PATH [curl args...]: prints the body; fails on HTTP >= 400
# with the status and body on stderr.
libpod() {
  local sock=$1 method=$2 path=$3; shift 3
  local body status
  body=$(mktemp)
  status=$(curl -sS --unix-socket "$sock" -X "$method" -o "$body" -w '%{http_code}' "$@" "$LIBPOD_PREFIX/$path") || {
    rm -f "$body"; echo "libpod: $method $path on $sock: transport error" >&2; return 1; }
  if (( status >= 400 )); then
    echo "libpod: $method $path on $sock: HTTP $status: $(cat "$body")" >&2
    rm -f "$body"; return 1
  fi
  cat "$body"; rm -f "$body"
}

# Streams a binary answer to a file.
libpod_to_file() {
  local sock=$1 method=$2 path=$3 out=$4; shift 4
  local status
  status=$(curl -sS --unix-socket "$sock" -X "$method" -o "$out" -w '%{http_code}' "$@" "$LIBPOD_PREFIX/$path") || return 1
  if (( status >= 400 )); then
    echo "libpod: $method $path on $sock: HTTP $status: $(head -c 500 "$out")" >&2; return 1
  fi
}

# Reads one small file out of a running container.
container_file() {
  local sock=$1 name=$2 path=$3
  curl -sSf --unix-socket "$sock" "$LIBPOD_PREFIX/containers/$name/archive?path=$path" 2>/dev/null | tar -xO 2>/dev/null
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if (( SECONDS > deadline )); then echo "timed out after ${timeout}s waiting for: $what" >&2; return 1; fi
    sleep 0.2
  done
}

import_testbox() {
  local sock=$1 tar=$2
  libpod "$sock" POST "images/import?reference=localhost/wscp-testbox:latest" \
    -H 'Content-Type: application/x-tar' --data-binary "@$tar" >/dev/null
}

# start_counter SOCKET NAME: a container that counts in memory.
start_counter() {
  local sock=$1 name=$2
  libpod "$sock" POST containers/create -H 'Content-Type: application/json' \
    -d "{\"name\":\"$name\",\"image\":\"localhost/wscp-testbox:latest\",\"labels\":{\"dev.containers.id\":\"$name\"},\"command\":[\"/usr/local/bin/wscp-counter\",\"/var/wscp/count\",\"100\"]}" >/dev/null
  libpod "$sock" POST "containers/$name/start" >/dev/null
}

read_count() { container_file "$1" "$2" /var/wscp/count; }

count_at_least() {
  local n; n=$(read_count "$1" "$2") || return 1
  [[ $n =~ ^[0-9]+$ ]] && (( n >= $3 ))
}
