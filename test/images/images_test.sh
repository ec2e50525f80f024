#!/usr/bin/env bash
# The container images (scripts/build-images) on the sandbox nodes: built on
# node-1, the archives loaded into node-2's Podman, and each image runs
# --version there; the controller's runs as a user that is not root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: images_test.sh BUILD_DIR}
sandbox=$root/scripts/sandbox
version=$(sed -n 's/^project(wscp VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
fail() { echo "FAIL: $*" >&2; exit 1; }

mapfile -t archives < <("$root/scripts/build-images" "$build" node-1)
(( ${#archives[@]} == 2 )) || fail "expected two image archives, got: ${archives[*]}"
node2=$("$sandbox" root node-2)
for name in agent controller; do
  archive=$build/images/wscp-$name-$version.tar
  [[ -s $archive ]] || fail "$archive is missing"
  cp "$archive" "$node2/tmp/wscp-$name.tar"
  "$sandbox" exec node-2 podman rmi -f "localhost/wscp-$name:$version" >/dev/null 2>&1 || true
  "$sandbox" exec node-2 podman load -q -i "/tmp/wscp-$name.tar" >/dev/null
  rm -f "$node2/tmp/wscp-$name.tar"
  out=$("$sandbox" exec node-2 podman run --rm --network none "localhost/wscp-$name:$version" --version)
  [[ $out == "wscp-$name $version" ]] || fail "wscp-$name --version printed '$out'"
  echo "ok: $out"
done
user=$("$sandbox" exec node-2 podman image inspect --format '{{.Config.User}}' "localhost/wscp-controller:$version")
[[ $user == 65532:65532 ]] || fail "the controller's image runs as '$user'"
"$sandbox" exec node-2 podman run --rm --network none "localhost/wscp-controller:$version" --help | grep -q -- --client-cert \
  || fail "the controller's --help does not list its flags"
echo "images: all checks passed"
