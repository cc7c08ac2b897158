#!/usr/bin/env python3
"""Time shockwave and turbo side by side, interleaved, and print the comparison table.

Each row is one pair of commands. Every round runs both once, alternating which goes first, so a
change in the machine's load (it is shared) hits both tools alike; the figure is the median wall
time of the timed rounds. Output goes to /dev/null, as in CI logs that nobody reads.

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


def once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter_ns()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0:
        raise SystemExit(f"interleave.py: `{' '.join(argv)}` exited {done.returncode}")
    return elapsed


def main() -> int:
    spec_path, runs, warmup, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rows = json.load(open(spec_path))
    lines = [
        "| command | shockwave | turbo | ratio | goal |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        env = dict(os.environ, **row.get("env", {}))
        times: dict[str, list[float]] = {"shockwave": [], "turbo": []}
        for i in range(warmup + runs):
            order = ("shockwave", "turbo") if i % 2 == 0 else ("turbo", "shockwave")
            for tool in order:
                t = once(row[tool], env)
                if i >= warmup:
                    times[tool].append(t)
        sw = statistics.median(times["shockwave"])
        tu = statistics.median(times["turbo"])
        ratio = tu / sw
        met = "met" if ratio >= row["goal"] else "not met"
        print(f"{row['name']}: shockwave {sw:.1f} ms (min {min(times['shockwave']):.1f}), "
              f"turbo {tu:.1f} ms (min {min(times['turbo']):.1f}), {ratio:.1f}x", file=sys.stderr)
        lines.append(f"| {row['name']} | {sw:.1f} ms | {tu:.0f} ms | {ratio:.1f}× | ≥ {row['goal']}× ({met}) |")
    table = "\n".join(lines) + "\n"
    with open(out_path, "w") as f:
        f.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
