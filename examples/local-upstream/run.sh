#!/usr/bin/env bash
# Walks through plan → apply → check → bump → rollback → smoke against a local
# upstream, with no internet: a tarball and its SHA256SUMS are served from
# 127.0.0.1:8931 by python3's http.server.
#
#   bash examples/local-upstream/run.sh        (from the repository root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vendor=${VENDOR:-"$repo/target/debug/vendor"}
[ -x "$vendor" ] || (cd "$repo" && cargo build -q)

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export VENDOR_CACHE_DIR="$work/cache"

# The upstream: two releases of a one-file tool.
for v in 1.0.0 1.1.0; do
  mkdir -p "$work/pkg/hello/bin" "$work/upstream/v$v"
  printf '#!/bin/sh\necho "hello %s"\n' "$v" > "$work/pkg/hello/bin/hello"
  chmod 755 "$work/pkg/hello/bin/hello"
  tar -C "$work/pkg" -czf "$work/upstream/v$v/hello-$v-linux-amd64.tar.gz" hello
  (cd "$work/upstream/v$v" && sha256sum ./*.tar.gz | sed 's| \./| |' > SHA256SUMS)
done
python3 -m http.server 8931 --bind 127.0.0.1 --directory "$work/upstream" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8931), 0.2)' 2>/dev/null && break
  sleep 0.1
done

mkdir "$work/tree"
cp "$here/vendor.yaml" "$here/build.mk" "$work/tree/"
run() { echo "\$ vendor $*"; "$vendor" -C "$work/tree" "$@" || echo "(exit $?)"; echo; }

run plan
run apply
run check --installed
"$work/tree/dist/hello-linux-amd64"
sed -i 's/version: "1.0.0"/version: "1.1.0"/' "$work/tree/vendor.yaml"
run plan
run apply
"$work/tree/dist/hello-linux-amd64"
echo "# rollback, offline, from the cache"
sed -i 's/version: "1.1.0"/version: "1.0.0"/' "$work/tree/vendor.yaml"
run --offline apply
"$work/tree/dist/hello-linux-amd64"
run check --installed
run smoke
