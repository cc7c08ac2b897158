#!/usr/bin/env python3
"""Compares shockwave's Go single-module ownership with `go list -deps -test` on a checkout.

For every local package, one non-test file (PROBE_TESTS=1: one `_test.go` file) is changed and
`shockwave affected --uncommitted` is asked which services it affects; `go list` says which
binaries' closures (own packages with tests, dependencies without) hold that package. Runs
offline (GOPROXY=off; missing external modules only add errors that -e skips). TAGS=-tags=x adds
build tags to go list (shockwave reads every file whatever its tags).

usage: python3 bench/go_list_compare.py REPO SHOCKWAVE_BINARY
"""
import json, os, subprocess, sys
repo, bin = sys.argv[1], os.path.abspath(sys.argv[2])
env = dict(os.environ, GOFLAGS="-mod=mod " + os.environ.get("TAGS", ""), GOPROXY="off", GOWORK="off")
def go(*args):
    return subprocess.run(["go", *args], cwd=repo, env=env, capture_output=True, text=True).stdout
def rel(d):
    r = os.path.relpath(d, repo)
    return "" if r == "." else r
if subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout.strip():
    sys.exit("the checkout has uncommitted changes: every probe would see them (git stash or commit first)")
mod = go("list", "-m").strip().splitlines()[0]
pkgs = {}
for line in go("list", "-e", "-f", "{{.ImportPath}}|{{.Dir}}|{{.Name}}", "./...").splitlines():
    ip, d, name = line.split("|")
    pkgs[rel(d)] = name
def under(d, r): return r == "" or d == r or d.startswith(r + "/")
mains = sorted(d for d, n in pkgs.items() if n == "main")
closure, owns = {}, {}
for m in mains:
    owns[m] = own = [d for d in pkgs if under(d, m) and not any(o != m and under(o, m) and under(d, o) for o in mains)]
    out = go("list", "-e", "-deps", "-test", "-f", "{{.ImportPath}}|{{.Dir}}|{{if .Module}}{{.Module.Path}}{{end}}",
             *["./" + d if d else "." for d in own])
    s = set()
    for line in out.splitlines():
        ip, d, modp = line.split("|")
        if modp == mod and d and not ip.endswith(".test") and not rel(d).startswith(".."):
            s.add(rel(d))
    closure[m] = s
name_of = lambda m: os.path.basename(m) if m else mod.rsplit("/", 1)[-1]
print(f"module {mod}: {len(pkgs)} packages (go list ./...), {len(mains)} package main directories")
agree, diffs = 0, []
for d in sorted(pkgs):
    full = os.path.join(repo, d)
    tests = os.environ.get("PROBE_TESTS") == "1"
    files = sorted(f for f in os.listdir(full) if f.endswith(".go") and f.endswith("_test.go") == tests and f[0] not in "._")
    if not files: continue
    path = os.path.join(full, files[0])
    orig = open(path, "rb").read()
    open(path, "ab").write(b"\n// probe\n")
    r = subprocess.run([bin, "affected", "--uncommitted", "--format", "json"], cwd=repo, capture_output=True, text=True)
    open(path, "wb").write(orig)
    if r.returncode != 0:
        sys.exit("shockwave failed: " + r.stderr)
    got = {a["name"] for a in json.loads(r.stdout)["affected"]}
    want = {name_of(m) for m in mains if d in closure[m] and (not tests or d in owns[m])}
    if got == want: agree += 1
    else: diffs.append((d, sorted(got - want), sorted(want - got)))
print(f"packages probed: {agree + len(diffs)}; same affected services: {agree}; different: {len(diffs)}")
for d, extra, missing in diffs[:40]:
    print(f"  {d or '.'}: only shockwave {extra}; only go list {missing}")
