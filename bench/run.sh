#!/usr/bin/env bash
# Times shockwave against `git diff` on the generated benchmark monorepo (see bench/README.md).
#
# Usage: bash bench/run.sh [REPO]
#        bash bench/run.sh --turbo [REPO]
#   REPO          benchmark repository (default /tmp/shockwave-bench/repo, or repo-npm with
#                 --turbo; generated if missing)
#   --turbo       instead, time shockwave and Turborepo 2.11.11 side by side (interleaved runs)
#                 on the npm-workspace variant of the repository
# Environment:
#   RUNS=20 WARMUP=3   hyperfine settings (and the interleaved rounds of --turbo)
#   SKIP_BUILD=1       use target/release/shockwave as it is, without `cargo build --release`
#   SHOCKWAVE_BIN      with SKIP_BUILD=1: time this binary instead (an older build, to compare)
#   TURBO_DIR          where --turbo installs turbo from npm (default /tmp/shockwave-bench/turbo-2.11.11)
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
TURBO_MODE=0
if [ "${1:-}" = --turbo ]; then
    TURBO_MODE=1
    shift
fi
if [ "$TURBO_MODE" = 1 ]; then
    REPO="${1:-/tmp/shockwave-bench/repo-npm}"
else
    REPO="${1:-/tmp/shockwave-bench/repo}"
fi
RESULTS="$BENCH_DIR/results"
BIN="${SHOCKWAVE_BIN:-$ROOT/target/release/shockwave}"
RUNS="${RUNS:-20}"
WARMUP="${WARMUP:-3}"

mkdir -p "$RESULTS"
ROWS=()   # "name|median ms|peak RSS MiB|output lines"

say() { printf '==> %s\n' "$*" >&2; }

# ---- tools ------------------------------------------------------------------------------------

HAVE_HYPERFINE=0
HYPERFINE_N=()
if command -v hyperfine >/dev/null 2>&1; then
    HAVE_HYPERFINE=1
    # -N (no intermediate shell) exists since hyperfine 1.13.
    if hyperfine -N --runs 2 --style none true >/dev/null 2>&1; then
        HYPERFINE_N=(-N)
    fi
else
    say "hyperfine not found (apt-get install -y hyperfine); falling back to $RUNS timed runs with date"
fi

HAVE_TIME=0
if [ -x /usr/bin/time ]; then
    HAVE_TIME=1
else
    say "/usr/bin/time not found (apt-get install -y time); peak RSS will not be reported"
fi

# ---- build and repository ---------------------------------------------------------------------

HAVE_BIN=0
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    say "SKIP_BUILD=1: using $BIN as it is"
    [ -x "$BIN" ] && HAVE_BIN=1
elif (cd "$ROOT" && cargo build --release); then
    HAVE_BIN=1
else
    say "cargo build --release failed: skipping the shockwave benchmarks"
fi

if [ ! -d "$REPO/.git" ]; then
    say "generating $REPO"
    GEN_FLAGS=()
    [ "$TURBO_MODE" = 1 ] && GEN_FLAGS=(--npm)
    python3 "$BENCH_DIR/gen.py" "$REPO" "${GEN_FLAGS[@]}" || { say "bench/gen.py failed"; exit 1; }
fi
cd "$REPO" || exit 1
REPO="$(pwd)"

if [ "$TURBO_MODE" = 1 ]; then
    [ "$HAVE_BIN" = 1 ] || { say "no shockwave binary to compare"; exit 1; }
    . "$BENCH_DIR/turbo.sh"
    exit $?
fi

# ---- measurement helpers ----------------------------------------------------------------------

# median_ms NAME: median of the runs recorded in results/NAME.json, in milliseconds.
median_ms() {
    python3 - "$RESULTS/$1.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['median'] * 1000:.1f}")
EOF
}

# timed_loop NAME CMD...: the fallback when hyperfine is missing. Writes the same JSON shape.
timed_loop() {
    local name="$1"; shift
    local i start end times=()
    for ((i = 0; i < WARMUP; i++)); do "$@" >/dev/null 2>&1 || return 1; done
    for ((i = 0; i < RUNS; i++)); do
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1 || return 1
        end=$(date +%s%N)
        times+=($((end - start)))
    done
    python3 - "$RESULTS/$name.json" "$*" "${times[@]}" <<'EOF'
import json, statistics, sys
path, command, *ns = sys.argv[1:]
times = [int(n) / 1e9 for n in ns]
result = {"command": command, "mean": statistics.mean(times), "median": statistics.median(times),
          "min": min(times), "max": max(times), "times": times}
json.dump({"results": [result]}, open(path, "w"), indent=2)
EOF
}

