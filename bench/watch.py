#!/usr/bin/env python3
"""Measure `shockwave watch` on the generated benchmark repository (driven by bench/watch.sh).

One watch process per mode (native notifications with a given debounce, or --poll). For each:

- the first round: from the start of the process to its first "waiting for changes" line, and the
  number of folders that line says are watched;
- save to first task: SAVES times, append a line to a Go file of one library and take the wall
  clock just before the write; the task command appends `date +%s.%N` to STAMPS before anything
  else, so the first new stamp is the moment the first rerun task's command started. Between saves
  the script waits for the round to end (the debug line `round: ...` and then the "waiting" line)
  and for SETTLE seconds more, counting any round that starts without a save (a watch triggering
  itself);
- a no-op round: a save to a file no service owns; from the save to the debug line `round: 0 of N
  tasks to run` (the round hashed everything and found nothing to run);
- idle CPU: utime + stime of the watch process (and of any children it reaped) from
  /proc/PID/stat over IDLE seconds with nothing changing.

Prints one JSON object per mode on stdout.

Usage: watch.py BIN REPO STAMPS LIB_FILE UNOWNED_FILE MODE [MODE...]
  MODE: `debounce=MS` or `poll` (poll uses the default debounce)
Environment: SAVES (20), IDLE (30 seconds), SETTLE (1.0 seconds), TARGET (stamp)
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

SAVES = int(os.environ.get("SAVES", "20"))
IDLE = float(os.environ.get("IDLE", "30"))
SETTLE = float(os.environ.get("SETTLE", "1.0"))
TARGET = os.environ.get("TARGET", "stamp")
PATIENCE = 600.0  # seconds any one expected line may take (the first round on a loaded machine)

ROUND = re.compile(r"round: (\d+) of (\d+) tasks to run, hashed in ([0-9.]+)(µs|ms|s)")
WAITING = re.compile(r"watch: (\d+) folders through (.+); waiting for changes")
INDEX = re.compile(r"read the index and worktree status in ([0-9.]+)(µs|ms|s)")
HASHED = re.compile(r"hashed (\d+) tasks in ([0-9.]+)(µs|ms|s)")


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"µs": 1e-3, "ms": 1.0, "s": 1e3}[unit]


class Watch:
    """A running `shockwave -v watch`, its stderr lines collected with their arrival time."""

    def __init__(self, binary: str, repo: str, args: list[str]):
        self.started = time.time()
        self.proc = subprocess.Popen(
            [binary, "-v", "watch", TARGET, "--all", *args],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            with self.lock:
                self.lines.append((time.time(), raw.decode("utf-8", "replace").rstrip("\n")))

    def count(self) -> int:
        with self.lock:
            return len(self.lines)

    def wait_for(self, pattern: re.Pattern[str], after: int) -> tuple[int, float, re.Match[str]]:
        """The first line at index >= after matching pattern: (index, arrival, match)."""
        deadline = time.time() + PATIENCE
        i = after
        while time.time() < deadline:
            with self.lock:
                lines = self.lines[i:]
            for t, line in lines:
                m = pattern.search(line)
                if m:
                    return i, t, m
                i += 1
            if self.proc.poll() is not None and self.count() <= i:
                raise SystemExit(f"watch exited with {self.proc.returncode}:\n" + self.tail())
            time.sleep(0.005)
        raise SystemExit(f"no line matching {pattern.pattern!r} in {PATIENCE}s:\n" + self.tail())

    def rounds_since(self, after: int) -> list[tuple[int, int, float]]:
        with self.lock:
            lines = self.lines[after:]
        out = []
        for _, line in lines:
            m = ROUND.search(line)
            if m:
                out.append((int(m.group(1)), int(m.group(2)), to_ms(m.group(3), m.group(4))))
        return out

    def cpu_ticks(self, children: bool = True) -> int:
        """utime + stime of the watch, and of the task processes it waited for when `children`."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat; after the ")" they start at 11.
        return sum(int(x) for x in fields[11 : 15 if children else 13])

    def tail(self) -> str:
        with self.lock:
            return "\n".join(line for _, line in self.lines[-30:])

    def stop(self) -> int:
        os.kill(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


def stamps(path: str) -> list[float]:
    try:
        with open(path) as f:
            return [float(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def save(path: str, text: str) -> float:
    """Appends `text` to `path`; the wall clock just before the write."""
    with open(path, "a") as f:
        t = time.time()
        f.write(text)
    return t


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(binary: str, repo: str, stamp_file: str, lib_file: str, unowned: str, mode: str) -> dict:
    args: list[str] = []
    if mode == "poll":
        args.append("--poll")
    else:
        args += ["--debounce", mode.split("=", 1)[1]]
    result: dict = {"mode": mode, "args": args}
    w = Watch(binary, repo, args)
    try:
        _, t, m = w.wait_for(WAITING, 0)
        result["first_round_s"] = round(t - w.started, 2)
        result["folders"] = int(m.group(1))
        result["through"] = m.group(2)
        first = w.rounds_since(0)
        result["tasks"] = first[0][1] if first else None
        # Let anything the first round wrote settle, then see whether the watch starts rounds of its own.
        time.sleep(SETTLE * 2)
        mark = w.count()
        time.sleep(SETTLE * 2)
        result["rounds_without_a_save_after_first"] = len(w.rounds_since(mark))

        hz = os.sysconf("SC_CLK_TCK")
        latencies, extra_rounds, rerun, hashed, cpu = [], 0, [], [], []
        for i in range(SAVES):
            before = len(stamps(stamp_file))
            mark = w.count()
            c0 = w.cpu_ticks(children=False)
            t0 = save(lib_file, f"// watch bench save {i} {time.time_ns()}\n")
            # The round that saw the save, then its "waiting" line: the round is over.
            idx, _, m = w.wait_for(ROUND, mark)
            rerun.append(int(m.group(1)))
            hashed.append(to_ms(m.group(3), m.group(4)))
            w.wait_for(WAITING, idx)
            cpu.append((w.cpu_ticks(children=False) - c0) / hz * 1000)
            new = stamps(stamp_file)[before:]
            if not new:
                raise SystemExit(f"save {i}: the round ran no task:\n" + w.tail())
            latencies.append((min(new) - t0) * 1000)
            time.sleep(SETTLE)
            extra_rounds += len(w.rounds_since(mark)) - 1
        result["saves"] = SAVES
        result["save_to_task_ms"] = {
            "median": round(statistics.median(latencies), 1),
            "p90": round(percentile(latencies, 0.9), 1),
            "min": round(min(latencies), 1),
            "max": round(max(latencies), 1),
        }
        result["tasks_rerun_per_save"] = sorted(set(rerun))
        result["round_hash_ms_median"] = round(statistics.median(hashed), 1)
        # The watch's own CPU time for a round (its tasks' processes not included).
        result["round_cpu_ms_median"] = round(statistics.median(cpu), 1)
        result["extra_rounds"] = extra_rounds

        noop = []
        for i in range(max(5, SAVES // 4)):
            mark = w.count()
            t0 = save(unowned, f"// watch bench no-op {i}\n")
            _, t, m = w.wait_for(ROUND, mark)
            if int(m.group(1)) != 0:
                raise SystemExit(f"a save to {unowned} ran {m.group(1)} tasks:\n" + w.tail())
            noop.append((t - t0) * 1000)
            time.sleep(SETTLE)
        result["noop_round_ms_median"] = round(statistics.median(noop), 1)

        time.sleep(SETTLE)
        mark = w.count()
        c0, t0 = w.cpu_ticks(), time.time()
        time.sleep(IDLE)
        c1, t1 = w.cpu_ticks(), time.time()
        result["idle_s"] = round(t1 - t0, 1)
        result["idle_cpu_percent"] = round((c1 - c0) / hz / (t1 - t0) * 100, 2)
        result["idle_rounds"] = len(w.rounds_since(mark))
        with open(f"/proc/{w.proc.pid}/status") as f:
            rss = next(line for line in f if line.startswith("VmRSS:"))
        result["rss_mib"] = round(int(rss.split()[1]) / 1024, 1)
    finally:
        result["exit"] = w.stop()
    return result


def main() -> None:
    binary, repo, stamp_file, lib_file, unowned, *modes = sys.argv[1:]
    for mode in modes:
        print(json.dumps(measure(binary, repo, stamp_file, lib_file, unowned, mode)), flush=True)


if __name__ == "__main__":
    main()
