#!/usr/bin/env bash
# Benchmark harness for `vendor` (DESIGN.md §8). Results go in BENCHMARKS.md.
#
#   bash bench/run.sh              # every section
#   bash bench/run.sh offline      # only the named section(s)
#   bash bench/run.sh --list       # list the sections
#
# Sections are shell functions named `section_<name>` registered in
# SECTIONS below; to add one (downloads, hashing, ...), write the function
# and append its name. Inside a section:
#   bench NAME TARGET_S CMD...   times CMD (no shell: hyperfine -N), stores
#                                the mean under NAME; TARGET_S is the
#                                DESIGN target in seconds or `-` for none
#   bench_fast ...               the same with more runs, for ms commands
#   ratio LABEL NUM DEN IDEAL    prints NUM/DEN of two stored means
#   note TEXT                    a line under the section's table
# Results are collected in $RESULTS (TSV) and printed as one table at the
# end.
#
# Environment:
#   VENDOR_BIN=path       benchmark this binary instead of building
#                         `cargo build --release` in the repo
#   BENCH_SIZES="1000 10000"  item counts for the synthetic trees
#   BENCH_MIN_RUNS=3 BENCH_MAX_RUNS=20 BENCH_WARMUP=1
#                         runs per benchmark (hyperfine picks within
#                         [min,max] for a ~3 s budget; the fallback loop
#                         does min runs for commands over 1 s, else max)
#   BENCH_FAST_RUNS=50    runs for millisecond commands (--version, ...)
#   BENCH_NO_HYPERFINE=1  use the date loop even if hyperfine is there
#   BENCH_TMP=dir         where trees are generated (default: mktemp -d);
#   BENCH_KEEP=1          keep it afterwards
#
# Needs only bash, python3 (stdlib) and coreutils. hyperfine is used when
# present, or installed with apt-get when running as root; otherwise a
# loop with `date +%s%N` times the commands. No network beyond apt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES=(${BENCH_SIZES:-1000 10000})
MIN_RUNS="${BENCH_MIN_RUNS:-3}"
MAX_RUNS="${BENCH_MAX_RUNS:-20}"
WARMUP="${BENCH_WARMUP:-1}"
FAST_RUNS="${BENCH_FAST_RUNS:-50}"

SECTIONS=(offline)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ setup

usage() {
    sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    echo "sections: ${SECTIONS[*]}"
}

HYPERFINE=0

ensure_hyperfine() {
    if [[ -n "${BENCH_NO_HYPERFINE:-}" ]]; then
        log "BENCH_NO_HYPERFINE set: timing with a date +%s%N loop"
        return
    fi
    if command -v hyperfine >/dev/null 2>&1; then
        HYPERFINE=1
        return
    fi
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing hyperfine with apt-get"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1; then
            apt-get update -qq >/dev/null 2>&1 || true
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
        fi
    fi
    if command -v hyperfine >/dev/null 2>&1; then
        HYPERFINE=1
    else
        log "hyperfine not available: timing with a date +%s%N loop"
    fi
}

build() {
    if [[ -n "${VENDOR_BIN:-}" ]]; then
        VENDOR="$(cd "$(dirname "$VENDOR_BIN")" && pwd)/$(basename "$VENDOR_BIN")"
        [[ -x "$VENDOR" ]] || die "VENDOR_BIN=$VENDOR_BIN is not executable"
        log "using $VENDOR ($("$VENDOR" --version))"
        return
    fi
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet) ||
        die "the release build failed (set VENDOR_BIN to benchmark an existing binary)"
    local dir
    dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' ||
        echo "$ROOT/target")"
    VENDOR="$dir/release/vendor"
    [[ -x "$VENDOR" ]] || die "no binary at $VENDOR"
    log "built $VENDOR ($("$VENDOR" --version))"
}

# ------------------------------------------------------------------ timing

# Runs the command once, untimed, and fails loudly if it fails: a benchmark
# of an error path is worthless.
sanity() {
    local out
    if ! out="$("$@" 2>&1 >/dev/null)"; then
        printf '%s\n' "$out" | tail -20 >&2
        die "command failed: $*"
    fi
}

# bench NAME TARGET_S CMD...       (min..max runs, for commands of 0.1 s and more)
# bench_fast NAME TARGET_S CMD...  ($BENCH_FAST_RUNS runs, for millisecond commands)
bench() { FAST=0 timed "$@"; }
bench_fast() { FAST=1 timed "$@"; }

