#!/usr/bin/env bash
# Network latency benchmark for `vendor` (DESIGN.md §8): plan, apply,
# outdated and check --upstream against a loopback fake GitHub that holds
# every request for a fixed delay (one round trip).
#
#   bash bench/latency.sh                 # N = 1 10 50 200, 100 ms
#   BENCH_SIZES="50" bash bench/latency.sh
#
# For each N it makes N github-release items (linux/amd64 + linux/arm64
# tar.gz and a checksum file each) and measures, per command, the wall
# time, API requests per item (cold: empty cache; warm: repeated, answered
# 304), requests in flight at most, and the ratio to the ideal: the fewest
# round trips a run must wait for one after the other, times the delay:
#
#   plan            2  (release + tag commit together, then the checksum file)
#   apply           3  (the same two, then the downloads)
#   outdated        1  (the release list)
#   check --upstream 1 (release, and the tag commit from git, together;
#                      digests need no download)
#
# The same cold runs with VENDOR_JOBS=1 are the sequential baseline (one
# item at a time, as before items were resolved concurrently), for N up
# to BENCH_SEQ_MAX.
#
# Environment:
#   VENDOR_BIN=path     benchmark this binary (default: cargo build --release)
#   BENCH_SIZES         item counts (default "1 10 50 200")
#   BENCH_DELAY         seconds per request (default 0.1)
#   BENCH_SEQ_MAX       largest N given the VENDOR_JOBS=1 baseline (default 50)
#   BENCH_JOBS          VENDOR_JOBS for the concurrent runs (default: unset,
#                       vendor's default)
#   BENCH_SERVER        rust (default: the test fake, built with cargo) or
#                       python (bench/fake_github.py)
#   BENCH_TMP=dir BENCH_KEEP=1   where trees go, and keep them
#
# Needs bash, python3 (stdlib), coreutils and cargo; no network beyond
# loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES=(${BENCH_SIZES:-1 10 50 200})
DELAY="${BENCH_DELAY:-0.1}"
SEQ_MAX="${BENCH_SEQ_MAX:-50}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

if [[ -n "${VENDOR_BIN:-}" ]]; then
    BIN="$VENDOR_BIN"
else
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --locked --quiet)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vendor"
fi
[[ -x "$BIN" ]] || die "no vendor binary at $BIN"

TMP="${BENCH_TMP:-$(mktemp -d -t vendor-latency-XXXXXX)}"
mkdir -p "$TMP"
SERVER_PID=
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    [[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$TMP"
}
trap cleanup EXIT

# The fake GitHub: this crate's own test fake (tests/network.rs,
# `serve_the_latency_benchmark`), multi-threaded, so the client is what
# is measured. BENCH_SERVER=python uses bench/fake_github.py instead, a
# thread per request under one interpreter lock: on two cores it spends
# about 1 ms of CPU per request, which at 100 requests is a round trip of
# its own.
rm -f "$TMP/port"
largest=0
for n in "${SIZES[@]}"; do (( n > largest )) && largest=$n; done
if [[ "${BENCH_SERVER:-rust}" == python ]]; then
    python3 "$ROOT/bench/fake_github.py" --delay "$DELAY" --port-file "$TMP/port.py" &
    SERVER_PID=$!
    for _ in $(seq 100); do [[ -s "$TMP/port.py" ]] && break; sleep 0.05; done
    [[ -s "$TMP/port.py" ]] || die "the fake GitHub did not start"
    url="http://127.0.0.1:$(cat "$TMP/port.py")"
    echo "$url $url" > "$TMP/port"
else
    log "cargo test --release --test network --no-run (the fake GitHub)"
    server_bin=$(cd "$ROOT" && cargo test --release --locked --quiet --test network --no-run \
        --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "network":
        print(m["executable"])')
    [[ -x "$server_bin" ]] || die "no fake GitHub binary"
    BENCH_PORT_FILE="$TMP/port.rs" BENCH_ITEMS="$largest" \
        BENCH_DELAY_MS=$(python3 -c "print(round($DELAY * 1000))") \
        "$server_bin" --ignored --exact serve_the_latency_benchmark >/dev/null 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do [[ -s "$TMP/port.rs" ]] && break; sleep 0.05; done
    [[ -s "$TMP/port.rs" ]] || die "the fake GitHub did not start"
    cp "$TMP/port.rs" "$TMP/port"
fi
read -r BASE CONTROL < "$TMP/port"

stats_reset() { python3 - "$CONTROL" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_reset", data=b"", method="POST")).read()
PY
}
stats() { python3 - "$CONTROL" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1] + "/_stats").read().decode())
PY
}

