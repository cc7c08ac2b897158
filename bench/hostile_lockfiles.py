#!/usr/bin/env python3
"""Cost of hostile (and of very large real-shaped) manifests and lockfiles.

Each case is a small git repository whose last commit changes one lockfile; `shockwave affected
--base HEAD~1 --format json` then reads it at both ends (discovery, links and closures). The
script prints, per case, the file's size, the wall and CPU time, the peak memory (GNU time), the
size of the JSON output and the reason kinds, so two builds can be compared (CPU time is the
figure to compare on a busy machine):

    python3 bench/hostile_lockfiles.py                        # target/release/shockwave
    python3 bench/hostile_lockfiles.py --bin /tmp/old/shockwave --timeout 120
    python3 bench/hostile_lockfiles.py --only npm-deep,cargo-same-name

Standard library only; the repositories go to /tmp/shockwave-bench/hostile (`--dir`), are
generated deterministically and kept between runs (`--force` rewrites them).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                    "-c", "commit.gpgsign=false", *args],
                   cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL)


def make_repo(path, files, changed):
    """`files` at the first commit, then `changed` (the same paths, new text) at the second."""
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    git(path, "init", "-q", "-b", "main")
    for rel, text in files.items():
        write(os.path.join(path, rel), text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    for rel, text in changed.items():
        write(os.path.join(path, rel), text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "head")


def npm_workspace(names, pm=None):
    root = {"name": "root", "private": True, "workspaces": ["packages/*"]}
    if pm:
        root["packageManager"] = pm
    files = {"package.json": json.dumps(root)}
    for n in names:
        files[f"packages/{n}/package.json"] = json.dumps(
            {"name": n, "version": "1.0.0", "dependencies": {"d0": "^1.0.0"}})
    return files


# --- item: package-lock.json with one location of 200,000 parts ---------------------------------

def npm_deep(parts=200_000, deps=10):
    deep = "/".join(["x"] * parts)

    def lock(version):
        dependencies = {f"d{i}": "^1.0.0" for i in range(deps)}
        packages = {
            "": {"name": "root", "workspaces": ["packages/*"]},
            "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"d0": "^1.0.0"}},
            "node_modules/a": {"resolved": "packages/a", "link": True},
            "node_modules/deep": {"resolved": deep, "link": True},
            deep: {"name": "deep", "version": "1.0.0", "dependencies": dependencies},
        }
        for i in range(deps):
            packages[f"node_modules/d{i}"] = {"version": version}
        return json.dumps({"name": "root", "lockfileVersion": 3, "packages": packages})

    files = npm_workspace(["a"])
    files["package-lock.json"] = lock("1.0.0")
    return files, {"package-lock.json": lock("1.0.1")}


# --- item: Cargo.lock with N packages of one name depending on a missing one -------------------

def cargo_same_name(n=100_000):
    def lock(missing):
        out = ["version = 4\n", '[[package]]\nname = "app"\nversion = "0.1.0"\n'
               'dependencies = ["x 0.0.0"]\n']
        for i in range(n):
            out.append(f'[[package]]\nname = "x"\nversion = "0.0.{i}"\n'
                       'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                       f'dependencies = ["x {missing}"]\n')
        return "\n".join(out)

    files = {
        "Cargo.toml": '[workspace]\nmembers = ["app"]\n',
        "app/Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\n',
        "app/src/main.rs": "fn main() {}\n",
        "Cargo.lock": lock("9.9.9"),
    }
    return files, {"Cargo.lock": lock("9.9.8")}


# --- item: go.mod with N requires and N unrelated replaces -------------------------------------

def go_replaces(n=40_000):
    def gomod(v):
        out = ["module example.com/m\n\ngo 1.22\n\nrequire (\n"]
        out += [f"\texample.com/r{i} v1.0.{v}\n" for i in range(n)]
        out.append(")\n\nreplace (\n")
        out += [f"\texample.com/o{i} => example.com/p{i} v1.0.0\n" for i in range(n)]
        out.append(")\n")
        return "".join(out)

    files = {
        "go.mod": gomod(0),
        "cmd/app/main.go": 'package main\n\nimport _ "example.com/r1/x"\n\nfunc main() {}\n',
    }
    return files, {"go.mod": gomod(1)}


# --- item: yarn.lock (v1 and berry) whose last line is long, with no newline -------------------

def yarn_tail(berry, length=200_000):
    if berry:
        head = ('# This file is generated by running "yarn install" inside your project.\n'
                "# Manual changes might be lost - proceed with caution!\n\n"
                "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"
                '"a@workspace:packages/a":\n  version: 0.0.0-use.local\n'
                '  resolution: "a@workspace:packages/a"\n  dependencies:\n    d0: "npm:^1.0.0"\n'
                "  languageName: unknown\n  linkType: soft\n\n"
                '"d0@npm:^1.0.0":\n  version: 1.0.{v}\n  resolution: "d0@npm:1.0.{v}"\n'
                "  languageName: node\n  linkType: hard\n\n"
                '"z@npm:1":\n  version: 1.0.0\n  resolution: "z@npm:1.0.0"\n  checksum: ')
        pm = "yarn@4.5.0"
    else:
        head = ("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n"
                "# yarn lockfile v1\n\n\n"
                'd0@^1.0.0:\n  version "1.0.{v}"\n'
                '  resolved "https://registry.yarnpkg.com/d0/-/d0-1.0.{v}.tgz"\n\n'
                'z@1:\n  version "1.0.0"\n  integrity ')
        pm = "yarn@1.22.22"

    def lock(v):
        return head.replace("{v}", str(v)) + "a" * length

    files = npm_workspace(["a"], pm)
    files["yarn.lock"] = lock(0)
    return files, {"yarn.lock": lock(1)}


# --- pnpm: many importers sharing one long chain, and a large realistic lockfile ---------------

def integrity(i, salt=""):
    import hashlib
    import base64
    return "sha512-" + base64.b64encode(hashlib.sha512(f"{salt}{i}".encode()).digest()).decode()


def pnpm_workspace(names):
    files = {
        "package.json": json.dumps({"name": "root", "private": True,
                                    "packageManager": "pnpm@9.15.0"}),
        "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n",
    }
    for n in names:
        files[f"packages/{n}/package.json"] = json.dumps({"name": n, "version": "1.0.0"})
    return files


def pnpm_shared_chain(users=1_000, chain=38_000):
    names = [f"u{i}" for i in range(users)]

    def lock(v):
        out = ["lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n"
               "  excludeLinksFromLockfile: false\n\nimporters:\n\n  .: {}\n\n"]
        for n in names:
            out.append(f"  packages/{n}:\n    dependencies:\n"
                       f"      c0:\n        specifier: ^1.0.0\n        version: 1.0.{v}\n\n")
        # No `packages` section (resolutions are optional): the chain alone, as small as the
        # YAML node budget of the old reader let through.
        out.append("snapshots:\n\n")
        for k in range(chain):
            if k + 1 < chain:
                out.append(f"  c{k}@1.0.{v}:\n    dependencies:\n      c{k + 1}: 1.0.{v}\n\n")
            else:
                out.append(f"  c{k}@1.0.{v}: {{}}\n")
        return "".join(out)

    files = pnpm_workspace(names)
    files["pnpm-lock.yaml"] = lock(0)
    return files, {"pnpm-lock.yaml": lock(1)}


def pnpm_large(packages=100_000, users=50):
    """A lockfile laid out as pnpm 9 writes it: each package in `packages` (resolution, engines)
    and `snapshots` (one to three dependencies on lower-numbered packages)."""
    names = [f"u{i}" for i in range(users)]

    def lock(salt):
        out = ["lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n"
               "  excludeLinksFromLockfile: false\n\nimporters:\n\n  .: {}\n\n"]
        for j, n in enumerate(names):
            out.append(f"  packages/{n}:\n    dependencies:\n")
            for k in (packages - 1 - j, packages // 2 + j):
                out.append(f"      p{k}:\n        specifier: ^1.0.0\n        version: 1.0.0\n")
            out.append("\n")
        out.append("packages:\n\n")
        for k in range(packages):
            out.append(f"  p{k}@1.0.0:\n    resolution: {{integrity: "
                       f"{integrity(k, salt if k == 7 else '')}}}\n"
                       "    engines: {node: '>=18'}\n\n")
        out.append("snapshots:\n\n")
        for k in range(packages):
            deps = sorted({k // 2, k // 3, k // 5} - {k}) if k else []
            if deps:
                out.append(f"  p{k}@1.0.0:\n    dependencies:\n")
                out += [f"      p{d}: 1.0.0\n" for d in deps]
                out.append("\n")
            else:
                out.append(f"  p{k}@1.0.0: {{}}\n\n")
        return "".join(out)

    files = pnpm_workspace(names)
    files["pnpm-lock.yaml"] = lock("")
    return files, {"pnpm-lock.yaml": lock("republished")}


CASES = {
    "npm-deep": npm_deep,
    "cargo-same-name": cargo_same_name,
    "go-replaces": go_replaces,
    "yarn1-tail": lambda: yarn_tail(False),
    "berry-tail": lambda: yarn_tail(True),
    "pnpm-shared-chain": pnpm_shared_chain,
    "pnpm-100k": pnpm_large,
}

LOCKFILES = ["package-lock.json", "Cargo.lock", "go.mod", "yarn.lock", "pnpm-lock.yaml"]


def measure(binary, repo, timeout):
    """(wall seconds, CPU seconds, peak KiB, output bytes, summary) of `affected` in `repo`."""
    out_path = os.path.join(repo, ".git", "bench-out.json")
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", binary, "affected", "--base", "HEAD~1",
           "--format", "json"]
    start = time.monotonic()
    with open(out_path, "wb") as out:
        try:
            p = subprocess.run(cmd, cwd=repo, stdout=out, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, None, None, None, f"killed after {timeout} s"
    wall = time.monotonic() - start
    lines = p.stderr.decode(errors="replace").strip().splitlines()
    fields = lines[-1].split() if lines else []
    cpu = float(fields[1]) + float(fields[2]) if len(fields) == 4 else None
    peak = int(fields[3]) if len(fields) == 4 else None
    size = os.path.getsize(out_path)
    summary = f"exit {p.returncode}"
    if p.returncode == 0:
        with open(out_path, encoding="utf-8") as f:
            doc = json.load(f)
        kinds = sorted({r["kind"] for a in doc["affected"] for r in a["reasons"]})
        summary = f"{len(doc['affected'])} affected ({', '.join(kinds)})"
    else:
        summary += ": " + " ".join(lines[:-1])[:160]
    return wall, cpu, peak, size, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "shockwave"))
    ap.add_argument("--dir", default="/tmp/shockwave-bench/hostile")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    only = [c for c in args.only.split(",") if c]
    print(f"{'case':<18} {'file':>10} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'output':>10}  "
          "result")
    for name, gen in CASES.items():
        if only and name not in only:
            continue
        repo = os.path.join(args.dir, name)
        if args.force or not os.path.isdir(os.path.join(repo, ".git")):
            files, changed = gen()
            make_repo(repo, files, changed)
        lock = next(os.path.join(repo, f) for f in LOCKFILES
                    if os.path.exists(os.path.join(repo, f)))
        size = os.path.getsize(lock)
        wall, cpu, peak, out, summary = measure(args.bin, repo, args.timeout)
        fmt = lambda v, f: "-" if v is None else f.format(v)
        print(f"{name:<18} {size:>10,} {fmt(wall, '{:.2f}'):>8} {fmt(cpu, '{:.2f}'):>8} "
              f"{fmt(peak and peak / 1024, '{:.0f}'):>9} {fmt(out, '{:,}'):>10}  {summary}",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
