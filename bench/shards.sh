#!/usr/bin/env bash
# What splitting a run over shards costs and how well it balances, on the generated benchmark
# monorepo (see bench/README.md): `run build --all --shard K/8 --dry-run` against the unsharded
# dry run, and longest / ideal shard for a timings file with a realistic spread of durations.
#
# Usage: bash bench/shards.sh [REPO]
#   REPO          benchmark repository (default /tmp/shockwave-bench/repo; generated if missing)
# Environment:
#   RUNS=20 WARMUP=3   hyperfine settings
#   SHARDS=8           N of --shard K/N
#   SKIP_BUILD=1       use target/release/shockwave as it is, without `cargo build --release`
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
REPO="${1:-/tmp/shockwave-bench/repo}"
RESULTS="$BENCH_DIR/results"
BIN="$ROOT/target/release/shockwave"
RUNS="${RUNS:-20}"
WARMUP="${WARMUP:-3}"
N="${SHARDS:-8}"

say() { printf '==> %s\n' "$*" >&2; }

command -v hyperfine >/dev/null || { say "needs hyperfine (apt-get install -y hyperfine)"; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release)
fi
[ -x "$BIN" ] || { say "no $BIN"; exit 1; }
if [ ! -d "$REPO/.git" ]; then
    say "generating $REPO"
    python3 "$BENCH_DIR/gen.py" "$REPO"
fi
mkdir -p "$RESULTS"
cd "$REPO"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# A timings file with a realistic spread: log-normal build durations (median 20 s, a few tasks
# past 5 minutes), the libraries slower than the services, from a fixed seed. Each task carries
# its real fingerprint, as in a summary `run --summary` writes, so the file has a real size.
say "writing a timings file for every build task"
"$BIN" run build --all --dry-run=json > "$WORK/plan.json"
"$BIN" hash build --all --json > "$WORK/hash.json"
python3 - "$WORK/plan.json" "$WORK/timings.json" "$WORK/hash.json" <<'EOF'
import json, random, sys
plan = json.load(open(sys.argv[1]))
prints = {t["task"]: t["fingerprint"] for t in json.load(open(sys.argv[3]))["tasks"]}
rng = random.Random(7)
tasks = []
for t in plan["tasks"]:
    scale = 3.0 if t["service"].startswith("lib-") else 1.0
    ms = int(min(rng.lognormvariate(0, 1.0) * 20_000 * scale, 1_800_000))
    tasks.append({"task": t["task"], "service": t["service"], "target": t["target"],
                  "status": "success", "hash": t["hash"], "duration_ms": ms, "saved_ms": 0,
                  "requested": t["requested"], "cache": "miss", "reasons": [],
                  "fingerprint": prints[t["task"]]})
json.dump({"schema": 1, "shockwave": "bench", "targets": ["build"], "selection": "all",
           "base": None, "head": None, "merge_base": None, "duration_ms": 0,
           "interrupted": False, "totals": {"tasks": len(tasks), "success": len(tasks),
           "cached": 0, "failed": 0, "skipped": 0, "saved_ms": 0}, "tasks": tasks},
          open(sys.argv[2], "w"))
EOF

say "timing the dry runs ($RUNS runs each)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "$RESULTS/shards.json" \
    -n unsharded "$BIN run build --all --dry-run" \
    -n "shard 3/$N" "$BIN run build --all --shard 3/$N --dry-run" \
    -n "shard 3/$N, timings" "$BIN run build --all --shard 3/$N --dry-run --timings $WORK/timings.json" \
    -n "list $N shards, timings" "$BIN run build --all --shards $N --dry-run --timings $WORK/timings.json" \
    >&2

say "balance and duplicated work"
"$BIN" run build --all --shards "$N" --dry-run=json --timings "$WORK/timings.json" > "$WORK/split.json"
for k in $(seq 1 "$N"); do
    "$BIN" run build --all --shard "$k/$N" --dry-run=json --timings "$WORK/timings.json" > "$WORK/shard-$k.json"
done
python3 - "$RESULTS/shards.json" "$WORK" "$N" <<'EOF'
import json, os, sys
runs, work, n = json.load(open(sys.argv[1]))["results"], sys.argv[2], int(sys.argv[3])
base = next(r for r in runs if r["command"] == "unsharded")["median"]
print(f"{'command':<28} {'median':>9} {'vs unsharded':>13}")
for r in runs:
    print(f"{r['command']:<28} {r['median'] * 1000:>7.1f}ms {100 * (r['median'] / base - 1):>+12.1f}%")
split = json.load(open(f"{work}/split.json"))
e = split["estimate"]
loads = [s["estimated_ms"] for s in split["shards"]]
print(f"\ntimings file: {os.path.getsize(f'{work}/timings.json') / 2**20:.1f} MiB")
print(f"{n} shards over {e['total_ms'] / 60000:.0f} min of builds "
      f"(longest task {e['longest_task_ms'] / 1000:.0f} s): longest shard "
      f"{e['longest_shard_ms'] / 1000:.1f} s, ideal {e['ideal_ms'] / 1000:.1f} s, "
      f"balance {e['longest_shard_ms'] / e['ideal_ms']:.3f}; shortest shard {min(loads) / 1000:.1f} s")
planned = [len(json.load(open(f"{work}/shard-{k}.json"))["tasks"]) for k in range(1, n + 1)]
total = len(json.load(open(f"{work}/plan.json"))["tasks"])
print(f"tasks planned over all shards: {sum(planned)} for {total} tasks "
      f"({sum(planned) - total} needed in a shard that does not own them, mostly cache hits "
      f"with a remote cache)")
EOF
