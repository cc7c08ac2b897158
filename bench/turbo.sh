# Sourced by `bash bench/run.sh --turbo`, inside the generated npm-workspace repository, with BIN,
# BENCH_DIR, RESULTS, RUNS, WARMUP and say() set. Installs Turborepo from npm outside the repository,
# checks that both tools see the same packages, then times four commands side by side.

TURBO_VERSION=2.11.11
TURBO_DIR="${TURBO_DIR:-/tmp/shockwave-bench/turbo-$TURBO_VERSION}"

if [ ! -f turbo.json ] || ! grep -q '^root = ' pipeline.toml; then
    say "$REPO was generated without --npm: run python3 bench/gen.py $REPO --npm --force"
    return 1
fi

if ! ls "$TURBO_DIR"/node_modules/@turbo/*/bin/turbo >/dev/null 2>&1; then
    say "installing turbo@$TURBO_VERSION into $TURBO_DIR"
    npm install --prefix "$TURBO_DIR" --no-audit --no-fund --loglevel=error "turbo@$TURBO_VERSION" >&2 \
        || { say "npm install turbo@$TURBO_VERSION failed"; return 1; }
fi
# The platform's native binary, not the `node_modules/.bin/turbo` launcher: that would add a Node.js
# start to every turbo figure.
TURBO=$(ls "$TURBO_DIR"/node_modules/@turbo/*/bin/turbo | head -n 1)
[ "$("$TURBO" --version)" = "$TURBO_VERSION" ] || { say "$TURBO is not turbo $TURBO_VERSION"; return 1; }
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1 TURBO_SCM_HEAD=HEAD

# Both caches (.turbo/, .shockwave/) and the outputs (bin/) are ignored files.
git clean -q -fdX

affected_sw() { "$BIN" affected --base "$1" --head HEAD --exact-base --format names | wc -l; }
affected_turbo() {
    TURBO_SCM_BASE="$1" "$TURBO" ls --affected --output json 2>/dev/null \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"]["count"])'
}
packages_turbo() {
    "$TURBO" ls --output json 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"]["count"])'
}
say "packages: shockwave $("$BIN" graph --format json 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["services"]))' 2>/dev/null || echo '?'), turbo $(packages_turbo)"
for base in one fifty; do
    say "affected by $base..HEAD: shockwave $(affected_sw $base), turbo $(affected_turbo $base)" \
        "(turbo has no \`ignore\`: README.md changes count for it)"
done

# The all-hit row: fill both caches with one run of the same command first.
say "filling both caches for the all-hit row"
"$BIN" run build --affected --base one --head HEAD --exact-base >/dev/null 2>&1 \
    || { say "shockwave run build --affected failed"; return 1; }
TURBO_SCM_BASE=one "$TURBO" run build --affected >/dev/null 2>&1 \
    || { say "turbo run build --affected failed"; return 1; }
say "all-hit tasks: shockwave $("$BIN" run build --affected --base one --head HEAD --exact-base --dry-run=json 2>/dev/null \
    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["tasks"]))' 2>/dev/null || echo '?'), turbo $(TURBO_SCM_BASE=one "$TURBO" run build --affected --dry=json 2>/dev/null \
    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["tasks"]))')"

SPEC="$RESULTS/turbo-spec.json"
python3 - "$SPEC" "$BIN" "$TURBO" <<'EOF'
import json, sys
spec, sw, turbo = sys.argv[1:]
affected = lambda base: [sw, "affected", "--base", base, "--head", "HEAD", "--exact-base", "--format", "names"]
rows = [
    {"name": "`affected`, 1 commit", "goal": 40, "env": {"TURBO_SCM_BASE": "one"},
     "shockwave": affected("one"), "turbo": [turbo, "ls", "--affected"]},
    {"name": "`affected`, 50 commits", "goal": 20, "env": {"TURBO_SCM_BASE": "fifty"},
     "shockwave": affected("fifty"), "turbo": [turbo, "ls", "--affected"]},
    {"name": "`run build --all --dry-run` (2,300 tasks)", "goal": 6,
     "shockwave": [sw, "run", "build", "--all", "--dry-run"], "turbo": [turbo, "run", "build", "--dry=json"]},
    {"name": "`run build --affected`, 1 commit, all cache hits", "goal": 15, "env": {"TURBO_SCM_BASE": "one"},
     "shockwave": [sw, "run", "build", "--affected", "--base", "one", "--head", "HEAD", "--exact-base"],
     "turbo": [turbo, "run", "build", "--affected"]},
]
json.dump(rows, open(spec, "w"), indent=2)
EOF
say "timing: $RUNS interleaved rounds after $WARMUP (turbo $TURBO_VERSION, $(nproc) cores)"
python3 "$BENCH_DIR/interleave.py" "$SPEC" "$RUNS" "$WARMUP" "$RESULTS/turbo.md"
rc=$?
git clean -q -fdX
return $rc
