#!/usr/bin/env bash
# Times `shockwave run build --all --dry-run` on the generated benchmark monorepo with the file
# monitor off and on (Watchman, warm), and with one file edited before each run (see
# bench/README.md, "The file monitor").
#
# Usage: bash bench/fsmonitor.sh [REPO]
#   REPO          benchmark repository (default /tmp/shockwave-bench/fsmonitor-repo; generated
#                 with bench/gen.py if missing; its own copy, because the state and the watch
#                 would disturb bench/run.sh's figures if the two ran on one repository at once)
# Environment:
#   RUNS=20 WARMUP=3   hyperfine settings
#   SKIP_BUILD=1       use target/release/shockwave as it is, without `cargo build --release`
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
REPO="${1:-/tmp/shockwave-bench/fsmonitor-repo}"
RESULTS="$BENCH_DIR/results"
BIN="$ROOT/target/release/shockwave"
RUNS="${RUNS:-20}"
WARMUP="${WARMUP:-3}"
EDITED="services/svc-0001/main.go"

say() { printf '==> %s\n' "$*" >&2; }

for tool in hyperfine watchman python3 git; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        say "$tool not found (apt-get install -y $tool): it is needed here"
        exit 1
    fi
done
mkdir -p "$RESULTS"

if [ "${SKIP_BUILD:-0}" = 1 ]; then
    say "SKIP_BUILD=1: using $BIN as it is"
else
    (cd "$ROOT" && cargo build --release)
fi
[ -x "$BIN" ] || { say "$BIN is missing"; exit 1; }

if [ ! -d "$REPO/.git" ]; then
    say "generating $REPO"
    python3 "$BENCH_DIR/gen.py" "$REPO"
fi
cd "$REPO"
# An empty cache (only ignored files go: .shockwave/ and bin/) and a clean worktree.
git clean -q -fdX
git checkout -q -- .

# A private Watchman server, stopped on exit, so the machine's own is neither used nor disturbed.
WM_DIR="$(mktemp -d)"
watchman --foreground --no-save-state --sockname="$WM_DIR/sock" --statefile="$WM_DIR/state" \
    --logfile="$WM_DIR/log" --pidfile="$WM_DIR/pid" >/dev/null 2>&1 &
WM_PID=$!
cleanup() {
    kill "$WM_PID" 2>/dev/null || true
    wait "$WM_PID" 2>/dev/null || true
    git -C "$REPO" checkout -q -- "$EDITED" 2>/dev/null || true
    rm -rf "$WM_DIR"
}
trap cleanup EXIT
for _ in $(seq 1 250); do
    [ -S "$WM_DIR/sock" ] && break
    sleep 0.02
done
[ -S "$WM_DIR/sock" ] || { say "watchman did not start; its log:"; cat "$WM_DIR/log" >&2; exit 1; }

export WATCHMAN_SOCK="$WM_DIR/sock"
OFF=(env SHOCKWAVE_FSMONITOR=off "$BIN" run build --all)
ON=(env SHOCKWAVE_FSMONITOR=watchman "$BIN" run build --all)

# Warm up: the first run creates the watch (Watchman crawls the tree), the second stores a
# clock, the third must take the fast path. The plans must be identical either way.
say "warming the watch (the first crawl of 120k files takes a few seconds)"
SHOCKWAVE_FSMONITOR_TIMEOUT=60s "${ON[@]}" --dry-run >/dev/null
SHOCKWAVE_FSMONITOR_TIMEOUT=60s "${ON[@]}" --dry-run >/dev/null
log=$(RUST_LOG=shockwave=debug "${ON[@]}" --dry-run 2>&1 >/dev/null | grep -E 'fsmonitor|worktree scan' || true)
printf '%s\n' "$log" >&2
if ! grep -q 'may hold a change' <<<"$log"; then
    say "the warm run did not use the monitor (see the log above)"
    exit 1
fi
if ! diff <("${OFF[@]}" --dry-run=json) <("${ON[@]}" --dry-run=json) >/dev/null; then
    say "the plans differ with the monitor on and off: not timing a wrong answer"
    exit 1
fi

run() {
    local name="$1"; shift
    say "$name"
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --command-name "$name" \
        --export-json "$RESULTS/$name.json" "$@" >&2
}
run fsmonitor-off "$(printf '%q ' "${OFF[@]}" --dry-run)"
run fsmonitor-warm "$(printf '%q ' "${ON[@]}" --dry-run)"
# One edit before each run: the run sees one changed directory, and hashes that file.
run fsmonitor-warm-one-edit --prepare "sh -c 'echo // \$\$ >> $EDITED'" \
    "$(printf '%q ' "${ON[@]}" --dry-run)"

# The mean too: with the monitor on, one run in SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS (or one every
# SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER) scans in full, which moves the mean and not the median.
stat_ms() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % (r[sys.argv[2]]*1000))' \
        "$RESULTS/$1.json" "$2"
}
off=$(stat_ms fsmonitor-off median)
{
    printf '| `run build --all --dry-run`, 2,300 tasks | median ms | mean ms | vs off (median) |\n|---|---|---|---|\n'
    for name in fsmonitor-off fsmonitor-warm fsmonitor-warm-one-edit; do
        m=$(stat_ms "$name" median)
        printf '| %s | %s | %s | %s× |\n' "$name" "$m" "$(stat_ms "$name" mean)" \
            "$(python3 -c "print('%.1f' % ($off / $m))")"
    done
} | tee "$RESULTS/fsmonitor.txt"