manifest() { # N DIR
    python3 - "$1" "$2" <<'PY'
import sys, os
n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
lines = ["version: 1", "items:"]
for i in range(n):
    lines += [
        f"  tool-{i:03d}:",
        "    version: 1.0.0",
        "    source:",
        "      type: github-release",
        f"      repo: bench/tool-{i:03d}",
        "      tag: v{version}",
        "    platforms: [linux/amd64, linux/arm64]",
        "    assets:",
        "      - name: tool_{tag}_{os}_{arch}.tar.gz",
        "        checksum:",
        "          file: tool_{tag}_checksums.txt",
        "        extract:",
        "          member: tool",
        f"        install: bin/tool-{i:03d}-{{arch}}",
        "        mode: \"0755\"",
    ]
with open(os.path.join(out, "vendor.yaml"), "w") as f:
    f.write("\n".join(lines) + "\n")
PY
}

ROWS="$TMP/rows.tsv"
: > "$ROWS"

# run LABEL N IDEAL_RT TREE CACHE EXPECTED_CODE [ENV=VALUE...] -- ARGS...
run() {
    local label=$1 n=$2 rt=$3 tree=$4 cache=$5 expect=$6
    shift 6
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    stats_reset
    local start end code=0
    start=$(date +%s%N)
    env GITHUB_API_URL="$BASE/api/v3" VENDOR_CACHE_DIR="$cache" NO_COLOR=1 \
        ${BENCH_JOBS:+VENDOR_JOBS=$BENCH_JOBS} "${envs[@]}" \
        "$BIN" -C "$tree" "$@" >"$TMP/out" 2>"$TMP/err" || code=$?
    end=$(date +%s%N)
    if [[ $code != "$expect" ]]; then
        cat "$TMP/err" >&2
        die "$label (N=$n): exit $code, expected $expect"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$n" "$rt" "$(( (end - start) / 1000000 ))" "$(stats)" >> "$ROWS"
}

for n in "${SIZES[@]}"; do
    log "N=$n"
    d="$TMP/n$n"
    rm -rf "$d"
    manifest "$n" "$d/a"
    manifest "$n" "$d/b"
    # plan (cold) -> plan (warm) -> apply (after plan) on tree a, cache a.
    run "plan cold" "$n" 2 "$d/a" "$d/cache-a" 0 -- plan
    run "plan warm" "$n" 2 "$d/a" "$d/cache-a" 0 -- plan
    run "apply after plan" "$n" 3 "$d/a" "$d/cache-a" 0 -- apply
    # apply with nothing cached, on tree b.
    run "apply cold" "$n" 3 "$d/b" "$d/cache-b" 0 -- apply
    run "outdated cold" "$n" 1 "$d/a" "$d/cache-o" 0 -- outdated
    run "outdated warm" "$n" 1 "$d/a" "$d/cache-o" 0 -- outdated
    run "check --upstream cold" "$n" 1 "$d/a" "$d/cache-c" 0 -- check --upstream
    run "check --upstream warm" "$n" 1 "$d/a" "$d/cache-c" 0 -- check --upstream
    if (( n <= SEQ_MAX )); then
        manifest "$n" "$d/s"
        run "plan cold, VENDOR_JOBS=1" "$n" 2 "$d/s" "$d/cache-s1" 0 VENDOR_JOBS=1 -- plan
        run "apply cold, VENDOR_JOBS=1" "$n" 3 "$d/s" "$d/cache-s2" 0 VENDOR_JOBS=1 -- apply
        run "outdated cold, VENDOR_JOBS=1" "$n" 1 "$d/s" "$d/cache-s3" 0 VENDOR_JOBS=1 -- outdated
        run "check --upstream cold, VENDOR_JOBS=1" "$n" 1 "$d/s" "$d/cache-s4" 0 VENDOR_JOBS=1 -- check --upstream
    fi
done

python3 - "$ROWS" "$DELAY" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
delay = float(sys.argv[2])
print(f"Delay per request: {delay * 1000:.0f} ms. API/item: API requests per item "
      "(200 = counted against the rate limit, 304 = not).")
print()
print("| run | N | wall | ideal | wall / ideal | API/item | of which 304 | all requests/item | max in flight |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, n, rt, ms, stats in rows:
    n, rt, ms = int(n), int(rt), int(ms)
    s = json.loads(stats)
    ideal = rt * delay
    print(f"| {label} | {n} | {ms / 1000:.2f} s | {ideal:.1f} s | {ms / 1000 / ideal:.1f}× | "
          f"{s['api'] / n:.1f} | {s['api_304'] / n:.1f} | {s['requests'] / n:.1f} | {s['max_in_flight']} |")
PY
