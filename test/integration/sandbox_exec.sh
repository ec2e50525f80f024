#!/usr/bin/env bash
# `scripts/sandbox exec NODE podman ...` runs Podman as the node's own service
# sees it (its cgroups and cgroup namespace): a checkpoint made that way on
# node-1 restores on node-2, and the count continues.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
source "$here/libpod.sh"
sandbox=$here/../../scripts/sandbox
tar=${WSCP_TESTBOX_TAR:?set WSCP_TESTBOX_TAR to the test image tar}
a=$("$sandbox" socket node-1); b=$("$sandbox" socket node-2)
root_a=$("$sandbox" root node-1); root_b=$("$sandbox" root node-2)
name=exec-$$
archive=/tmp/$name.tar
work=$(mktemp -d)
cleanup() {
  rm -rf "$work" "$root_a$archive" "$root_b$archive"
  libpod "$a" DELETE "containers/$name?force=true" >/dev/null 2>&1 || true
  libpod "$b" DELETE "containers/$name?force=true" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export PODMAN_IGNORE_CGROUPSV1_WARNING=1

import_testbox "$a" "$tar"
start_counter "$a" "$name"
wait_until 30 "count >= 20 on node-1" count_at_least "$a" "$name" 20
before=$(read_count "$a" "$name")

"$sandbox" exec node-1 podman container checkpoint --export="$archive" "$name"
cp "$root_a$archive" "$root_b$archive"
# node-2 gets node-1's image (same id), as a migration would ship it.
libpod_to_file "$a" GET "images/localhost%2Fwscp-testbox:latest/get?format=oci-archive" "$work/image.tar"
libpod "$b" POST images/load -H 'Content-Type: application/x-tar' --data-binary "@$work/image.tar" >/dev/null

if ! "$sandbox" exec node-2 podman container restore --import="$archive"; then
  echo "FAIL: a checkpoint made with 'sandbox exec node-1 podman container checkpoint' did not restore on node-2" >&2
  exit 1
fi
wait_until 30 "the restored counter on node-2 to publish" count_at_least "$b" "$name" 0
first=$(read_count "$b" "$name")
wait_until 30 "the count on node-2 to pass $((first + 10))" count_at_least "$b" "$name" $((first + 10))
echo "count before the checkpoint on node-1: $before; first read on node-2: $first"
if (( first < before )); then
  echo "FAIL: the count restarted on node-2 ($first < $before): process memory was not restored" >&2
  exit 1
fi
echo "PASS: a checkpoint made through 'sandbox exec' restored on another node and kept counting"
