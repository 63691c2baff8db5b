"""Prompt sets against single runs, whole processes as a user runs them (issue 30's bars):

    .venv/bin/python benchmarks/bench_sets.py [--repeat 3] [--big 1000]

- `trace --prompts` with 32 prompts (IOI pairs, four templates) against one
  single-prompt `trace` process: bar at most 2x.
- `patch --pairs` with the same 32 pairs against one single-pair `patch` process: bar at
  most 10x.
- `patch --pairs --heads` against one single-pair `patch --heads` process (no bar: the
  heads reuse the corrupt run's cached keys and values).
- `trace --prompts` with 1,000 prompts written to JSON: its peak resident memory against
  a single `trace` process's: bar under 1.5x (the set streams, prompt by prompt).
Every figure is a ratio within this run; the files are written to a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

NAMES = ["Mary", "John", "Tom", "Anna", "James", "Sarah", "David", "Emma"]
PLACES = ["store", "park", "school", "office"]
SINGLE = "When Anna and Sarah went to the store, Sarah gave a drink to"
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def ioi(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        a, b = rng.sample(NAMES, 2)
        p = PLACES[k % len(PLACES)]
        rows.append({"prompt": f"When {a} and {b} went to the {p}, {b} gave a drink to", "target": " " + a,
                     "contrast": " " + b, "corrupt": f"When {a} and {b} went to the {p}, {a} gave a drink to"})
    return rows


def write_csv(path: str, rows: list[dict]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def whole(args: list[str]) -> float:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spherescope", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def peak_mb(args: list[str]) -> float:
    """The peak resident memory of one spherescope process, in MB (ru_maxrss is in kB)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "spherescope", *args], env=env,
                         check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", type=int, default=1000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="spherescope-bench-sets-")
    pairs = write_csv(os.path.join(tmp, "ioi32.csv"), ioi(32))
    big = write_csv(os.path.join(tmp, f"ioi{args.big}.csv"), ioi(args.big, seed=2))
    out = os.path.join(tmp, "out.json")

    one = statistics.median(whole(["trace", "--prompt", SINGLE, "--out", out]) for _ in range(args.repeat))
    many = statistics.median(whole(["trace", "--prompts", pairs, "--out", out]) for _ in range(args.repeat))
    print(f"trace: one prompt {one:.2f} s, 32 prompts (--prompts) {many:.2f} s: ratio {many / one:.2f}x (bar: <= 2x); "
          f"{many / 32 * 1000:.0f} ms a prompt against {one * 1000:.0f} ms for a process of one")

    single = statistics.median(whole(["patch", "--clean", SINGLE, "--corrupt", SINGLE.replace("Sarah gave", "Anna gave"),
                                      "--target", " Anna", "--contrast", " Sarah"]) for _ in range(args.repeat))
    grid = statistics.median(whole(["patch", "--pairs", pairs, "--out", out]) for _ in range(max(1, args.repeat - 1)))
    print(f"patch: one pair {single:.2f} s, 32 pairs (--pairs) {grid:.2f} s: ratio {grid / single:.2f}x "
          f"(bar: <= 10x); {grid / 32:.2f} s a pair against {single:.2f} s for a process of one")

    clean_corrupt = ["--clean", SINGLE, "--corrupt", SINGLE.replace("Sarah gave", "Anna gave"), "--target", " Anna",
                     "--contrast", " Sarah"]
    single_h = statistics.median(whole(["patch", *clean_corrupt, "--heads"]) for _ in range(max(1, args.repeat - 1)))
    grid_h = whole(["patch", "--pairs", pairs, "--heads", "--out", out])
    print(f"patch --heads: one pair {single_h:.2f} s, 32 pairs {grid_h:.2f} s: ratio {grid_h / single_h:.2f}x "
          f"(no bar; the heads over the pairs add {grid_h - grid:.1f} s to the positions grid's {grid:.1f} s)")

    rss_one = peak_mb(["trace", "--prompt", SINGLE, "--out", out])
    t0 = time.perf_counter()
    rss_big = peak_mb(["trace", "--prompts", big, "--out", out])
    took = time.perf_counter() - t0
    size = os.path.getsize(out) / 1e6
    print(f"memory: peak RSS of one trace {rss_one:.0f} MB, of {args.big:,} prompts {rss_big:.0f} MB: ratio "
          f"{rss_big / rss_one:.2f}x (bar: < 1.5x); the {args.big:,} took {took:.1f} s and wrote {size:.1f} MB of JSON")


if __name__ == "__main__":
    main()
