"""Activation patching and steering against a single trace, on the article's pair.

    .venv/bin/python benchmarks/bench_patch.py [--repeat 3]

Whole processes, as a user runs them: `spherescope patch` (the full grid, 31 layers x 13
positions) against `spherescope trace` (one traced prompt), both loading the model; the
issue's bar is at most 15x. Then in one process: the batched grid against one run per
cell (the scheme it replaces), the per-head grid against the residual grid (bar: at most
3x), a trace recording every head's attention against a plain one, and a steered trace
against a plain one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CLEAN = "John and Mary went to the bar. John bought a drink for"
CORRUPT = "John and Mary went to the bar. Mary bought a drink for"


def whole(args: list[str]) -> float:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spherescope", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    traces = [whole(["trace", "--prompt", CLEAN]) for _ in range(args.repeat)]
    patches = [whole(["patch", "--clean", CLEAN, "--corrupt", CORRUPT, "--target", " Mary", "--contrast", " John"])
               for _ in range(args.repeat)]
    t, p = statistics.median(traces), statistics.median(patches)
    print(f"whole process: spherescope trace {t:.2f} s, spherescope patch (31x13 grid) {p:.2f} s: "
          f"ratio {p / t:.2f}x (bar: <= 15x)")

    from spherescope.core.patching import SteerSpec
    from spherescope.models.loader import load_model
    from spherescope.models.patching import patch_grid, steering
    from spherescope.models.trace import tokenize, trace_prompt

    m = load_model()
    clean, corrupt = trace_prompt(m, CLEAN), trace_prompt(m, CORRUPT)

    def timed(fn, n=args.repeat):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return statistics.median(out)

    one = timed(lambda: trace_prompt(m, CLEAN))
    batched = timed(lambda: patch_grid(m, clean, corrupt, 5099, 2322))
    single = timed(lambda: patch_grid(m, clean, corrupt, 5099, 2322, batch=False), 1)
    print(f"in process: one trace {1000 * one:.0f} ms; grid batched {batched:.2f} s ({batched / one:.1f} traces), "
          f"one run per cell {single:.2f} s ({single / one:.1f} traces): batching is {single / batched:.1f}x faster")
    from spherescope.models.head_patching import head_patch_grid

    heads = timed(lambda: head_patch_grid(m, clean, corrupt, 5099, 2322))
    print(f"per-head grid (30 blocks x 9 heads at the last position) {heads:.2f} s vs the residual grid "
          f"{batched:.2f} s: {heads / batched:.2f}x (bar: <= 3x)")
    with_attention = timed(lambda: trace_prompt(m, CLEAN, attention=True, sublayers=True), 5)
    print(f"trace with every head's attention weights and the writes {1000 * with_attention:.0f} ms vs plain "
          f"{1000 * one:.0f} ms: {with_attention / one:.2f}x")
    tokens = tokenize(m, CLEAN)
    spec = SteerSpec(15, 2322, 5099, 50.0)

    def steered():
        with steering(m, spec, len(tokens)):
            trace_prompt(m, CLEAN, tokens=tokens)

    s = timed(steered, 5)
    print(f"steered trace {1000 * s:.0f} ms vs plain {1000 * one:.0f} ms: {s / one:.2f}x "
          f"(one slider step while dragging)")


if __name__ == "__main__":
    main()
