#!/usr/bin/env python3
"""Compares shockwave's Go package units with `go list -e -test -deps` on a checkout.

For every local package Q, one non-test file (PROBE_TESTS=1: one `_test.go` file) gets a line and
`shockwave affected --uncommitted --format json` says which units it affects. Go's answer: the
packages P whose test binary (`P.test`, from `go list -e -test -json ./...`, its `Deps`) links Q
(for a test-only change: Q alone). Only local packages are compared, and only packages that have
tests (a unit without tests is affected for its build, which go test does not run).

usage: python3 go_list_packages.py REPO SHOCKWAVE_BINARY
"""
import json, os, subprocess, sys
repo, bin = sys.argv[1], os.path.abspath(sys.argv[2])
env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOWORK="off", GOTOOLCHAIN="local")
out = subprocess.run(["go", "list", "-e", "-test", "-json", "./..."], cwd=repo, env=env, capture_output=True, text=True).stdout
dec = json.JSONDecoder(); i = 0; entries = []
while i < len(out):
    while i < len(out) and out[i].isspace(): i += 1
    if i >= len(out): break
    o, i = dec.raw_decode(out, i); entries.append(o)
def rel(d):
    r = os.path.relpath(d, repo)
    return "" if r == "." else r
dir_of, tested, names = {}, set(), {}
for o in entries:
    ip = o["ImportPath"]
    if " " in ip or ip.endswith(".test") or not o.get("Dir") or rel(o["Dir"]).startswith(".."):
        continue
    dir_of[ip] = rel(o["Dir"])
    if o.get("TestGoFiles") or o.get("XTestGoFiles"):
        tested.add(rel(o["Dir"]))
deps = {}  # tested package dir -> local package dirs its test binary links
for o in entries:
    ip = o["ImportPath"]
    if not ip.endswith(".test"):
        continue
    p = dir_of.get(ip[:-5])
    if p is None:
        continue
    deps[p] = {dir_of[d.split(" ")[0]] for d in o.get("Deps", []) if d.split(" ")[0] in dir_of}
    deps[p].add(p)
tests_only = os.environ.get("PROBE_TESTS") == "1"
agree, diffs, untested_extra = 0, [], 0
for q in sorted(set(dir_of.values())):
    full = os.path.join(repo, q)
    files = sorted(f for f in os.listdir(full) if f.endswith(".go") and f.endswith("_test.go") == tests_only and f[0] not in "._")
    if not files:
        continue
    path = os.path.join(full, files[0])
    orig = open(path, "rb").read()
    open(path, "ab").write(b"\n// probe\n")
    r = subprocess.run([bin, "affected", "--uncommitted", "--format", "json"], cwd=repo, capture_output=True, text=True)
    open(path, "wb").write(orig)
    if r.returncode != 0:
        sys.exit("shockwave failed: " + r.stderr)
    got_all = {a["root"] for a in json.loads(r.stdout)["affected"]}
    got = got_all & tested
    untested_extra += len(got_all - tested)
    want = {q} & tested if tests_only else {p for p, d in deps.items() if q in d}
    if got == want:
        agree += 1
    else:
        diffs.append((q, sorted(got - want), sorted(want - got)))
print(f"{len(dir_of)} local packages, {len(tested)} with tests; probed {agree + len(diffs)}: same tested packages {agree}, different {len(diffs)}; affected units without tests (not compared): {untested_extra}")
for q, extra, missing in diffs[:40]:
    print(f"  {q or '.'}: only shockwave {extra}; only go list {missing}")
