"""A prompt set's bundle on the sphere: what 1,000 thin paths cost a slider step.

    xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX" .venv/bin/python benchmarks/bench_bundle.py

The same 3-D view at 1280x800 with one prompt's trajectory, then with a bundle of N
prompts' paths (31 layers each, random walks on the sphere) added: the median time from
a layer change to the frame on screen, and the ratio to the view without the bundle
(the baseline, in this run); the same for a frame of the camera orbiting. Also the time set_bundle takes to take N paths in (the
upload when a set finishes or grows by a batch).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PySide6.QtWidgets import QApplication

from harness import to_frame

LAYERS = 31


def paths(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=0.15, size=(n, LAYERS, 3)) + np.array([1.0, 0.2, 0.1])
    pts = np.cumsum(steps, axis=1)
    return (pts / np.linalg.norm(pts, axis=2, keepdims=True)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    ap.add_argument("--steps", type=int, default=80)
    args = ap.parse_args()
    from spherescope.render.sphere_view import SphereView

    app = QApplication.instance() or QApplication([])
    view = SphereView()
    view.resize(1280, 800)
    view.show()
    while view.windowHandle() is None or not view.windowHandle().isExposed():
        app.processEvents()
    one = paths(1, seed=9)[0]
    view.set_trajectory(one, np.linspace(5, 400, LAYERS), np.full(LAYERS, 0.5), LAYERS - 1)

    def frame(change) -> float:
        return to_frame(app, view, change)

    def step_ms() -> float:
        times = [frame(lambda i=i: view.set_current(i % LAYERS)) for i in range(args.steps)][10:]
        return 1000 * statistics.median(times)

    def orbit_ms() -> float:
        times = [frame(lambda: view.orbit(2.0, 0.0)) for _ in range(40)][5:]
        return 1000 * statistics.median(times)

    for _ in range(10):
        frame(lambda: None)
    bare = step_ms()
    bare_orbit = orbit_ms()
    print(f"slider step, one prompt's trajectory (the baseline): median {bare:.1f} ms to the frame; "
          f"orbit frame {bare_orbit:.1f} ms")
    for n in args.sizes:
        p = paths(n)
        t0 = time.perf_counter()
        view.set_bundle(p, np.median(p, axis=0), np.arange(n) % 7 == 0)
        took = 1000 * (time.perf_counter() - t0)
        first = 1000 * frame(lambda: None)
        ms = step_ms()
        orbit = orbit_ms()
        print(f"bundle of {n:,} paths: set_bundle {took:.0f} ms, first frame {first:.0f} ms; slider step median "
              f"{ms:.1f} ms, {ms / bare:.2f}x the baseline; orbit frame {orbit:.1f} ms, {orbit / bare_orbit:.2f}x")
    view.set_bundle(np.zeros((0, 1, 3), np.float32), np.zeros((0, 3), np.float32))


if __name__ == "__main__":
    main()
