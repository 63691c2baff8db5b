"""Export figures, each against a bare pyqtgraph renderToArray of the same scene in the same run:
a 4K PNG of the full 49,152-token scene with annotations and antialiasing, the 1080p
30 fps MP4 sweep (frames revealed and interpolated between layers), and every lesson
view's export at 1080p.

    xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX" .venv/bin/python benchmarks/bench_export.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness import wait_until

ARTICLE = "John and Mary went to the bar. John bought a drink for"
ALL = frozenset({"title", "model", "layer", "colorbar", "key", "kept"})


def main() -> None:
    from PySide6.QtCore import QSettings

    from spherescope.app import build_main_window, make_app

    app = make_app()
    from spherescope.render.animation import LayerSweep
    from spherescope.widgets.export_dialog import ExportOptions
    from spherescope.widgets.figures import LESSON_VIEWS, figure_problem, save_lesson_figure

    tmp = Path(tempfile.mkdtemp())
    win = build_main_window(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    win.start()
    wait_until(app, lambda: win.session.vocab is not None)
    win.prompt_dock.editor.setPlainText(ARTICLE)
    win.prompt_dock.run_button.click()
    wait_until(app, lambda: win.session.trace is not None and not win.session.busy and win.session.current_lesson() is not None)
    view = win.view

    ours, bare = [], []
    for _ in range(3):
        t = time.perf_counter()
        assert win.export_image(ExportOptions(str(tmp / "4k.png"), 3840, 2160, "slide", False, annotations=ALL))
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        view.renderToArray((3840, 2160))  # pyqtgraph's tiled off-screen render: no labels, no AA, no encoding
        bare.append(time.perf_counter() - t)
    mo, mb = statistics.median(ours), statistics.median(bare)
    print(f"4K PNG, slide style, annotated, 4x multisampled (render + labels + annotations + PNG encode + atomic write): "
          f"median {mo:.2f} s; bare renderToArray 3840x2160: {mb:.2f} s; ratio {mo / mb:.2f} (target <= 3)")

    win.binding.on_style("slide")
    sweep = LayerSweep(win.binding, tmp / "sweep.mp4", (1920, 1080), 30, 60, 0.25, style_name="slide", annotations=ALL)
    t = time.perf_counter()
    sweep.run_blocking()
    total = time.perf_counter() - t
    win.binding.on_style(win.session.appearance.style)
    per_frame = total / sweep.total
    bare = []
    for _ in range(5):
        t = time.perf_counter()
        view.renderToArray((1920, 1080))
        bare.append(time.perf_counter() - t)
    b = statistics.median(bare)
    video_s = sweep.total / 30
    print(f"1080p 30 fps MP4 sweep, {sweep.total} frames ({video_s:.1f} s of video, 60° orbit, annotated): "
          f"{total:.1f} s, {per_frame:.3f} s per frame; bare renderToArray {b:.3f} s per frame; "
          f"ratio {per_frame / b:.2f}; {total / video_s:.1f}x real time")

    # The GIF a speaker drops into a deck: the same sweep without an orbit, its size.
    from spherescope.render.export import animation_size_note

    sweep = LayerSweep(win.binding, tmp / "sweep.gif", (1920, 1080), 30, 0, 0.25, style_name="slide", annotations=ALL)
    t = time.perf_counter()
    sweep.run_blocking()
    total = time.perf_counter() - t
    win.binding.on_style(win.session.appearance.style)
    print(f"1080p 30 fps GIF sweep, no orbit, {sweep.total} frames: {total:.1f} s, "
          f"{animation_size_note(tmp / 'sweep.gif')} (target < 10 MB); the MP4 with a 60° orbit: "
          f"{animation_size_note(tmp / 'sweep.mp4')}")

    # What moved it and the round trip are computed when their tabs are open; compare and
    # patching need a second prompt and a grid.
    win.docks["attribution"].raise_()
    wait_until(app, lambda: win.session.attribution is not None)
    win.controller.compare("John and Mary went to the bar. Mary bought a drink for")
    wait_until(app, lambda: win.session.comparison.diffs is not None)
    win.controller.run_patching()
    wait_until(app, lambda: win.session.comparison.grid is not None and not win.session.comparison.running, 600)
    for name in LESSON_VIEWS:
        problem = figure_problem(win.session, name)
        if problem is not None:
            print(f"  lesson view {name:>11}: not drawn here ({problem})")
            continue
        times = []
        for _ in range(2):
            t = time.perf_counter()
            save_lesson_figure(win.session, name, tmp / f"{name}.png", 1920, 1080, "slide", False, ALL)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        save_lesson_figure(win.session, name, tmp / f"{name}.svg", 1920, 1080, "slide", False, ALL)
        svg = time.perf_counter() - t
        print(f"  lesson view {name:>11}: 1080p PNG {min(times):.2f} s, SVG {svg:.2f} s "
              f"({min(times) / b:.1f}x / {svg / b:.1f}x a bare 1080p 3-D render)")
    win.close()
    from spherescope.workers import wait_for_orphans

    wait_for_orphans()


if __name__ == "__main__":
    main()
