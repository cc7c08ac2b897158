#!/usr/bin/env bash
# `affected` for one commit in a generated npm workspace of 2,300 packages (2,000 apps, 300
# libraries, ~14k files): with no pipeline.toml (discovery from package.json) against the same
# repository with an explicit pipeline.toml listing every service and edge.
#
# Usage: bash bench/discover_npm.sh [DIR]   (default /tmp/shockwave-bench/npm)
# Environment: RUNS=30 WARMUP=3 (hyperfine), SKIP_BUILD=1 (use target/release/shockwave as is)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
DIR="${1:-/tmp/shockwave-bench/npm}"
BIN="$ROOT/target/release/shockwave"
RUNS="${RUNS:-30}"
WARMUP="${WARMUP:-3}"

[ "${SKIP_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release --quiet)
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }

# Writes the workspace into $1; with $2 = explicit also a pipeline.toml naming every package.
generate() {
    python3 - "$1" "$2" <<'PY'
import json, os, random, sys
root, mode = sys.argv[1], sys.argv[2]
rng = random.Random(20261211)
libs = [f"lib-{i:03}" for i in range(300)]
apps = [f"svc-{i:04}" for i in range(2000)]
deps = {}
for i, name in enumerate(libs):
    deps[name] = sorted(rng.sample(libs[:i], min(i, rng.randint(0, 3))))
for name in apps:
    deps[name] = sorted(rng.sample(libs, rng.randint(1, 4)))
def write(rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
write("package.json", json.dumps({"name": "bench", "private": True, "workspaces": ["libs/*", "apps/*"]}, indent=2) + "\n")
services = []
for name in libs + apps:
    folder = ("libs/" if name.startswith("lib") else "apps/") + name
    pkg = {
        "name": f"@bench/{name}",
        "version": "1.0.0",
        "scripts": {"build": "tsc -p .", "test": "node --test"},
        "dependencies": {f"@bench/{d}": "^1.0.0" for d in deps[name]} | {"lodash": "^4.17.21"},
        "devDependencies": {"typescript": "^5.4.0"},
    }
    write(f"{folder}/package.json", json.dumps(pkg, indent=2) + "\n")
    for j in range(5):
        write(f"{folder}/src/mod{j}.js", f"export const v{j} = {rng.randint(0, 10**6)};\n")
    services.append((name, folder))
if mode == "explicit":
    out = ["[workspace]", 'global_inputs = ["package.json"]', "", "[targets.build]", 'command = "npm run build"', ""]
    for name, folder in services:
        out.append(f'[services."@bench/{name}"]')
        out.append(f'root = "{folder}"')
        out.append("deps = [" + ", ".join(f'"@bench/{d}"' for d in deps[name]) + "]")
    write("pipeline.toml", "\n".join(out) + "\n")
PY
}

make_repo() {
    local repo="$1" mode="$2"
    rm -rf "$repo" && mkdir -p "$repo"
    generate "$repo" "$mode"
    git -C "$repo" init -q -b main
    git -C "$repo" -c user.name=bench -c user.email=bench@example.com add -A
    git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -qm init
    echo "export const changed = 1;" >> "$repo/libs/lib-150/src/mod0.js"
    git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -qam "change lib-150"
}

make_repo "$DIR/discovered" discovered
make_repo "$DIR/explicit" explicit

for v in discovered explicit; do
    echo "$v: $(cd "$DIR/$v" && "$BIN" affected --base HEAD~1 --format names 2>/dev/null | wc -l) affected"
done
for v in discovered explicit; do
    (cd "$DIR/$v" && hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic \
        -n "$v" "$BIN affected --base HEAD~1 --format names")
done