# peak_rss_mib CMD...: peak resident set size of one run, in MiB.
peak_rss_mib() {
    if [ "$HAVE_TIME" = 0 ]; then echo "n/a"; return; fi
    local out
    out=$(mktemp)
    if /usr/bin/time -f %M -o "$out" "$@" >/dev/null 2>&1; then
        awk '{ printf "%.1f", $1 / 1024 }' "$out"
    else
        echo "failed"
    fi
    rm -f "$out"
}

# bench NAME RSS(yes|no) CMD...: time CMD in the repository and add a row to the table.
bench() {
    local name="$1" rss="$2"; shift 2
    local lines median rc peak="-"
    lines=$("$@" 2>/dev/null | wc -l)
    say "$name: $*"
    if [ "$HAVE_HYPERFINE" = 1 ]; then
        local cmd
        cmd=$(printf '%q ' "$@")
        hyperfine "${HYPERFINE_N[@]}" --warmup "$WARMUP" --runs "$RUNS" --style basic \
            --command-name "$name" --export-json "$RESULTS/$name.json" "$cmd" >&2
        rc=$?
    else
        timed_loop "$name" "$@"
        rc=$?
    fi
    if [ $rc -ne 0 ]; then
        say "$name failed; see its output above"
        ROWS+=("$name|failed|-|-")
        return
    fi
    median=$(median_ms "$name")
    [ "$rss" = yes ] && peak=$(peak_rss_mib "$@")
    ROWS+=("$name|$median|$peak|$lines")
}

# once NAME CMD...: a single timed run (with peak RSS), for things that only make sense once.
once() {
    local name="$1"; shift
    local start end out rc peak="n/a"
    say "$name (1 run): $*"
    out=$(mktemp)
    start=$(date +%s%N)
    if [ "$HAVE_TIME" = 1 ]; then
        /usr/bin/time -f %M -o "$out" "$@" >/dev/null
        rc=$?
        peak=$(awk '{ printf "%.1f", $1 / 1024 }' "$out")
    else
        "$@" >/dev/null
        rc=$?
    fi
    end=$(date +%s%N)
    rm -f "$out"
    if [ $rc -ne 0 ]; then
        ROWS+=("$name|failed (exit $rc)|-|-")
        return 1
    fi
    ROWS+=("$name (1 run)|$(awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e6 }')|$peak|-")
}

# ---- section 1: listing what changed ---------------------------------------------------------

for range in one fifty; do
    bench "git-diff-$range" no git diff --name-only "$range" HEAD
done

SHOCKWAVE_AFFECTED=0
if [ "$HAVE_BIN" = 1 ]; then
    # The probe wants real output: a stub binary that exits 0 without printing is not a result.
    probe_err=$(mktemp)
    probe_out=$("$BIN" affected --base fifty --head HEAD --exact-base --format names 2>"$probe_err")
    probe_rc=$?
    if [ $probe_rc -eq 0 ] && [ -n "$probe_out" ]; then
        SHOCKWAVE_AFFECTED=1
    else
        if [ $probe_rc -eq 0 ]; then
            say "skipping shockwave affected: it exits 0 but prints no services (not implemented yet?)"
        else
            say "skipping shockwave affected: exit $probe_rc: $(head -c 300 "$probe_err")"
        fi
    fi
    rm -f "$probe_err"
fi

if [ "$SHOCKWAVE_AFFECTED" = 1 ]; then
    for range in one fifty; do
        bench "shockwave-affected-$range" yes \
            "$BIN" affected --base "$range" --head HEAD --exact-base --format names
    done
    # The same range written as JSON, every reason of every service (bench/affected_json.sh
    # compares the two formats on their own).
    bench "shockwave-affected-fifty-json" yes \
        "$BIN" affected --base fifty --head HEAD --exact-base --format json
fi

# ---- section 2: hashing and running tasks ----------------------------------------------------

SHOCKWAVE_RUN=0
if [ "$HAVE_BIN" = 1 ]; then
    if help=$("$BIN" run --help 2>&1) && grep -q -- '--dry-run' <<<"$help"; then
        SHOCKWAVE_RUN=1
    else
        say "skipping shockwave run: \`shockwave run --help\` fails or has no --dry-run"
    fi
