#!/usr/bin/env python3
"""Time shockwave and turbo side by side, interleaved, and print the comparison table.

Each row is one pair of commands. Every round runs both once, alternating which goes first, so a
change in the machine's load (it is shared) hits both tools alike; the figure is the median wall
time of the timed rounds. The CPU time (user + system, of the process and its children) is reported too:
on a loaded machine it moves less than wall time. Output goes to /dev/null.

Usage: python3 bench/interleave.py SPEC.json RUNS WARMUP OUT.md
SPEC is a list of rows: {"name", "goal" (ratio, a number), "shockwave": [argv], "turbo": [argv],
"env": {extra variables for both}}. OUT.md receives the Markdown table, which is also printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time


def once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one run."""
    start = time.perf_counter_ns()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"interleave.py: `{' '.join(argv)}` exited {proc.returncode}")
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def main() -> int:
    spec_path, runs, warmup, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rows = json.load(open(spec_path))
    lines = [
        "| command | shockwave | turbo | ratio | goal | CPU: shockwave | turbo | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        env = dict(os.environ, **row.get("env", {}))
        times: dict[str, list[float]] = {"shockwave": [], "turbo": []}
        cpu: dict[str, list[float]] = {"shockwave": [], "turbo": []}
        for i in range(warmup + runs):
            order = ("shockwave", "turbo") if i % 2 == 0 else ("turbo", "shockwave")
            for tool in order:
                wall, used = once(row[tool], env)
                if i >= warmup:
                    times[tool].append(wall)
                    cpu[tool].append(used)
        sw, tu = statistics.median(times["shockwave"]), statistics.median(times["turbo"])
        sw_cpu, tu_cpu = statistics.median(cpu["shockwave"]), statistics.median(cpu["turbo"])
        ratio = tu / sw
        met = "met" if ratio >= row["goal"] else "not met"
        print(f"{row['name']}: shockwave {sw:.1f} ms (min {min(times['shockwave']):.1f}, CPU {sw_cpu:.1f}), "
              f"turbo {tu:.1f} ms (min {min(times['turbo']):.1f}, CPU {tu_cpu:.1f}), {ratio:.1f}x",
              file=sys.stderr)
        lines.append(f"| {row['name']} | {sw:.1f} ms | {tu:.0f} ms | {ratio:.1f}× | ≥ {row['goal']}× ({met}) "
                     f"| {sw_cpu:.1f} ms | {tu_cpu:.0f} ms | {tu_cpu / sw_cpu:.1f}× |")
    table = "\n".join(lines) + "\n"
    with open(out_path, "w") as f:
        f.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