timed() {
    local name="$1" target="$2" fast="$FAST"
    shift 2
    sanity "$@"
    log "timing $name: $*"
    local mean sd min runs
    if ((HYPERFINE)); then
        local json="$WORK/hyperfine.json" args=()
        if ((fast)); then
            args=(--runs "$FAST_RUNS" --warmup 3)
        else
            args=(--min-runs "$MIN_RUNS" --max-runs "$MAX_RUNS" --warmup "$WARMUP")
        fi
        hyperfine -N --style basic "${args[@]}" --export-json "$json" \
            --command-name "$name" -- "$(quote "$@")" >&2
        read -r mean sd min runs < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["mean"], r["stddev"] or 0, r["min"], len(r["times"]))' "$json")
    else
        read -r mean sd min runs < <(loop_time "$fast" "$@")
        printf '  %s: mean %.4f s ± %.4f s (min %.4f s, %d runs)\n' \
            "$name" "$mean" "$sd" "$min" "$runs" >&2
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$SECTION" "$name" "$mean" "$sd" "$min" "$runs" "$target" >>"$RESULTS"
}

# The command as one shell-words string for hyperfine -N.
quote() {
    local out="" a
    for a in "$@"; do out+="$(printf '%q' "$a") "; done
    printf '%s' "${out% }"
}

# loop_time FAST CMD... -> "mean sd min runs" (seconds)
loop_time() {
    local fast="$1"
    shift
    local i t0 t1 times=() runs
    for ((i = 0; i < (fast ? 3 : WARMUP); i++)); do "$@" >/dev/null 2>&1 || true; done
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=("$((t1 - t0))")
    if ((fast)); then
        runs=$FAST_RUNS
    elif ((t1 - t0 > 1000000000)); then
        runs=$MIN_RUNS
    else
        runs=$MAX_RUNS
    fi
    for ((i = 1; i < runs; i++)); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        times+=("$((t1 - t0))")
    done
    printf '%s\n' "${times[@]}" | awk '
        { t = $1 / 1e9; s += t; ss += t * t; if (NR == 1 || t < m) m = t }
        END { mu = s / NR; v = NR > 1 ? (ss - NR * mu * mu) / (NR - 1) : 0;
              if (v < 0) v = 0; printf "%.6f %.6f %.6f %d\n", mu, sqrt(v), m, NR }'
}

# ratio LABEL NUM DEN IDEAL
ratio() {
    printf '%s\t%s\t%s\t%s\t%s\n' "$SECTION" "$1" "$2" "$3" "$4" >>"$RATIOS"
}

note() {
    printf '%s\t%s\n' "$SECTION" "$*" >>"$NOTES"
}

