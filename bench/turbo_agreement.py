#!/usr/bin/env python3
"""Measure whether shockwave plans and hashes like Turborepo on a real repository's history.

    python3 bench/turbo_agreement.py REPO SHOCKWAVE TURBO [--pairs 30] [--target build]
                                     [--end REV] [--out DIR] [--explain] [--no-hashes]

For each of the last N first-parent commits C of REPO (from --end, default HEAD) and its parent P,
with C checked out:

- plan: `turbo run TARGET --affected --dry=json` (TURBO_SCM_BASE=P, TURBO_SCM_HEAD=C; turbo 1.x,
  which has no --affected, gets `--filter=...[P...C]`) against
  `shockwave run TARGET --affected --base P --head C --dry-run=json`, as sets of (package, task);
- hashes: each tool's hash of every TARGET task (`turbo run TARGET --dry=json`,
  `shockwave run TARGET --all --dry-run=json`) at P and at C, and which tasks changed hash.

Turbo lists a task for every package in scope, even one without the script (command
`<NONEXISTENT>`, nothing runs); shockwave has no task there. Those placeholders are counted apart
and left out of the comparison. REPO must be a clone used for nothing else: the script checks
commits out with `git checkout --force` (or, where blobs are missing, reads the tree into the index
and writes what it can), removes untracked files that are not ignored (`git clean -fd`), adds
`.turbo/` and `.shockwave/` to `.git/info/exclude`, and puts back the original checkout at the end.
Both tools run with a fixed, minimal environment (PATH, HOME, LANG) plus telemetry off;
shockwave's cache goes to a temporary folder outside the repository.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = "<NONEXISTENT>"
EXAMPLES = 6
EXPLAIN_LINES = 8  # per side of one pair's plan difference


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()[:500]}")
    return proc.stdout


@dataclass
class Run:
    """One tool invocation: its tasks keyed by (package, task), or the error it gave."""

    ok: bool
    ms: float
    cpu_ms: float = 0.0
    tasks: dict = field(default_factory=dict)  # (package, task) -> dict of the fields we keep
    placeholders: list = field(default_factory=list)  # turbo tasks without a command
    affected: list = field(default_factory=list)  # turbo: filtered packages
    global_inputs: dict = field(default_factory=dict)  # turbo: globalCacheInputs, in every task's hash
    error: str = ""

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "ms": round(self.ms, 1),
            "cpu_ms": round(self.cpu_ms, 1),
            "error": self.error,
            "tasks": {f"{p}#{t}": v for (p, t), v in sorted(self.tasks.items())},
            "placeholders": sorted(f"{p}#{t}" for p, t in self.placeholders),
            "affected": self.affected,
        }


class Tools:
    def __init__(self, repo: Path, shockwave: Path, turbo: Path, target: str, timeout: float, cache: Path):
        self.repo = repo
        self.shockwave = str(shockwave)
        self.turbo = str(turbo)
        self.target = target
        self.timeout = timeout
        version = subprocess.run([self.turbo, "--version"], capture_output=True, text=True, timeout=60)
        self.turbo_version = version.stdout.strip().splitlines()[-1] if version.stdout.strip() else "?"
        try:
            self.turbo_major = int(self.turbo_version.split(".")[0])
        except ValueError:
            self.turbo_major = 2
        self.last_cpu_ms = 0.0
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "TURBO_TELEMETRY_DISABLED": "1",
            "DO_NOT_TRACK": "1",
            "TURBO_NO_UPDATE_NOTIFIER": "1",
            "SHOCKWAVE_CACHE_DIR": str(cache),
            "NO_COLOR": "1",
        }

    def _exec(self, argv: list[str], extra_env: dict | None = None) -> tuple[bool, float, str, str]:
        """Runs one command; its CPU time (user + system, children included) goes to self.last_cpu_ms."""
        env = dict(self.env, **(extra_env or {}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run(argv, cwd=self.repo, env=env, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return False, (time.perf_counter() - start) * 1000, "", f"timed out after {self.timeout:.0f} s"
        ms = (time.perf_counter() - start) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.last_cpu_ms = 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return proc.returncode == 0, ms, proc.stdout, proc.stderr if proc.returncode == 0 else (
            f"exit {proc.returncode}: " + proc.stderr.strip()[-1500:]
        )

    def _turbo(self, extra: list[str], env: dict | None = None) -> Run:
        argv = [self.turbo, "run", self.target, "--dry=json", *extra]
        if self.turbo_major < 2:
            argv.append("--no-daemon")
        ok, ms, out, err = self._exec(argv, env)
        if not ok:
            return Run(False, ms, error=err)
        try:
            doc = json.loads(out)
        except json.JSONDecodeError as e:
            return Run(False, ms, error=f"turbo printed no JSON ({e}): {out[:300]!r}")
        run = Run(True, ms, self.last_cpu_ms, affected=sorted(doc.get("packages") or []),
                  global_inputs=doc.get("globalCacheInputs") or {})
        for t in doc.get("tasks") or []:
            key = (t.get("package"), t.get("task"))
            if t.get("command") == PLACEHOLDER:
                run.placeholders.append(key)
                continue
            run.tasks[key] = {
                "hash": t.get("hash"),
                "directory": t.get("directory"),
                "inputs": t.get("inputs") or {},
                "external": t.get("hashOfExternalDependencies"),
                "dependencies": t.get("dependencies") or [],
                "dependents": t.get("dependents") or [],
            }
        return run

    def turbo_affected(self, base: str, head: str) -> Run:
        if self.turbo_major >= 2:
            return self._turbo(["--affected"], {"TURBO_SCM_BASE": base, "TURBO_SCM_HEAD": head})
        return self._turbo([f"--filter=...[{base}...{head}]"])

    def turbo_all(self) -> Run:
        return self._turbo([])

    def _shockwave(self, extra: list[str]) -> Run:
        ok, ms, out, err = self._exec([self.shockwave, "run", self.target, *extra, "--dry-run=json"])
        if not ok:
            return Run(False, ms, error=err)
        try:
            doc = json.loads(out)
        except json.JSONDecodeError as e:
            return Run(False, ms, error=f"shockwave printed no JSON ({e}): {out[:300]!r}")
        run = Run(True, ms, self.last_cpu_ms)
        for t in doc.get("tasks") or []:
            run.tasks[(t.get("service"), t.get("target"))] = {
                "hash": t.get("hash"),
                "requested": t.get("requested"),
                "needed_by": t.get("needed_by"),
                "reasons": t.get("reasons"),
            }
        return run

    def shockwave_affected(self, base: str, head: str) -> Run:
        return self._shockwave(["--affected", "--base", base, "--head", head])

    def shockwave_all(self) -> Run:
        return self._shockwave(["--all"])

    def shockwave_hash_json(self, dest: Path) -> str:
        """`shockwave hash TARGET --all --json` into dest (for --explain); returns an error or ''."""
        ok, _, out, err = self._exec([self.shockwave, "hash", self.target, "--all", "--json"])
        if ok:
            dest.write_text(out)
            return ""
        return err

    def shockwave_hash_diff(self, a: Path, b: Path) -> str:
        ok, _, out, err = self._exec([self.shockwave, "hash", "--diff", str(a), str(b)])
        return out if ok else err


class Checkout:
    """Checks commits out in a dedicated clone and restores the original state at the end."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.original = git(repo, "symbolic-ref", "-q", "--short", "HEAD", check=False).strip() or git(
            repo, "rev-parse", "HEAD"
        ).strip()
        exclude = repo / ".git" / "info" / "exclude"
        if (repo / ".git").is_dir():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            lines = exclude.read_text().splitlines() if exclude.exists() else []
            missing = [p for p in (".turbo/", ".shockwave/") if p not in lines]
            if missing:
                with exclude.open("a") as f:
                    f.write("".join(p + "\n" for p in missing))
        self.unreadable: dict[str, list[str]] = {}

    def go(self, rev: str) -> None:
        proc = subprocess.run(
            ["git", "-C", str(self.repo), "checkout", "-q", "--force", "--detach", rev],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            # A snapshot without some large blobs: read the tree into the index, write every file
            # that can be read, and mark the rest skip-worktree.
            git(self.repo, "read-tree", "--reset", rev)
            git(self.repo, "update-ref", "--no-deref", "HEAD", git(self.repo, "rev-parse", rev + "^{commit}").strip())
            proc = subprocess.run(
                ["git", "-C", str(self.repo), "checkout-index", "-a", "-f", "-u", "-q"], capture_output=True, text=True
            )
            # Without this, turbo counts the missing files as uncommitted deletions: its --affected
            # includes worktree changes even with TURBO_SCM_HEAD set.
            missing = git(self.repo, "ls-files", "-d", "-z")
            if missing:
                subprocess.run(
                    ["git", "-C", str(self.repo), "update-index", "--skip-worktree", "-z", "--stdin"],
                    input=missing,
                    text=True,
                    check=True,
                    capture_output=True,
                )
        git(self.repo, "clean", "-fdq")
        # Once marked, a later `git checkout` leaves such files unwritten and still marked.
        skipped = [line[2:] for line in git(self.repo, "ls-files", "-v").splitlines() if line.startswith("S ")]
        if skipped:
            self.unreadable[rev] = skipped

    def restore(self) -> None:
        self.go(self.original)
        self.unreadable.pop(self.original, None)
        ref = f"refs/heads/{self.original}"
        if subprocess.run(["git", "-C", str(self.repo), "show-ref", "--verify", "-q", ref]).returncode == 0:
            git(self.repo, "symbolic-ref", "HEAD", ref)


def key_label(key: tuple) -> str:
    return f"{key[0]}#{key[1]}"


def changed_files(repo: Path, base: str, head: str) -> list[str]:
    out = git(repo, "diff", "--no-renames", "--name-status", base, head, check=False)
    return [line.replace("\t", " ") for line in out.splitlines()]


def in_dir(files: list[str], directory: str | None) -> list[str]:
    if directory is None:
        return []
    prefix = "" if directory in ("", ".") else directory.rstrip("/") + "/"
    return [f for f in files if f.split(" ", 1)[1].startswith(prefix)]


def inputs_diff(before: dict, after: dict) -> list[str]:
    out = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a != b:
            out.append(f"{path}: {(a or 'absent')[:8]} -> {(b or 'absent')[:8]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path, help="a clone with history, used for nothing else")
    ap.add_argument("shockwave", type=Path, help="path to the shockwave binary to measure")
    ap.add_argument("turbo", type=Path, help="path to the turbo binary (the native one, not the Node launcher)")
    ap.add_argument("--pairs", type=int, default=30, help="first-parent commits to compare with their parent")
    ap.add_argument("--target", default="build")
    ap.add_argument("--end", default="HEAD", help="the newest commit of the range (default HEAD)")
    ap.add_argument("--out", type=Path, metavar="DIR",
                    help="write the report to DIR/NAME.txt and the raw plans and hashes to DIR/NAME.json "
                    "(NAME: the clone's folder name)")
    ap.add_argument("--explain", action="store_true", help="print, per difference, the changed files and inputs")
    ap.add_argument("--no-hashes", action="store_true", help="compare plans only (half the runs)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per tool run")
    args = ap.parse_args()

    repo = args.repo.resolve()
    if not (repo / ".git").exists():
        ap.error(f"{repo} is not the top of a git clone")
    for tool in (args.shockwave, args.turbo):
        if not (tool.is_file() and os.access(tool, os.X_OK)):
            ap.error(f"{tool} is not an executable file")
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")

    commits = git(repo, "rev-list", "--first-parent", "-n", str(args.pairs + 1), args.end).split()
    if len(commits) < 2:
        ap.error(f"{args.end} has no parent to compare with")
    pairs = [(commits[i + 1], commits[i]) for i in range(len(commits) - 1)]

    cache = Path(tempfile.mkdtemp(prefix="turbo-agreement-"))
    tools = Tools(repo, args.shockwave.resolve(), args.turbo.resolve(), args.target, args.timeout, cache)
    checkout = Checkout(repo)
    name = repo.name
    log = sys.stderr
    print(
        f"{name}: {len(pairs)} pairs ending at {commits[0][:10]}, target {args.target}, turbo {tools.turbo_version}",
        file=log,
    )

    hashes: dict[str, dict[str, Run]] = {}  # commit -> {"turbo": Run, "shockwave": Run}
    plans: dict[tuple, dict[str, Run]] = {}
    hash_json: dict[str, Path] = {}
    try:
        wanted = commits if not args.no_hashes else commits[:-1]
        for i, commit in enumerate(wanted):
            checkout.go(commit)
            if i < len(pairs):
                base = pairs[i][0]
                plans[pairs[i]] = {
                    "turbo": tools.turbo_affected(base, commit),
                    "shockwave": tools.shockwave_affected(base, commit),
                }
            if not args.no_hashes:
                hashes[commit] = {"turbo": tools.turbo_all(), "shockwave": tools.shockwave_all()}
                if args.explain:
                    dest = cache / f"hash-{commit}.json"
                    if not tools.shockwave_hash_json(dest):
                        hash_json[commit] = dest
            p = plans.get(pairs[i]) if i < len(pairs) else None
            status = (
                f"plan turbo {len(p['turbo'].tasks) if p['turbo'].ok else 'ERR'}"
                f" / shockwave {len(p['shockwave'].tasks) if p['shockwave'].ok else 'ERR'}"
                if p
                else "parent of the last pair"
            )
            print(f"  [{i + 1}/{len(wanted)}] {commit[:10]} {status}", file=log)
    finally:
        checkout.restore()

    report: list[str] = []
    say = report.append
    say(f"== {name} ({len(pairs)} pairs, {commits[-1][:10]}..{commits[0][:10]}, target {args.target}, "
        f"turbo {tools.turbo_version}, shockwave {args.shockwave})")

    # Plans.
    compared = identical = 0
    only_turbo: list[tuple] = []
    only_sw: list[tuple] = []
    both = placeholders = 0
    errors = {"turbo": [], "shockwave": []}
    explain: list[str] = []
    kinds: dict[str, int] = {}  # why a task is in one plan only -> count
    for pair in pairs:
        base, head = pair
        t, s = plans[pair]["turbo"], plans[pair]["shockwave"]
        for tool, run in (("turbo", t), ("shockwave", s)):
            if not run.ok:
                errors[tool].append((head, run.error))
        if not (t.ok and s.ok):
            continue
        compared += 1
        placeholders += len(t.placeholders)
        tk, sk = set(t.tasks), set(s.tasks)
        both += len(tk & sk)
        ot, os_ = sorted(tk - sk), sorted(sk - tk)
        only_turbo += [(head, k) for k in ot]
        only_sw += [(head, k) for k in os_]
        for k in ot:
            kind = ("turbo: its package is affected" if k[0] in t.affected
                    else "turbo: a dependsOn dependency of a planned task, its package not affected")
            kinds[kind] = kinds.get(kind, 0) + 1
        for k in os_:
            info = s.tasks[k]
            if not info["requested"]:
                kind = "shockwave: needed by a planned task"
            else:
                found = sorted({r.get("kind", "?") + (f" {r['path']}" if r.get("kind") == "global" else "")
                                for r in info["reasons"] or []})
                kind = "shockwave: affected by " + (", ".join(found[:3]) or "?")
            kinds[kind] = kinds.get(kind, 0) + 1
        if not ot and not os_:
            identical += 1
        elif args.explain:
            files = changed_files(repo, base, head)
            explain.append(f"-- plan {base[:10]}..{head[:10]}: {len(files)} changed files: "
                           + "; ".join(files[:12]) + (" …" if len(files) > 12 else ""))
            for n, k in enumerate(ot):
                if n == EXPLAIN_LINES:
                    explain.append(f"   … and {len(ot) - n} more only in turbo")
                    break
                info = t.tasks[k]
                why = ("package affected for turbo" if k[0] in t.affected
                       else "turbo runs it as a dependency of "
                       + ", ".join(d for d in info["dependents"] if tuple(d.split("#", 1)) in t.tasks)[:200])
                mine = in_dir(files, info["directory"])
                explain.append(f"   only turbo: {key_label(k)} ({why}; changed in {info['directory']}: "
                               f"{'; '.join(mine[:5]) or 'nothing'})")
            for n, k in enumerate(os_):
                if n == EXPLAIN_LINES:
                    explain.append(f"   … and {len(os_) - n} more only in shockwave")
                    break
                info = s.tasks[k]
                explain.append(f"   only shockwave: {key_label(k)} (requested={info['requested']}, "
                               f"needed_by={info['needed_by']}, reasons={json.dumps(info['reasons'])[:300]})")
    say(f"plans: {compared} pairs compared, {identical} identical ({pct(identical, compared)}); "
        f"tasks in both {both}, only in turbo {len(only_turbo)}, only in shockwave {len(only_sw)}; "
        f"turbo placeholder tasks (no script) left out: {placeholders}")
    for label, items in (("only in turbo", only_turbo), ("only in shockwave", only_sw)):
        if items:
            say(f"  {label}, e.g.: " + ", ".join(f"{h[:8]} {key_label(k)}" for h, k in items[:EXAMPLES]))
            counts: dict[str, int] = {}
            for _, k in items:
                counts[key_label(k)] = counts.get(key_label(k), 0) + 1
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:EXAMPLES]
            say(f"  {label}, most often: " + ", ".join(f"{k} ×{n}" for k, n in top))
    if kinds:
        say("  why a task is in one plan only: "
            + "; ".join(f"{k} ×{n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:10]))
    for tool, errs in errors.items():
        if errs:
            say(f"  {tool} failed on {len(errs)} pairs, e.g. {errs[0][0][:10]}: {errs[0][1][:400]}")

    # Hashes.
    hash_summary = None
    if not args.no_hashes:
        agree_pairs = hcompared = 0
        counts = {"both changed": 0, "both unchanged": 0, "turbo only changed": 0, "shockwave only changed": 0}
        examples: dict[str, list] = {"turbo only changed": [], "shockwave only changed": []}
        diffs: dict[tuple, str] = {}
        for base, head in pairs:
            hb, hh = hashes[base], hashes[head]
            if not all(r.ok for r in (hb["turbo"], hh["turbo"], hb["shockwave"], hh["shockwave"])):
                continue
            hcompared += 1
            common = set(hb["turbo"].tasks) & set(hh["turbo"].tasks) & set(hb["shockwave"].tasks) & set(
                hh["shockwave"].tasks
            )
            same = True
            for k in sorted(common):
                tc = hb["turbo"].tasks[k]["hash"] != hh["turbo"].tasks[k]["hash"]
                sc = hb["shockwave"].tasks[k]["hash"] != hh["shockwave"].tasks[k]["hash"]
                if tc and sc:
                    counts["both changed"] += 1
                elif not tc and not sc:
                    counts["both unchanged"] += 1
                else:
                    same = False
                    kind = "turbo only changed" if tc else "shockwave only changed"
                    counts[kind] += 1
                    examples[kind].append((head, k))
                    if args.explain:
                        tb, th = hb["turbo"].tasks[k], hh["turbo"].tasks[k]
                        files = changed_files(repo, base, head)
                        explain.append(f"-- hash {base[:10]}..{head[:10]} {key_label(k)}: {kind}")
                        explain.append(f"   changed files in {th['directory']}: "
                                       + ("; ".join(in_dir(files, th["directory"])[:8]) or "none")
                                       + f" (of {len(files)}: " + "; ".join(files[:6]) + ")")
                        diff = inputs_diff(tb["inputs"], th["inputs"])
                        explain.append("   turbo inputs changed: " + ("; ".join(diff[:8]) or "none")
                                       + (f"; external deps {tb['external']} -> {th['external']}"
                                          if tb["external"] != th["external"] else ""))
                        gb, gh = hb["turbo"].global_inputs, hh["turbo"].global_inputs
                        gdiff = [g for g in sorted(set(gb) | set(gh)) if gb.get(g) != gh.get(g)]
                        if gdiff:
                            detail = []
                            for g in gdiff:
                                if isinstance(gb.get(g), dict) and isinstance(gh.get(g), dict):
                                    sub = inputs_diff({a: json.dumps(v) for a, v in gb[g].items()},
                                                      {a: json.dumps(v) for a, v in gh[g].items()})
                                    detail.append(f"{g} ({'; '.join(sub[:4])})")
                                else:
                                    detail.append(f"{g} ({str(gb.get(g))[:16]} -> {str(gh.get(g))[:16]})")
                            explain.append("   turbo global inputs changed: " + "; ".join(detail))
                        if tc and not diff and tb["external"] == th["external"] and not gdiff:
                            deps = [d for d in th["dependencies"]
                                    if tuple(d.split("#", 1)) in hb["turbo"].tasks
                                    and hb["turbo"].tasks[tuple(d.split("#", 1))]["hash"]
                                    != hh["turbo"].tasks.get(tuple(d.split("#", 1)), {}).get("hash")]
                            explain.append("   turbo: dependency hashes changed: " + (", ".join(deps[:6]) or "none"))
                        if base in hash_json and head in hash_json:
                            if (base, head) not in diffs:
                                diffs[(base, head)] = tools.shockwave_hash_diff(hash_json[base], hash_json[head])
                            out = diffs[(base, head)]
                            mine = section(out, f"{k[0]}:{k[1]}:")
                            explain.append("   shockwave: " + ("\n     ".join(mine[:8]) or "no difference listed"))
            if same:
                agree_pairs += 1
        total = sum(counts.values())
        agree = counts["both changed"] + counts["both unchanged"]
        say(f"hashes: {hcompared} pairs compared, {agree_pairs} with the same set of changed tasks "
            f"({pct(agree_pairs, hcompared)}); per task and pair: agreement {agree}/{total} ({pct(agree, total)}): "
            + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for kind, items in examples.items():
            if items:
                say(f"  {kind}, e.g.: " + ", ".join(f"{h[:8]} {key_label(k)}" for h, k in items[:EXAMPLES]))
        last = hashes[commits[0]]
        if last["turbo"].ok and last["shockwave"].ok:
            tk, sk = set(last["turbo"].tasks), set(last["shockwave"].tasks)
            only_t = ", ".join(key_label(k) for k in sorted(tk - sk)[:EXAMPLES])
            only_s = ", ".join(key_label(k) for k in sorted(sk - tk)[:EXAMPLES])
            say(f"  tasks at {commits[0][:10]} (--all): turbo {len(tk)} with a command "
                f"(+{len(last['turbo'].placeholders)} placeholders), shockwave {len(sk)}, in both {len(tk & sk)}"
                + (f"; only turbo: {only_t}" if only_t else "")
                + (f"; only shockwave: {only_s}" if only_s else ""))
        for tool in ("turbo", "shockwave"):
            errs = [(c, h[tool].error) for c, h in hashes.items() if not h[tool].ok]
            if errs:
                say(f"  {tool} --all failed at {len(errs)} commits, e.g. {errs[0][0][:10]}: {errs[0][1][:400]}")
        hash_summary = {"pairs": hcompared, "same_changed_set": agree_pairs, **counts}

    def median(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[len(xs) // 2] if xs else 0.0

    ok_plans = [p for p in plans.values() if p["turbo"].ok and p["shockwave"].ok]
    say(f"--affected dry runs, medians: wall turbo {median([p['turbo'].ms for p in ok_plans]):.0f} ms, shockwave "
        f"{median([p['shockwave'].ms for p in ok_plans]):.0f} ms; CPU (user + system) turbo "
        f"{median([p['turbo'].cpu_ms for p in ok_plans]):.0f} ms, shockwave "
        f"{median([p['shockwave'].cpu_ms for p in ok_plans]):.0f} ms")
    if checkout.unreadable:
        most = max(checkout.unreadable.values(), key=len)
        say(f"  note: at {len(checkout.unreadable)} commits, up to {len(most)} files whose blobs the clone lacks "
            f"were left unwritten and marked skip-worktree (e.g. {most[0][:160]})")
    if args.explain and explain:
        report.append("")
        report.extend(explain)

    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{name}.txt").write_text(text + "\n")
        raw = {
            "repo": str(repo),
            "target": args.target,
            "turbo_version": tools.turbo_version,
            "shockwave": str(args.shockwave),
            "commits": commits,
            "plans": {f"{b}..{h}": {k: r.to_json() for k, r in v.items()} for (b, h), v in plans.items()},
            "hashes": {c: {k: {kk: {"hash": vv["hash"]} for kk, vv in
                                  ((key_label(x), y) for x, y in r.tasks.items())} | {"_ok": r.ok, "_error": r.error}
                              for k, r in v.items()} for c, v in hashes.items()},
            "summary": {
                "pairs": len(pairs), "compared": compared, "identical": identical, "in_both": both,
                "only_turbo": len(only_turbo), "only_shockwave": len(only_sw), "placeholders": placeholders,
                "why_one_plan_only": kinds,
                "hashes": hash_summary,
            },
            "skip_worktree": checkout.unreadable,
        }
        (args.out / f"{name}.json").write_text(json.dumps(raw, indent=1))
    shutil.rmtree(cache, ignore_errors=True)
    return 0


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f} %" if b else "n/a"


def section(diff_text: str, header: str) -> list[str]:
    """The lines of `shockwave hash --diff` output that belong to one task's entry."""
    lines = diff_text.splitlines()
    out, inside = [], False
    for line in lines:
        if line.startswith(header):
            inside = True
            out.append(line)
        elif inside and line.startswith("  "):
            out.append(line.strip())
        elif inside:
            break
    return out


if __name__ == "__main__":
    sys.exit(main())
