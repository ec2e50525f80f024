#!/usr/bin/env bash
# Smoke test of the sandbox: a counter container checkpointed (exported) on
# node-1, its image shipped, and restored on node-2, where the count must
# continue from where it was rather than restart from zero.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
source "$here/libpod.sh"
sandbox=$here/../../scripts/sandbox
tar=${WSCP_TESTBOX_TAR:?set WSCP_TESTBOX_TAR to the test image tar}
a=$("$sandbox" socket node-1); b=$("$sandbox" socket node-2)
name=smoke-$$
work=$(mktemp -d); trap 'rm -rf "$work"; libpod "$a" DELETE "containers/$name?force=true" >/dev/null 2>&1 || true; libpod "$b" DELETE "containers/$name?force=true" >/dev/null 2>&1 || true' EXIT

import_testbox "$a" "$tar"
start_counter "$a" "$name"
wait_until 30 "count >= 20 on node-1" count_at_least "$a" "$name" 20
before=$(read_count "$a" "$name")

libpod_to_file "$a" POST "containers/$name/checkpoint?export=true" "$work/checkpoint.tar"
libpod "$a" DELETE "containers/$name?force=true" >/dev/null
libpod_to_file "$a" GET "images/localhost%2Fwscp-testbox:latest/get?format=oci-archive" "$work/image.tar"
libpod "$b" POST images/load -H 'Content-Type: application/x-tar' --data-binary "@$work/image.tar" >/dev/null
libpod "$b" POST "containers/import/restore?import=true" -H 'Content-Type: application/x-tar' \
  --data-binary "@$work/checkpoint.tar" >/dev/null

wait_until 30 "the restored counter on node-2 to publish" count_at_least "$b" "$name" 0
first=$(read_count "$b" "$name")
wait_until 30 "the count on node-2 to pass $((first + 10))" count_at_least "$b" "$name" $((first + 10))
after=$(read_count "$b" "$name")
echo "count before checkpoint on node-1: $before; first read on node-2: $first; later: $after"
if (( first < before )); then
  echo "FAIL: the count restarted on node-2 ($first < $before): process memory was not restored" >&2
  exit 1
fi
echo "PASS: the counter continued on node-2"