report() {
    python3 - "$RESULTS" "$RATIOS" "$NOTES" <<'EOF'
import sys

def rows(path, n):
    with open(path) as f:
        return [l.rstrip("\n").split("\t", n - 1) for l in f if l.strip()]

results = rows(sys.argv[1], 7)
ratios = rows(sys.argv[2], 5)
notes = rows(sys.argv[3], 2)
means = {r[1]: float(r[2]) for r in results}

def fmt(s):
    s = float(s)
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"

sections = []
for r in results + ratios + notes:
    if r[0] not in sections:
        sections.append(r[0])
for sec in sections:
    print(f"\n## {sec}\n")
    print("| benchmark | mean | ± σ | min | runs | target | verdict |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for s, name, mean, sd, mn, runs, target in (r for r in results if r[0] == sec):
        if target == "-":
            t, v = "–", ""
        else:
            t = "< " + fmt(target)
            v = "ok" if float(mean) < float(target) else f"MISSED ({float(mean) / float(target):.1f}× the target)"
        print(f"| {name} | {fmt(mean)} | {fmt(sd)} | {fmt(mn)} | {runs} | {t} | {v} |")
    rs = [r for r in ratios if r[0] == sec]
    if rs:
        print("\n| ratio | value | ideal |")
        print("|---|---:|---:|")
        for s, label, num, den, ideal in rs:
            if num in means and den in means:
                print(f"| {label} | {means[num] / means[den]:.1f}× | {ideal} |")
    for s, text in (r for r in notes if r[0] == sec):
        print(f"\n{text}")
EOF
}

# ------------------------------------------------------------------ sections

# Synthetic tree of N items with a current lock, made by the real binary.
make_tree() {
    local n="$1" dir="$WORK/tree-$1"
    if [[ ! -f "$dir/vendor.lock.yaml" ]]; then
        log "generating $n items in $dir"
        rm -rf "$dir"
        python3 "$ROOT/bench/gen_manifest.py" --items "$n" --out "$dir"
        log "locking it: vendor -C $dir apply"
        local t0 t1
        t0=$(date +%s%N)
        "$VENDOR" -C "$dir" apply >/dev/null
        t1=$(date +%s%N)
        note "Setup: \`vendor apply\` locking the $n-item tree (one run, not a benchmark) took $(awk -v t=$((t1 - t0)) 'BEGIN{printf "%.2f s", t/1e9}')."
        "$VENDOR" -C "$dir" check >/dev/null || die "the fresh $n-item tree does not pass check"
    fi
    TREE="$dir"
}

# Offline commands: --version, validate on the repo's manifest, and
# validate / plan / check on synthetic trees with a current lock
# (DESIGN §8: 1k items < 0.3 s, 10k items < 3 s, linear; small validate
# and --version "a few ms" — taken here as < 10 ms).
section_offline() {
    bench_fast "vendor --version" 0.010 "$VENDOR" --version
    bench_fast "validate (repo vendor.yaml, 5 items)" 0.010 "$VENDOR" -C "$ROOT" validate
    local n target
    for n in "${SIZES[@]}"; do
        make_tree "$n"
        if ((n <= 1000)); then target=0.3; else target=$(awk -v n="$n" 'BEGIN{print 0.3 * n / 1000}'); fi
        # floor: reading every file of the tree once
        bench "cat all files ($n items, floor)" - \
            bash -c 'find "$1" -type f -exec cat {} + >/dev/null' _ "$TREE"
        bench "validate ($n items)" "$target" "$VENDOR" -C "$TREE" validate
        bench "plan ($n items)" "$target" "$VENDOR" -C "$TREE" plan
        bench "check ($n items)" "$target" "$VENDOR" -C "$TREE" check
    done
    if ((${#SIZES[@]} >= 2)); then
        local a="${SIZES[0]}" b="${SIZES[-1]}"
        local ideal
        ideal="$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%g× (linear)", b / a}')"
        for cmd in validate plan check; do
            ratio "$cmd $b/$a items" "$cmd ($b items)" "$cmd ($a items)" "$ideal"
        done
        ratio "cat all files $b/$a items" "cat all files ($b items, floor)" "cat all files ($a items, floor)" "$ideal"
    fi
}

# ------------------------------------------------------------------ main

machine() {
    local cpu
    cpu="$(awk -F': *' '
        /^model name/ && !n { n = $2 } /^cpu family/ && !f { f = $2 } /^model\t/ && !m { m = $2 }
        /^flags/ && !s { s = ($0 ~ / sha_ni /) ? ", sha_ni" : ", no sha_ni" }
        END { printf "%s (family %s model %s%s)", n, f, m, s }' /proc/cpuinfo)"
    printf '%s cores, %s, %s RAM, Linux %s' "$(nproc)" "$cpu" \
        "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" "$(uname -r)"
}

main() {
    local chosen=()
    for a in "$@"; do
        case "$a" in
        -h | --help) usage; exit 0 ;;
        --list) printf '%s\n' "${SECTIONS[@]}"; exit 0 ;;
        *)
            [[ " ${SECTIONS[*]} " == *" $a "* ]] || die "no section \`$a\` (sections: ${SECTIONS[*]})"
            chosen+=("$a")
            ;;
        esac
    done
    ((${#chosen[@]})) || chosen=("${SECTIONS[@]}")

    if [[ -n "${BENCH_TMP:-}" ]]; then
        WORK="$BENCH_TMP"
        mkdir -p "$WORK"
    else
        WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendor-bench.XXXXXX")"
    fi
    if [[ -z "${BENCH_KEEP:-}" && -z "${BENCH_TMP:-}" ]]; then
        trap 'rm -rf "$WORK"' EXIT
    fi
    RESULTS="$WORK/results.tsv" RATIOS="$WORK/ratios.tsv" NOTES="$WORK/notes.tsv"
    : >"$RESULTS"
    : >"$RATIOS"
    : >"$NOTES"

    build
    ensure_hyperfine
    for SECTION in "${chosen[@]}"; do
        log "section $SECTION"
        "section_$SECTION"
    done

    echo
    echo "# vendor benchmarks ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "- binary: $("$VENDOR" --version) ($VENDOR)"
    echo "- machine: $(machine)"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- timer: $( ((HYPERFINE)) && hyperfine --version || echo 'date +%s%N loop')"
    report
}

main "$@"
