"""The Python API against the command line (issue 28): one `spherescope.load()` then ten
traces and three figures in one process, against one load plus 1.5x the same work's
compute in the command line (each command's time less a process that only loads).

    .venv/bin/python benchmarks/bench_api.py

Bar: api_total <= load + 1.5 x cli_compute. Also: RSS after 50 figure() calls against
after 1 (bar 1.2x), 50 more through spherescope.figure, and 100 figure() calls from a
worker thread refused at once.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time

ARTICLE = "John and Mary went to the bar. John bought a drink for"
PROMPTS = [ARTICLE, "The cat sat on the mat because it was", "Alice gave Bob a book, and Bob gave Alice a",
           "Paris is the capital of", "One, two, three, four,", "The opposite of hot is",
           "She opened the door and saw a", "In 1969 the first person walked on the", "def add(a, b):\n    return",
           "Water boils at 100 degrees"]
FIGURES = ("plane", "attribution", "norms")
ENV = dict(os.environ, HF_HUB_OFFLINE="1")
CLI = [sys.executable, "-m", "spherescope"]


def timed(argv) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - t0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    import spherescope

    load_only = min(timed([sys.executable, "-c", "from spherescope.models.loader import load_model; load_model()"])
                    for _ in range(2))
    cli = [timed(CLI + ["trace", "--prompt", p, "--tokens", " Mary, John"]) for p in PROMPTS]
    cli += [timed(CLI + ["render", "--view", v, "--prompt", ARTICLE, "--tokens", " Mary, John", "--size", "960x540",
                         "--out", f"/tmp/bench-api-{v}.png"]) for v in FIGURES]
    cli_compute = sum(max(t - load_only, 0.0) for t in cli)

    t0 = time.perf_counter()
    m = spherescope.load()
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    for p in PROMPTS:
        m.trace(p, tokens=" Mary, John")
    for v in FIGURES:
        m.figure(v, ARTICLE, tokens=" Mary, John", size=(960, 540))
    t_work = time.perf_counter() - t1
    api_total = t_load + t_work
    bar = t_load + 1.5 * cli_compute
    print(f"command line: a load-only process {load_only:.2f} s; ten traces and three renders "
          f"{sum(cli):.1f} s in all, {cli_compute:.1f} s of it compute")
    print(f"API: load {t_load:.2f} s, then the same work {t_work:.1f} s: total {api_total:.1f} s")
    print(f"ratio api_total / (load + 1.5 x cli compute) = {api_total / bar:.2f} (bar <= 1.00)")

    m.figure("norms", ARTICLE, size=(640, 360))
    after_one = rss_mb()
    for _ in range(49):
        m.figure("norms", ARTICLE, size=(640, 360))
    after_50 = rss_mb()
    print(f"RSS after 1 figure {after_one:.0f} MB, after 50 {after_50:.0f} MB: {after_50 / after_one:.2f}x (bar <= 1.2)")
    for _ in range(50):
        spherescope.figure(ARTICLE, view="confidence", size=(640, 360))
    print(f"RSS after 50 more through spherescope.figure (same model, reused): {rss_mb():.0f} MB")

    refused = []
    t2 = time.perf_counter()

    def worker():
        for _ in range(100):
            try:
                spherescope.figure(ARTICLE, view="norms")
            except RuntimeError as exc:
                refused.append(str(exc))

    th = threading.Thread(target=worker)
    th.start()
    th.join()
    print(f"100 figure() calls from a worker thread: {len(refused)} refused in {time.perf_counter() - t2:.2f} s "
          f"({refused[0][:60]}...)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
