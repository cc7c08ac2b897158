#!/usr/bin/env bash
# Times `affected --format json` against `--format names` on the generated benchmark monorepo (see
# bench/README.md), for the 50-commit range: the JSON lists all 834 affected services with every
# reason, the names only their names, so the difference is what writing the JSON costs.
#
# Usage: bash bench/affected_json.sh [REPO]
#   REPO          benchmark repository (default /tmp/shockwave-bench/repo; generated if missing)
# Environment:
#   RUNS=30 WARMUP=5   hyperfine settings
#   SKIP_BUILD=1       use target/release/shockwave (under CARGO_TARGET_DIR when set) as it is
#   SHOCKWAVE_BIN      with SKIP_BUILD=1: time this binary instead
#   BASELINE_BIN       also time this binary (an older build), to compare before and after
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
REPO="${1:-/tmp/shockwave-bench/repo}"
RESULTS="$BENCH_DIR/results"
BIN="${SHOCKWAVE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/shockwave}"
RUNS="${RUNS:-30}"
WARMUP="${WARMUP:-5}"
RANGE=(--base fifty --head HEAD --exact-base)
# The goal: the JSON within this factor of the names.
GOAL=1.5

say() { printf '==> %s\n' "$*" >&2; }

command -v hyperfine >/dev/null 2>&1 || { say "needs hyperfine (apt-get install -y hyperfine)"; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release) || { say "cargo build --release failed"; exit 1; }
fi
[ -x "$BIN" ] || { say "no binary at $BIN"; exit 1; }
if [ ! -d "$REPO/.git" ]; then
    say "generating $REPO"
    python3 "$BENCH_DIR/gen.py" "$REPO" || { say "bench/gen.py failed"; exit 1; }
fi
cd "$REPO" || exit 1
mkdir -p "$RESULTS"

BINS=("$BIN")
LABELS=(this)
if [ -n "${BASELINE_BIN:-}" ]; then
    [ -x "$BASELINE_BIN" ] || { say "BASELINE_BIN $BASELINE_BIN is not executable"; exit 1; }
    BINS=("$BASELINE_BIN" "$BIN")
    LABELS=(baseline this)
fi

ROWS=()
for i in "${!BINS[@]}"; do
    bin="${BINS[$i]}" label="${LABELS[$i]}"
    # Both formats must name the same services, or the comparison is of two different answers.
    names=$("$bin" affected "${RANGE[@]}" --format names 2>/dev/null) || { say "$bin affected failed"; exit 1; }
    from_json=$("$bin" affected "${RANGE[@]}" --format json 2>/dev/null \
        | python3 -c 'import json, sys; print("\n".join(a["name"] for a in json.load(sys.stdin)["affected"]))')
    if [ -z "$names" ] || [ "$names" != "$from_json" ]; then
        say "$label: --format json and --format names disagree (or list nothing)"
        exit 1
    fi
    bytes=$("$bin" affected "${RANGE[@]}" --format json 2>/dev/null | wc -c)
    say "$label ($bin): $(wc -l <<<"$names") services, $bytes bytes of JSON"
    out="$RESULTS/affected-json-$label.json"
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --export-json "$out" \
        --command-name names "$(printf '%q ' "$bin" affected "${RANGE[@]}" --format names)" \
        --command-name json "$(printf '%q ' "$bin" affected "${RANGE[@]}" --format json)" >&2 \
        || { say "hyperfine failed"; exit 1; }
    ROWS+=("$(python3 - "$out" "$label" "$GOAL" <<'EOF'
import json, sys
path, label, goal = sys.argv[1], sys.argv[2], float(sys.argv[3])
names, js = json.load(open(path))["results"]
ms = lambda r, k: r[k] * 1000
ratio = js["median"] / names["median"]
cpu = lambda r: (r["user"] + r["system"]) * 1000
met = "met" if ratio <= goal else "not met"
print(f"| {label} | {ms(names, 'median'):.1f} ms | {ms(js, 'median'):.1f} ms | {ratio:.2f}x ({met}) "
      f"| {cpu(names):.1f} ms | {cpu(js):.1f} ms | {cpu(js) / cpu(names):.2f}x |")
EOF
)")
done

{
    printf '\nrepository: %s (HEAD %s), `affected %s`, %s runs after %s warmup\n\n' \
        "$REPO" "$(git rev-parse --short HEAD)" "${RANGE[*]}" "$RUNS" "$WARMUP"
    printf '| binary | names (median) | json (median) | json / names (goal <= %sx) | names CPU (mean) | json CPU (mean) | CPU ratio |\n' "$GOAL"
    printf '|---|---:|---:|---:|---:|---:|---:|\n'
    printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS/affected-json.md"
