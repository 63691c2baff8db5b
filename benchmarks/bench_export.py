"""Export figures: a 4K PNG of the full 49,152-token scene, and the 31-layer sweep at 1080p,
each against a bare pyqtgraph renderToArray of the same scene in the same run.

    xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX" .venv/bin/python benchmarks/bench_export.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

ARTICLE = "John and Mary went to the bar. John bought a drink for"


def main() -> None:
    from PySide6.QtCore import QSettings

    from spherescope.app import make_app

    app = make_app()
    from spherescope.render.animation import LayerSweep
    from spherescope.widgets.export_dialog import ExportOptions
    from spherescope.app import build_main_window

    tmp = Path(tempfile.mkdtemp())
    win = build_main_window(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    win.start()

    def wait(cond):
        while not cond():
            app.processEvents()
            time.sleep(0.001)  # harness only

    wait(lambda: win.session.vocab is not None)
    win.prompt_dock.editor.setPlainText(ARTICLE)
    win.prompt_dock.run_button.click()
    wait(lambda: win.session.trace is not None and not win.session.busy)
    view = win.view

    ours, bare = [], []
    for _ in range(3):
        t = time.perf_counter()
        assert win.export_image(ExportOptions(str(tmp / "4k.png"), 3840, 2160, "dark", True))
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        view.renderToArray((3840, 2160))  # pyqtgraph's tiled off-screen render, no labels, no encoding
        bare.append(time.perf_counter() - t)
    print(f"4K transparent PNG export (render + labels + PNG encode + atomic write): median {statistics.median(ours):.2f} s "
          f"(target <= 3 s); bare renderToArray 3840x2160: {statistics.median(bare):.2f} s")

    sweep = LayerSweep(view, win.session, tmp / "sweep.mp4", (1920, 1080), 6)
    t = time.perf_counter()
    sweep.run_blocking()
    per_frame = (time.perf_counter() - t) / sweep.total
    bare = []
    for _ in range(5):
        t = time.perf_counter()
        view.renderToArray((1920, 1080))
        bare.append(time.perf_counter() - t)
    b = statistics.median(bare)
    print(f"MP4 sweep of {sweep.total} layers at 1920x1080: {per_frame:.3f} s per frame; bare renderToArray "
          f"{b:.3f} s per frame; ratio {per_frame / b:.2f}")
    win.close()
    from spherescope.workers import wait_for_orphans

    wait_for_orphans()


if __name__ == "__main__":
    main()
