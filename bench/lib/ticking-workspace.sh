# Sourced by the benchmarks that move a ticking workspace between the two
# sandbox nodes. Needs test/integration/libpod.sh sourced, and sets nothing:
# it reads $s1 and $s2 (the nodes' Podman sockets) and $work (the bench's
# directory).

now_ms() { date +%s%3N; }

# start_workspace NAME MIB KIND: a workspace on node-1 running wscp-ticker,
# which fills MIB MiB of memory (KIND: random or realistic) and then appends
# the wall clock to /var/wscp/ticks every 10 ms.
start_workspace() {
  local name=$1 mib=$2 kind=$3
  libpod "$s1" POST containers/create -H 'Content-Type: application/json' -d "{
    \"name\": \"$name\", \"image\": \"localhost/wscp-testbox:latest\",
    \"labels\": {\"dev.containers.id\": \"$name\", \"wscp.bench\": \"1\", \"wscp.dev/namespace\": \"bench\"},
    \"command\": [\"/usr/local/bin/wscp-ticker\", \"$mib\", \"$kind\", \"/var/wscp/ticks\", \"10\"]}" >/dev/null
  libpod "$s1" POST "containers/$name/start" >/dev/null
  ready() { [[ $(container_file "$s1" "$name" /var/wscp/ticker) == ready ]]; }
  wait_until 600 "$name to fill its memory" ready
  ticking() { local n; n=$(container_file "$s1" "$name" /var/wscp/ticks | wc -l); (( n >= 100 )); }
  wait_until 60 "$name to tick" ticking
}

# ticks_after NAME START_MS END_MS: "downtime_ms running_after_ms" from the
# ticks the workspace wrote, read on node-2 once it ticked there after
# END_MS: the largest gap between two ticks, and the first tick after it
# counted from START_MS (the nodes share one clock).
ticks_after() {
  local name=$1 start=$2 end=$3 file=$work/$1.ticks
  ticked_since() {
    container_file "$s2" "$name" /var/wscp/ticks >"$file" || return 1
    local last; last=$(tail -1 "$file")
    [[ $last =~ ^[0-9]+$ ]] && (( last >= end + 500 ))
  }
  wait_until 120 "$name to tick on node-2" ticked_since
  awk -v s="$start" '$1 >= s - 1000 { if (p && $1 - p > g) { g = $1 - p; after = $1 } p = $1 }
    END { if (after) printf "%d %d\n", g, after - s }' "$file"
}

# remove_bench_containers SOCKET: every container this bench made there.
remove_bench_containers() {
  local c
  for c in $(libpod "$1" GET 'containers/json?all=true&filters=%7B%22label%22%3A%5B%22wscp.bench%22%5D%7D' 2>/dev/null |
    grep -o '"Names":\["[^"]*"' | sed 's/.*\["//; s/"$//'); do
    libpod "$1" DELETE "containers/$c?force=true" >/dev/null 2>&1 || true
  done
}
