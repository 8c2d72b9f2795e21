#!/usr/bin/env bash
# Remote cache benchmark: `vendor apply` of 8 × 64 MiB tar.gz assets
# (download, sha256, extract, install) on a runner with an empty local
# cache and the lock committed, side by side in one run:
#
#   upstream        no remote cache: from the loopback upstream server
#   warm registry   VENDOR_CACHE_REMOTE set, the registry holds every blob:
#                   from the registry, no upstream request
#   cold registry   VENDOR_CACHE_REMOTE set, an empty registry: from
#                   upstream, then every blob uploaded (the first runner)
#
# The upstream is python3's http.server, the registry the CNCF
# distribution registry of Debian's docker-registry, both on 127.0.0.1.
# Peak RSS of the warm-registry apply from /usr/bin/time.
#
#   bash bench/registry.sh
#   VENDOR_BIN=path/to/vendor bash bench/registry.sh   # skip the build
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]}" >&2
    exit 1
  fi
fi

if [ -n "${VENDOR_BIN:-}" ]; then
  vendor=$(realpath "$VENDOR_BIN")
else
  (cd "$repo" && cargo build --release -q)
  vendor="$repo/target/release/vendor"
fi
work=$(mktemp -d /var/tmp/vendor-registry.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
export VENDOR_CACHE_DIR="$work/cache"
export DOCKER_CONFIG="$work/no-docker-config"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  exit 1
}

# Wall time of a command in seconds (best of N runs).
best_of() {
  local n=$1 best="" t
  shift
  for _ in $(seq "$n"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    t=$(( (end - start) / 1000000 ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  printf '%d.%03d' $((best / 1000)) $((best % 1000))
}

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# A registry on a free port with its storage in $1; prints the port.
start_registry() {
  local root=$1 port
  port=$(free_port)
  mkdir -p "$root"
  cat > "$root.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $root
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$root.yml" >/dev/null 2>&1 &
  echo $! > "$root.pid"
  wait_port "$port"
  echo "$port"
}

# The upstream: 8 archives of 64 MiB of random bytes each.
up="$work/upstream"
mkdir -p "$up"
for i in $(seq 1 8); do
  mkdir -p "$work/pkg/p$i/bin"
  head -c 64M /dev/urandom > "$work/pkg/p$i/bin/tool"
  tar -C "$work/pkg" -cf - "p$i" | gzip -1 > "$up/p$i.tar.gz"
done
rm -rf "$work/pkg"
(cd "$up" && sha256sum -- *.tar.gz > SHA256SUMS)
up_port=$(free_port)
python3 -m http.server "$up_port" --bind 127.0.0.1 --directory "$up" >/dev/null 2>&1 &
pids+=($!)
wait_port "$up_port"

tree="$work/tree"
mkdir -p "$tree"
{
  echo "version: 1"
  echo "items:"
  echo "  tools:"
  echo "    version: \"1\""
  echo "    source: {type: url}"
  echo "    assets:"
  for i in $(seq 1 8); do
    echo "      - url: http://127.0.0.1:$up_port/p$i.tar.gz"
    echo "        checksum: {file: SHA256SUMS}"
    echo "        extract: {member: p$i/bin/tool}"
    echo "        install: dist/tool-$i"
    echo "        mode: \"0755\""
  done
} > "$tree/vendor.yaml"
# The lock, as a runner finds it committed.
VENDOR_CACHE_REMOTE=off "$vendor" -C "$tree" -q apply >/dev/null

warm_port=$(start_registry "$work/warm")
pids+=("$(cat "$work/warm.pid")")
VENDOR_CACHE_REMOTE="oci://127.0.0.1:$warm_port/vendor-cache" "$vendor" -C "$tree" -q mirror push >/dev/null

# Each run: empty local cache, nothing installed, the lock kept.
fresh() { rm -rf "$VENDOR_CACHE_DIR" "$tree/dist" "$tree/.vendor"; }
from_upstream() { fresh; VENDOR_CACHE_REMOTE=off "$vendor" -C "$tree" -q apply; }
from_warm() { fresh; VENDOR_CACHE_REMOTE="oci://127.0.0.1:$warm_port/vendor-cache" "$vendor" -C "$tree" -q apply; }
into_cold() {
  fresh
  local root="$work/cold-$RANDOM$RANDOM" port pid
  port=$(start_registry "$root")
  pid=$(cat "$root.pid")
  VENDOR_CACHE_REMOTE="oci://127.0.0.1:$port/vendor-cache" "$vendor" -C "$tree" -q apply
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$root"
}
export -f fresh from_upstream from_warm into_cold start_registry free_port wait_port
export vendor tree work warm_port

u=$(best_of 3 bash -c from_upstream)
w=$(best_of 3 bash -c from_warm)
c=$(best_of 3 bash -c into_cold)
rss=$( { /usr/bin/time -f '%M' bash -c from_warm >/dev/null; } 2>&1 | tail -1)
# The warm runs needed no upstream: one more with the upstream stopped.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
bash -c from_warm >/dev/null || { echo "the warm-registry apply needed the upstream" >&2; exit 1; }
echo "## apply of 8 × 64 MiB tar.gz: remote cache vs upstream (empty local cache)"
echo
echo "| source | wall (best of 3) | vs upstream |"
echo "|---|---|---|"
echo "| upstream (loopback http.server), no remote cache | ${u} s | 1.00 |"
echo "| warm registry (loopback docker-registry) | ${w} s | $(ratio "$w" "$u") |"
echo "| cold registry: upstream, then 8 uploads | ${c} s | $(ratio "$c" "$u") |"
echo
echo "Peak RSS of the warm-registry apply: $((rss / 1024)) MiB"
