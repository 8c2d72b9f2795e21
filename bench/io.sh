#!/usr/bin/env bash
# I/O benchmarks (DESIGN §8), each side by side with its peer in one run:
#
#   hash   `vendor check --installed` over one 1 GiB file and over 200 files
#          of 5 MiB, against `openssl dgst -sha256` on the same files.
#   apply  `vendor apply` of 8 × 64 MiB tar.gz assets from a loopback
#          server (download, sha256, extract, install), against 8 parallel
#          `curl` + `sha256sum` + `tar xzf`, 8 parallel `dotslash -- fetch`
#          when dotslash is on PATH (and the same followed by `sync -f`:
#          DotSlash never flushes, vendor must), and the physical limit: 8 parallel
#          `curl | sha256sum` of the same bytes (receive and hash only).
#          Rounds alternate the commands (APPLY_ROUNDS, default 5) and
#          the medians are compared; peak RSS from /usr/bin/time. With
#          VENDOR_BASELINE=/path/to/an/older/vendor (several: separated by
#          `:`), each binary is run in the same rounds (before/after on the
#          same files). VENDOR_BIN
#          benchmarks that binary instead of building one.
#
#   verify `vendor apply` of the same 8 archives with a minisign and with
#          an OpenPGP signature over each asset, against the apply without
#          signatures and against 8 parallel `minisign -V` / `gpg --verify`.
#
#   bash bench/io.sh [hash|apply|verify]...      (default: all)
#
# IO_RATE=40m caps every connection of the nginx server at that many
# bytes per second (nginx's `limit_rate`), for a network slower than the
# CPU.
#
# Needs python3, nginx (the loopback server; IO_SERVER=python uses
# python3's http.server instead), openssl, curl and GNU time; installs the
# missing ones with apt-get when run as root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(hash apply verify)

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v minisign >/dev/null || need+=(minisign)
command -v gpg >/dev/null || need+=(gnupg)
[ -x /usr/bin/time ] || need+=(time)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || [ "${IO_SERVER:-nginx}" != nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]}" >&2
    exit 1
  fi
fi

if [ -n "${VENDOR_BIN:-}" ]; then
  vendor=$VENDOR_BIN
else
  (cd "$repo" && cargo build --release --locked -q)
  vendor="${CARGO_TARGET_DIR:-$repo/target}/release/vendor"
fi
work=$(mktemp -d /var/tmp/vendor-io.XXXXXX)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
export VENDOR_CACHE_DIR="$work/cache"

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

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Serves $1 on a loopback port and prints the port. nginx (sendfile, one
# worker per core) when installed, so the server is never what a run
# waits for; else python3's http.server, which on two cores is slower than
# the clients it serves (BENCHMARKS.md). IO_SERVER=python forces it.
serve() {
  local dir=$1 port
  port=$(free_port)
  if [ "${IO_SERVER:-nginx}" = nginx ] && [ -x "$nginx" ]; then
    local conf="$work/nginx-$port"
    mkdir -p "$conf"
    cat > "$conf/nginx.conf" <<NGINX
# When started as root, workers would drop to nobody, who cannot read
# the mode-700 work directory.
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes auto;
daemon off;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 30;
  client_body_temp_path $conf/body;
  proxy_temp_path $conf/proxy;
  fastcgi_temp_path $conf/fastcgi;
  uwsgi_temp_path $conf/uwsgi;
  scgi_temp_path $conf/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $dir;
    $( [ -n "${IO_RATE:-}" ] && echo "limit_rate ${IO_RATE};" )
  }
}
NGINX
    "$nginx" -e "$conf/error.log" -p "$conf" -c "$conf/nginx.conf" >/dev/null 2>&1 &
  else
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
  fi
  # `serve` runs in a command substitution: the pid goes through a file.
  echo $! > "$work/server.pid"
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  echo "$port"
}

stop_server() {
  [ -f "$work/server.pid" ] || return 0
  local pid
  pid=$(cat "$work/server.pid")
  kill "$pid" 2>/dev/null || true
  # Not our child (it was started in a subshell): poll until it is gone.
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$work/server.pid"
}