fi

if [ "$SHOCKWAVE_RUN" = 1 ]; then
    # Start from an empty cache (default location, .shockwave/cache) and no build outputs: both are
    # ignored by the repository's .gitignore, so this removes nothing tracked.
    git clean -q -fdX
    bench "shockwave-dry-run-all" yes "$BIN" run build --all --dry-run
    once "shockwave-build-all-cold" "$BIN" run build --all \
        && bench "shockwave-build-affected-fifty-cached" yes \
            "$BIN" run build --affected --base fifty --head HEAD --exact-base
fi

# ---- section 3: the remote cache --------------------------------------------------------------
# A turborepo-remote-cache server on 127.0.0.1 (REMOTE_CACHE_SERVER names its executable; by
# default the one .ci/run installs under target/remote-cache-server). Timed: the cold run that
# fills the server (every task run and uploaded), and the all-hit affected run from the remote
# alone (local cache emptied first), beside the local all-hit figure from section 2.

SERVER="${REMOTE_CACHE_SERVER:-$ROOT/target/remote-cache-server/node_modules/.bin/turborepo-remote-cache}"
SHOCKWAVE_REMOTE=0
if [ "$SHOCKWAVE_RUN" = 1 ]; then
    if ! grep -q -- '--no-remote-cache' <<<"$("$BIN" run --help 2>&1)"; then
        say "skipping the remote cache: this shockwave has no --no-remote-cache"
    elif [ ! -x "$SERVER" ]; then
        say "skipping the remote cache: no server at $SERVER (npm install --prefix $ROOT/target/remote-cache-server turborepo-remote-cache@2.12.0)"
    else
        SHOCKWAVE_REMOTE=1
    fi
fi

if [ "$SHOCKWAVE_REMOTE" = 1 ]; then
    STORE=$(mktemp -d)
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    TOKEN="bench-$(date +%s%N)"
    STORAGE_PROVIDER=local STORAGE_PATH="$STORE" TURBO_TOKEN="$TOKEN" PORT="$PORT" \
        "$SERVER" >"$RESULTS/remote-server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v8/artifacts/status" && break
        sleep 0.1
    done
    export SHOCKWAVE_REMOTE_CACHE_URL="http://127.0.0.1:$PORT" SHOCKWAVE_REMOTE_CACHE_TOKEN="$TOKEN" \
        SHOCKWAVE_REMOTE_CACHE_TEAM=bench
    git clean -q -fdX
    once "shockwave-build-all-cold-uploading" "$BIN" run build --all
    # Every later run starts with no local cache and no outputs: all hits come from the server.
    if [ "$HAVE_HYPERFINE" = 1 ]; then
        say "shockwave-build-affected-fifty-remote-hits"
        hyperfine --warmup 1 --runs "$RUNS" --style basic --prepare "git clean -q -fdX" \
            --command-name "shockwave-build-affected-fifty-remote-hits" \
            --export-json "$RESULTS/shockwave-build-affected-fifty-remote-hits.json" \
            "$(printf '%q ' "$BIN" run build --affected --base fifty --head HEAD --exact-base)" >&2 \
            && ROWS+=("shockwave-build-affected-fifty-remote-hits|$(median_ms shockwave-build-affected-fifty-remote-hits)|-|-")
    else
        git clean -q -fdX
        once "shockwave-build-affected-fifty-remote-hits" \
            "$BIN" run build --affected --base fifty --head HEAD --exact-base
    fi
    unset SHOCKWAVE_REMOTE_CACHE_URL SHOCKWAVE_REMOTE_CACHE_TOKEN SHOCKWAVE_REMOTE_CACHE_TEAM
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    rm -rf "$STORE"
    git clean -q -fdX
fi

# ---- table ------------------------------------------------------------------------------------

{
    printf '\nrepository: %s (%s files, HEAD %s)\n' "$REPO" "$(git ls-files | wc -l)" "$(git rev-parse --short HEAD)"
    printf 'runs: %s after %s warmup; lines = output lines of one run (files or services)\n\n' "$RUNS" "$WARMUP"
    printf '%-40s %14s %14s %8s\n' "benchmark" "median (ms)" "peak RSS (MiB)" "lines"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name median peak lines <<<"$row"
        printf '%-40s %14s %14s %8s\n' "$name" "$median" "$peak" "$lines"
    done
} | tee "$RESULTS/summary.txt"
