"""Soak: the window runs 150 different prompts with the real model, scrubbing the layer
slider, switching positions and cancelling every seventh run midway. Prints RSS every
10 runs, its growth after the first 20 (target < 5 %), and every Python exception or Qt
warning seen (target: none).

    xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX" .venv/bin/python benchmarks/bench_soak.py [RUNS]
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import time
import traceback

NAMES = ["John", "Mary", "Ada", "Alan", "Grace", "Linus", "Emmy", "Kurt", "Marie", "Niels"]
PLACES = ["the bar", "the shop", "the lab", "Paris", "the station", "the park", "the library"]
THINGS = ["a drink", "a book", "the keys", "an apple", "a ticket", "flowers", "a letter"]
ODD = ["naïve café", "日本語のテキスト", "emoji 🚀 rocket", "tabs\tand  spaces", "math ∑ ∫ √2", "Ωmega — dash"]


def prompts(n: int) -> list[str]:
    out = []
    for i in range(n):
        a, b = NAMES[i % len(NAMES)], NAMES[(i * 3 + 1) % len(NAMES)]
        place, thing = PLACES[i % len(PLACES)], THINGS[(i * 5) % len(THINGS)]
        text = f"{a} and {b} went to {place}. {a} gave {thing} to"
        if i % 4 == 1:
            text = f"{ODD[i % len(ODD)]}: " + text
        if i % 5 == 2:
            text = " ".join([text] * (1 + i % 4))  # up to ~70 tokens
        out.append(text + f" ({i})" * (i % 2))
    return out


def rss_mb() -> float:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    sys.path.insert(0, os.path.dirname(__file__))
    from harness import wait_until
    from PySide6.QtCore import QSettings, Qt, QtMsgType, qInstallMessageHandler
    from PySide6.QtTest import QTest

    from spherescope.app import build_main_window, make_app

    problems: list[str] = []

    def on_qt(kind, context, message):
        if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg:
            problems.append(f"Qt {kind.name}: {message}")

    def on_exception(exc_type, exc, tb):
        problems.append("".join(traceback.format_exception(exc_type, exc, tb)))

    qInstallMessageHandler(on_qt)
    sys.excepthook = on_exception
    threading.excepthook = lambda a: on_exception(a.exc_type, a.exc_value, a.exc_traceback)

    app = make_app()
    ini = os.path.join(tempfile.mkdtemp(), "soak.ini")
    win = build_main_window(settings=QSettings(ini, QSettings.Format.IniFormat))
    win.show()
    win.start()
    wait = lambda cond, timeout=300: wait_until(app, cond, timeout)
    s = win.session
    wait(lambda: s.vocab is not None and not s.busy)
    dock, chips, slider = win.prompt_dock, win.prompt_dock.chips, win.layer_dock.slider
    first_frame = {"seen": False}
    s.frame_added.connect(lambda *_: first_frame.__setitem__("seen", True))

    samples: list[tuple[int, float]] = [(0, rss_mb())]
    cancelled = completed = 0
    t0 = time.perf_counter()
    for i, text in enumerate(prompts(runs), start=1):
        dock.editor.setPlainText(text)
        first_frame["seen"] = False
        QTest.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        if i % 7 == 0:  # cancel midway: after the first layer arrives, before the last
            wait(lambda: first_frame["seen"] or not s.busy)
            QTest.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
            wait(lambda: not s.busy)
            cancelled += 1
        else:
            wait(lambda: not s.busy and s.trace is not None)
            completed += 1
            top = slider.maximum()
            for layer in range(0, top + 1, max(1, top // 10)):  # scrub
                slider.setValue(layer)
                app.processEvents()
            n = chips.count()
            for pos in (0, n // 2, n - 1):  # follow other positions, as a click on a chip does
                rect = chips.visualItemRect(chips.item(pos))
                chips.scrollToItem(chips.item(pos))
                rect = chips.visualItemRect(chips.item(pos))
                QTest.mouseClick(chips.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
                wait(lambda pos=pos: pos in s.lens_by_position)
        if i % 10 == 0:
            gc.collect()
            wait(lambda: not s.busy)
            samples.append((i, rss_mb()))
            print(f"after {i:3d} runs: RSS {samples[-1][1]:.0f} MB  ({time.perf_counter() - t0:.0f} s)", flush=True)

    base = dict(samples).get(20, samples[0][1])
    last = samples[-1][1]
    print(f"\n{runs} prompts: {completed} completed, {cancelled} cancelled midway, in {time.perf_counter() - t0:.0f} s")
    print(f"RSS after 20 runs {base:.0f} MB, after {runs} {last:.0f} MB: growth {100 * (last / base - 1):+.1f} % "
          f"(target < 5 %); start {samples[0][1]:.0f} MB")
    print(f"Python exceptions and Qt warnings: {len(problems)} (target 0)")
    for p in problems[:20]:
        print("  " + p.strip().replace("\n", "\n  "))
    win.close()
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