# A tree whose one item installs every file in $1 (bare downloads, hashes
# from a SHA256SUMS file), applied once so the lock holds every hash.
installed_tree() {
  local files=$1 tree=$2 port
  (cd "$files" && sha256sum -- * > SHA256SUMS)
  port=$(serve "$files")
  mkdir -p "$tree"
  {
    echo "version: 1"
    echo "items:"
    echo "  data:"
    echo "    version: \"1\""
    echo "    source: {type: url}"
    echo "    assets:"
    for f in "$files"/*; do
      name=$(basename "$f")
      [ "$name" = SHA256SUMS ] && continue
      echo "      - url: http://127.0.0.1:$port/$name"
      echo "        checksum: {file: SHA256SUMS}"
      echo "        install: data/$name"
    done
  } > "$tree/vendor.yaml"
  "$vendor" -C "$tree" -q apply >/dev/null
  stop_server
}

hash_section() {
  echo "## check --installed vs openssl dgst -sha256"
  echo
  mkdir -p "$work/one" "$work/many"
  head -c 1G /dev/urandom > "$work/one/big.bin"
  for i in $(seq -w 1 200); do head -c 5M /dev/urandom > "$work/many/f$i.bin"; done
  installed_tree "$work/one" "$work/tree-one"
  installed_tree "$work/many" "$work/tree-many"
  # Warm the page cache so both sides read from memory.
  cat "$work/tree-one/data/"* "$work/tree-many/data/"* > /dev/null

  local v o
  echo "| input | vendor check | openssl dgst -sha256 | openssl / vendor |"
  echo "|---|---|---|---|"
  v=$(best_of 5 "$vendor" -C "$work/tree-one" check --installed)
  o=$(best_of 5 openssl dgst -sha256 "$work/tree-one/data/big.bin")
  echo "| 1 file × 1 GiB | ${v} s | ${o} s | $(ratio "$o" "$v") |"
  v=$(best_of 5 "$vendor" -C "$work/tree-many" check --installed)
  o=$(best_of 5 sh -c "openssl dgst -sha256 '$work'/tree-many/data/*.bin")
  echo "| 200 files × 5 MiB | ${v} s | ${o} s | $(ratio "$o" "$v") |"
  echo
}

apply_section() {
  echo "## apply: 8 × 64 MiB tar.gz from a loopback server"
  echo
  local up="$work/upstream" port
  mkdir -p "$up"
  for i in $(seq 1 8); do
    mkdir -p "$work/pkg/p$i/bin"
    head -c 64M /dev/urandom > "$work/pkg/p$i/bin/tool"
    tar -C "$work/pkg" -cf - "p$i" | gzip -1 > "$up/p$i.tar.gz"
  done
  rm -rf "$work/pkg"
  (cd "$up" && sha256sum -- *.tar.gz > SHA256SUMS)
  port=$(serve "$up")

  local tree="$work/tree-apply"
  mkdir -p "$tree"
  {
    echo "version: 1"
    echo "items:"
    echo "  tools:"
    echo "    version: \"1\""
    echo "    source: {type: url}"
    echo "    assets:"
    for i in $(seq 1 8); do
      echo "      - url: http://127.0.0.1:$port/p$i.tar.gz"
      echo "        checksum: {file: SHA256SUMS}"
      echo "        extract: {member: p$i/bin/tool}"
      echo "        install: dist/tool-$i"
      echo "        mode: \"0755\""
    done
  } > "$tree/vendor.yaml"

  # Each run starts cold: empty caches, nothing installed, no lock. The
  # previous run's output is removed, and everything written so far is
  # flushed, before the clock starts (`reset`): deleting a run's output
  # is not part of the next one, and no earlier run's writes are flushed
  # during it.
  reset() {
    rm -rf "$VENDOR_CACHE_DIR" "$tree/dist" "$tree/vendor.lock.yaml" "$tree/.vendor" \
      "$work/curl" "$work/ds-cache"
    mkdir -p "$work/curl"
    sync
  }
  vendor_apply() {
    "$vendor" -C "$tree" -q apply
  }
  curl_peer() {
    for i in $(seq 1 8); do
      (cd "$work/curl" && curl -sf -o "p$i.tar.gz" "http://127.0.0.1:$port/p$i.tar.gz" \
        && sha256sum "p$i.tar.gz" > /dev/null && tar xzf "p$i.tar.gz") &
    done
    wait
  }
  # DotSlash, when installed: one file per archive, fetched in parallel
  # (download, sha256, extract, cache), cold cache each run.
  for i in $(seq 1 8); do
    digest=$(sha256sum "$up/p$i.tar.gz" | cut -d' ' -f1)
    size=$(stat -c %s "$up/p$i.tar.gz")
    cat > "$work/ds-$i" <<JSON
#!/usr/bin/env dotslash
{
  "name": "tool-$i",
  "platforms": {
    "linux-x86_64": {
      "size": $size,
      "hash": "sha256",
      "digest": "$digest",
      "format": "tar.gz",
      "path": "p$i/bin/tool",
      "providers": [{"url": "http://127.0.0.1:$port/p$i.tar.gz"}]
    }
  }
}
JSON
  done
  dotslash_peer() {
    for i in $(seq 1 8); do
      DOTSLASH_CACHE="$work/ds-cache" dotslash -- fetch "$work/ds-$i" >/dev/null &
    done
    wait
  }
  # DotSlash does not flush what it installs (no fsync or fdatasync
  # call); vendor must (DESIGN §7: the commit is durable). The same run
  # followed by a flush of the file system is the durable equivalent.
  dotslash_durable_peer() {
    dotslash_peer
    sync -f "$work/ds-cache"
  }
  export vendor tree work port VENDOR_BASELINE

  # The physical limit: the same bytes received and hashed, nothing else.
  # openssl uses the CPU's SHA instructions, as vendor does; coreutils'
  # sha256sum does not (about 5x slower here), so its row is a peer, not
  # the limit.
  limit_peer() {
    for i in $(seq 1 8); do
      curl -sf "http://127.0.0.1:$port/p$i.tar.gz" | openssl dgst -sha256 > /dev/null &
    done
    wait
  }
  sha256sum_peer() {
    for i in $(seq 1 8); do
      curl -sf "http://127.0.0.1:$port/p$i.tar.gz" | sha256sum > /dev/null &
    done
    wait
  }
  baseline_apply() {
    "$1" -C "$tree" -q apply
  }
  export -f reset vendor_apply baseline_apply curl_peer dotslash_peer dotslash_durable_peer \
    limit_peer sha256sum_peer

  # One round runs every command once, so a busy machine slows all alike.
  local rounds=${APPLY_ROUNDS:-5} peers=(vendor_apply curl_peer limit_peer sha256sum_peer) p
  command -v dotslash >/dev/null && peers+=(dotslash_peer dotslash_durable_peer)
  local baselines=() b
  [ -n "${VENDOR_BASELINE:-}" ] && IFS=: read -ra baselines <<< "$VENDOR_BASELINE"
  for b in "${baselines[@]}"; do peers+=("baseline_apply $b"); done
  declare -A times
  local server="python3 http.server" load0
  if [ "${IO_SERVER:-nginx}" = nginx ] && [ -x "$nginx" ]; then
    server="nginx $("$nginx" -v 2>&1 | cut -d/ -f2), sendfile"
  fi
  load0=$(cut -d' ' -f1 /proc/loadavg)
  for _ in $(seq "$rounds"); do
    for p in "${peers[@]}"; do
      reset
      times[$p]+="$(best_of 1 bash -c "$p") "
    done
  done
  median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" $1; }
  local v c l s d="" rss
  v=$(median "${times[vendor_apply]}")
  c=$(median "${times[curl_peer]}")
  l=$(median "${times[limit_peer]}")
  reset
  rss=$( { /usr/bin/time -f '%M' bash -c vendor_apply >/dev/null; } 2>&1 | tail -1)
  echo "Server: $server. Load average (1 min) before the rounds: $load0."
  echo
  echo "| tool | wall (median of $rounds) | vendor / tool | runs (s) |"
  echo "|---|---|---|---|"
  echo "| vendor apply | ${v} s | 1.00 | ${times[vendor_apply]}|"
  echo "| 8 × (curl + sha256sum + tar xzf), parallel | ${c} s | $(ratio "$v" "$c") | ${times[curl_peer]}|"
  if command -v dotslash >/dev/null; then
    d=$(median "${times[dotslash_peer]}")
    echo "| 8 × dotslash -- fetch, parallel | ${d} s | $(ratio "$v" "$d") | ${times[dotslash_peer]}|"
    d=$(median "${times[dotslash_durable_peer]}")
    echo "| the same, then \`sync -f\` (durable, as vendor) | ${d} s | $(ratio "$v" "$d") | ${times[dotslash_durable_peer]}|"
  fi
  for b in "${baselines[@]}"; do
    local t
    t=$(median "${times[baseline_apply $b]}")
    echo "| vendor apply, baseline $b | ${t} s | $(ratio "$v" "$t") | ${times[baseline_apply $b]}|"
  done
  s=$(median "${times[sha256sum_peer]}")
  echo "| 8 × (curl \| sha256sum), parallel | ${s} s | $(ratio "$v" "$s") | ${times[sha256sum_peer]}|"
  echo "| limit: 8 × (curl \| openssl dgst -sha256), parallel | ${l} s | $(ratio "$v" "$l") | ${times[limit_peer]}|"
  echo
  echo "Peak RSS of vendor apply: $((rss / 1024)) MiB"
  echo
  stop_server
}

verify_section() {
  echo "## apply with signatures over each of 8 × 64 MiB tar.gz"
  echo
  local up="$work/vup" keys="$work/keys" port
  mkdir -p "$up" "$keys"
  for i in $(seq 1 8); do
    mkdir -p "$work/pkg/p$i/bin"
    head -c 64M /dev/urandom > "$work/pkg/p$i/bin/tool"
    tar -C "$work/pkg" -cf - "p$i" | gzip -1 > "$up/p$i.tar.gz"
  done
  rm -rf "$work/pkg"
  (cd "$up" && sha256sum -- *.tar.gz > SHA256SUMS)
  minisign -G -W -p "$keys/m.pub" -s "$keys/m.key" >/dev/null
  export GNUPGHOME="$keys/gnupg"
  mkdir -p -m 700 "$GNUPGHOME"
  gpg -q --batch --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'bench <bench@example.invalid>' ed25519 sign never
  gpg -q --batch --armor --export > "$keys/keyring.asc"
  for i in $(seq 1 8); do
    minisign -S -s "$keys/m.key" -m "$up/p$i.tar.gz" >/dev/null
    gpg -q --batch --yes --pinentry-mode loopback --passphrase '' --detach-sign "$up/p$i.tar.gz"
  done
  port=$(serve "$up")

  # One tree per case: no signature, minisign, OpenPGP.
  for case in none minisign pgp; do
    local tree="$work/tree-$case"
    mkdir -p "$tree/keys"
    cp "$keys/m.pub" "$keys/keyring.asc" "$tree/keys/"
    {
      echo "version: 1"
      echo "items:"
      echo "  tools:"
      echo "    version: \"1\""
      echo "    source: {type: url}"
      echo "    assets:"
      for i in $(seq 1 8); do
        echo "      - url: http://127.0.0.1:$port/p$i.tar.gz"
        echo "        checksum: {file: SHA256SUMS}"
        echo "        extract: {member: p$i/bin/tool}"
        echo "        install: dist/tool-$i"
        echo "        mode: \"0755\""
      done
      case $case in
        minisign) printf '    verify:\n      signatures:\n        - {kind: minisign, key: keys/m.pub, signature: "{asset}.minisig"}\n' ;;
        pgp) printf '    verify:\n      signatures:\n        - {kind: pgp, key: keys/keyring.asc, signature: "{asset}.sig"}\n' ;;
      esac
    } > "$tree/vendor.yaml"
  done
  # Cold runs: empty cache, nothing installed, no lock.
  signed_apply() {
    rm -rf "$VENDOR_CACHE_DIR" "$work/tree-$1/dist" "$work/tree-$1/vendor.lock.yaml" "$work/tree-$1/.vendor"
    "$vendor" -C "$work/tree-$1" -q apply
  }
  minisign_peer() {
    for i in $(seq 1 8); do minisign -V -q -p "$work/keys/m.pub" -m "$work/vup/p$i.tar.gz" & done
    wait
  }
  gpg_peer() {
    for i in $(seq 1 8); do gpg -q --batch --verify "$work/vup/p$i.tar.gz.sig" "$work/vup/p$i.tar.gz" 2>/dev/null & done
    wait
  }
  export -f signed_apply minisign_peer gpg_peer
  export vendor work
  cat "$up"/* > /dev/null

  local n m g pm pg
  n=$(best_of 3 bash -c 'signed_apply none')
  m=$(best_of 3 bash -c 'signed_apply minisign')
  g=$(best_of 3 bash -c 'signed_apply pgp')
  pm=$(best_of 3 bash -c minisign_peer)
  pg=$(best_of 3 bash -c gpg_peer)
  echo "| case | vendor apply (best of 3) | added by the signature | peer: verifying alone, 8 in parallel |"
  echo "|---|---|---|---|"
  echo "| checksum file only | ${n} s | — | — |"
  echo "| + minisign over each asset | ${m} s | $(python3 -c "print(f'{$m - $n:+.3f}')") s | minisign -V: ${pm} s |"
  echo "| + OpenPGP over each asset | ${g} s | $(python3 -c "print(f'{$g - $n:+.3f}')") s | gpg --verify: ${pg} s |"
  echo
  gpgconf --kill gpg-agent 2>/dev/null || true
  stop_server
}

echo "# I/O benchmarks — $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
for s in "${sections[@]}"; do
  case "$s" in
    hash) hash_section ;;
    apply) apply_section ;;
    verify) verify_section ;;
    *) echo "unknown section: $s (hash, apply, verify)" >&2; exit 64 ;;
  esac
done
