#!/usr/bin/env bash
# Measures `shockwave watch` on the generated benchmark monorepo: the time from a save to the
# first rerun task's command starting, a no-op round, the first round, and idle CPU, with the
# OS's notifications (default debounce and a short one) and with --poll (see bench/README.md,
# "Watch mode").
#
# Usage: bash bench/watch.sh [REPO]
#   REPO          benchmark repository (default /tmp/shockwave-bench/watch-repo; generated with
#                 bench/gen.py if missing; its own copy, because the saves, outputs and cache of
#                 a watch would disturb bench/run.sh's figures)
# Environment:
#   SAVES=20           saves timed per mode
#   IDLE=30            seconds of idle CPU sampled per mode
#   MODES="debounce=100 debounce=10 poll"   what to measure, in order
#   SKIP_BUILD=1       use the release binary as it is, without `cargo build --release`
#   CARGO_TARGET_DIR   where that binary is built (default target/ of this checkout)
#   SHOCKWAVE_BIN      with SKIP_BUILD=1: measure this binary instead
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
REPO="${1:-/tmp/shockwave-bench/watch-repo}"
RESULTS="$BENCH_DIR/results"
BIN="${SHOCKWAVE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/shockwave}"
read -r -a MODES <<<"${MODES:-debounce=100 debounce=10 poll}"
# A library that no other library needs (libraries only need lower-numbered ones): its save
# reruns it and the services that use it. proto/ belongs to no service.
LIB_FILE="libs/lib-300/lib300.go"
UNOWNED_FILE="proto/billing/billing.proto"

say() { printf '==> %s\n' "$*" >&2; }

for tool in python3 git; do
    command -v "$tool" >/dev/null 2>&1 || { say "$tool not found: it is needed here"; exit 1; }
done
[ -r /proc/self/stat ] || { say "/proc is needed to read the watch's CPU time"; exit 1; }
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
REPO="$(pwd)"
# A git command killed mid-write (an interrupted earlier run) leaves its lock behind, and every
# git command below would then fail with git's own message.
if [ -e .git/index.lock ]; then
    say "$REPO/.git/index.lock exists: another git command is running there, or one was killed;"
    say "if none is running, remove it (rm $REPO/.git/index.lock) and run again"
    exit 1
fi
[ -f "$LIB_FILE" ] || { say "$REPO has no $LIB_FILE: generate it with the default options"; exit 1; }
[ -f "$UNOWNED_FILE" ] || UNOWNED_FILE="$(git ls-files proto | grep -v '\.md$' | head -n 1)"

# The stamps live outside the repository, so writing them is no change the watch sees.
WORK="$(mktemp -d)"
STAMPS="$WORK/stamps"
cleanup() {
    git -C "$REPO" checkout -q -- pipeline.toml "$LIB_FILE" "$UNOWNED_FILE" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A clean worktree and an empty cache (only ignored files go: .shockwave/ and bin/), then a
# `stamp` target: the same build as `build`, whose command first appends the wall clock.
git clean -q -fdX
git checkout -q -- .
cat >>pipeline.toml <<EOF

[targets.stamp]
command = "date +%s.%N >> $STAMPS && mkdir -p bin && cat *.go > bin/out 2>/dev/null || true"
needs = ["^stamp"]
inputs = ["**/*.go", "go.mod"]
outputs = ["bin/**"]
EOF

say "filling the cache: $BIN run stamp --all"
start=$(date +%s%N)
"$BIN" run stamp --all >/dev/null 2>&1
say "  took $(( ($(date +%s%N) - start) / 1000000 )) ms"
say "one dry run to compare with the rounds below"
start=$(date +%s%N)
"$BIN" run stamp --all --dry-run >/dev/null
say "  run stamp --all --dry-run: $(( ($(date +%s%N) - start) / 1000000 )) ms"

say "measuring ${MODES[*]} (${SAVES:-20} saves of $LIB_FILE each, ${IDLE:-30} s idle)"
OUT="$RESULTS/watch.jsonl"
python3 "$BENCH_DIR/watch.py" "$BIN" "$REPO" "$STAMPS" "$REPO/$LIB_FILE" "$REPO/$UNOWNED_FILE" \
    "${MODES[@]}" | tee "$OUT"

# ---- table ------------------------------------------------------------------------------------

python3 - "$OUT" "$(nproc)" "$(uptime)" <<'EOF' | tee "$RESULTS/watch.txt"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"\nmachine: {sys.argv[2]} cores;{sys.argv[3].split(',', 2)[-1]}")
r0 = rows[0]
print(f"tasks: {r0['tasks']}; folders watched: {r0['folders']}\n")
head = ("mode", "first round", "save→task median", "p90", "tasks/save", "round hash",
        "no-op round", "extra rounds", "idle CPU", "RSS")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    s = r["save_to_task_ms"]
    mode = "--poll (1 s), debounce 100 ms" if r["mode"] == "poll" else f"notify, debounce {r['mode'].split('=')[1]} ms"
    cells = (mode, f"{r['first_round_s']} s", f"{s['median']} ms", f"{s['p90']} ms",
             "/".join(map(str, r["tasks_rerun_per_save"])), f"{r['round_hash_ms_median']} ms",
             f"{r['noop_round_ms_median']} ms",
             str(r["extra_rounds"] + r["rounds_without_a_save_after_first"] + r["idle_rounds"]),
             f"{r['idle_cpu_percent']} %", f"{r['rss_mib']} MiB")
    print("| " + " | ".join(cells) + " |")
EOF
