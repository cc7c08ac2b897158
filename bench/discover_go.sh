#!/usr/bin/env bash
# Go discovery cost: `shockwave affected` for one commit on a generated Go single module of 2,300
# packages, with discovery (no pipeline.toml: every .go file's imports are read) against the same
# repository with an explicit pipeline.toml (services + `paths` for their closures).
#
# Usage: bash bench/discover_go.sh [DIR]
#   DIR            where the two repositories are generated (default /tmp/shockwave-bench/go)
# Environment:
#   RUNS=20 WARMUP=3   hyperfine settings
#   SKIP_BUILD=1       use target/release/shockwave as it is
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
DIR="${1:-/tmp/shockwave-bench/go}"
BIN="$ROOT/target/release/shockwave"
RUNS="${RUNS:-20}"
WARMUP="${WARMUP:-3}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release)
fi
[ -x "$BIN" ] || { echo "no $BIN: build it first" >&2; exit 1; }

mkdir -p "$DIR"
[ -d "$DIR/discovered/.git" ] || python3 "$BENCH_DIR/gen_go.py" "$DIR/discovered"
[ -d "$DIR/explicit/.git" ] || python3 "$BENCH_DIR/gen_go.py" "$DIR/explicit" --explicit

# Both must agree before their times mean anything. Discovery also finds the 2,000 library
# packages (units of kind `package`), which the explicit config does not name: compare services.
a=$(cd "$DIR/discovered" && "$BIN" affected --base HEAD~1 --format json --kind service 2>/dev/null | python3 -c 'import json,sys; print(sorted(x["name"] for x in json.load(sys.stdin)["affected"]))')
b=$(cd "$DIR/explicit" && "$BIN" affected --base HEAD~1 --format json | python3 -c 'import json,sys; print(sorted(x["name"] for x in json.load(sys.stdin)["affected"]))')
if [ "$a" != "$b" ]; then
    echo "the two configurations disagree:" >&2
    echo "  discovered: $a" >&2
    echo "  explicit:   $b" >&2
    exit 1
fi
echo "both affect the same $(echo "$a" | tr -cd , | wc -c | awk '{print $1 + 1}') services"

median_ms() { # DIR: median wall time of `affected --base HEAD~1`, in ms
    local dir="$1"
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine --style none --runs "$RUNS" --warmup "$WARMUP" --export-json /tmp/discover_go.$$.json \
            "cd $dir && $BIN affected --base HEAD~1 >/dev/null 2>&1" >/dev/null
        python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1000, 1))' /tmp/discover_go.$$.json
        rm -f /tmp/discover_go.$$.json
    else
        local t=()
        for _ in $(seq "$RUNS"); do
            local s; s=$(date +%s%N)
            (cd "$dir" && "$BIN" affected --base HEAD~1 >/dev/null 2>&1)
            t+=($(( ($(date +%s%N) - s) / 1000 )))
        done
        printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)]/1000}'
    fi
}

d=$(median_ms "$DIR/discovered")
e=$(median_ms "$DIR/explicit")
printf '%-44s %10s\n' "affected --base HEAD~1 (2,300 Go packages)" "median ms"
printf '%-44s %10s\n' "  with discovery (no pipeline.toml)" "$d"
printf '%-44s %10s\n' "  explicit pipeline.toml (services + paths)" "$e"
python3 -c "print(f'  ratio {float(\"$d\")/float(\"$e\"):.2f}x (goal: within 1.5x)')"
