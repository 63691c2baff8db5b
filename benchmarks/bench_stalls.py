"""GUI-thread stalls from the window's creation until the article's prompt is traced, in
fresh processes, as a user's launch is: a 5 ms timer on the GUI thread records every gap
between its ticks. Reports the longest gap after the window is first shown (the issue's
bar: none over 100 ms, never over 250 ms), where each long gap fell (before the window
showed, during the load, the first cloud draw, the run, a model switch), and against an
idle window's longest gap over the same time (the machine's own noise).

    xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX" .venv/bin/python benchmarks/bench_stalls.py [runs] [--why]

--why samples the GUI thread's Python stack whenever it has not ticked for 60 ms and
prints the lines where the long gaps were spent (a diagnostic, slower).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

ARTICLE = "John and Mary went to the bar. John bought a drink for"

_CHILD = r"""
import json, os, sys, threading, time, traceback
kind, ini, seconds, why = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
t_start = time.perf_counter()
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
if kind == "idle":
    from PySide6.QtWidgets import QApplication, QMainWindow
    app = QApplication([])
else:
    from spherescope.app import make_app, launch_main_window
    app = make_app()
ticks = []  # (time since start in ms, gap in ms, phase)
phase = ["building"]
clock = QElapsedTimer(); clock.start(); last = [clock.elapsed()]
def tick():
    now = clock.elapsed(); ticks.append((now, now - last[0], phase[0])); last[0] = now
timer = QTimer(); timer.setTimerType(timer.timerType().PreciseTimer); timer.timeout.connect(tick); timer.start(5)
samples = {}
if why:
    gui = threading.get_ident()
    def watch():
        while True:
            time.sleep(0.01)
            if clock.elapsed() - last[0] > 60:
                frames = sys._current_frames()
                for tid, fr in frames.items():
                    if tid not in (gui, threading.get_ident()):
                        inner = traceback.extract_stack(fr)[::-1][:3]
                        where = "  [other] " + " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in inner)
                        where = f"@{(clock.elapsed() // 100) * 100} {where}"
                        samples[where] = samples.get(where, 0) + 1
                frame = frames.get(gui)
                if frame is not None:
                    stack = traceback.extract_stack(frame)
                    inner = stack[::-1]
                    ours = [f for f in inner if "spherescope" in f.filename][:3]
                    where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in inner[:2] + ours)
                    where = f"@{(clock.elapsed() // 100) * 100} {where}"
                    samples[where] = samples.get(where, 0) + 1
    threading.Thread(target=watch, daemon=True).start()
if kind == "idle":
    win = QMainWindow(); win.resize(1400, 860)
else:
    win = launch_main_window(settings=QSettings(ini, QSettings.Format.IniFormat))  # as `spherescope` launches
win.show()
marks = {}
def done():
    return time.perf_counter() - t0 > seconds if kind == "idle" else marks.get("traced")
t0 = time.perf_counter()
if kind != "idle":
    def hook():
        s = win.session
        marks["built"] = clock.elapsed()
        s.vocab_changed.connect(lambda v: v is not None and (marks.setdefault("loaded", clock.elapsed()), phase.__setitem__(0, "cloud")))
        s.trace_started.connect(lambda *_: (marks.setdefault("run", clock.elapsed()), phase.__setitem__(0, "run")))
        s.trace_finished.connect(lambda *_: marks.setdefault("traced", clock.elapsed()))
    win.when_built(hook)
    win.start(prompt=sys.argv[5])
while not (win.windowHandle() is not None and win.windowHandle().isExposed()):
    app.processEvents()
marks["shown"] = clock.elapsed(); phase[0] = "assembly"
def phase_load():
    phase[0] = "load"
if kind != "idle":
    win.when_built(phase_load)
end = time.perf_counter() + 600
while not done() and time.perf_counter() < end:
    app.processEvents(); time.sleep(0.001)
settle = time.perf_counter() + 0.5
while time.perf_counter() < settle:
    app.processEvents(); time.sleep(0.001)
if kind != "idle" and len(sys.argv) > 6:  # a model switch: the same model loaded again
    phase[0] = "switch"; marks.pop("traced", None)
    win.controller.load(sys.argv[6]); win.controller.run(sys.argv[5])
    end = time.perf_counter() + 600
    while not marks.get("traced") and time.perf_counter() < end:
        app.processEvents(); time.sleep(0.001)
after = [(t, g, p) for t, g, p in ticks if t > marks["shown"]]
print(json.dumps({"seconds": time.perf_counter() - t0, "marks": marks, "top": sorted(after, key=lambda x: -x[1])[:6],
                  "before_shown": max((g for t, g, p in ticks if t <= marks["shown"]), default=0),
                  "why": sorted(samples.items(), key=lambda kv: -kv[1])[:12]}), flush=True)
os._exit(0)
"""


def child(kind: str, ini: str, seconds: float = 0.0, why: bool = False, switch: str | None = None) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    args = [sys.executable, "-c", _CHILD, kind, ini, str(seconds), "1" if why else "0", ARTICLE]
    if switch:
        args.append(switch)
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    why = "--why" in sys.argv
    runs = int(argv[0]) if argv else 5
    ini = os.path.join(tempfile.mkdtemp(), "bench.ini")
    worst, idle = [], []
    over100 = 0
    for i in range(runs):
        r = child("app", ini, why=why, switch="embedded" if i == 0 else None)
        top = r["top"]
        worst.append(top[0][1])
        over100 += sum(1 for _t, g, _p in top if g > 100)
        idle.append(child("idle", ini, r["seconds"])["top"][0][1])
        m = r["marks"]
        print(f"run {i + 1}: shown at {m['shown']} ms, built {m.get('built', '-')}, loaded {m.get('loaded', '-')}, traced {m.get('traced', '-')}; "
              f"longest gaps after shown: " + ", ".join(f"{g} ms ({p} @{t})" for t, g, p in top[:4])
              + f"; longest before shown {r['before_shown']} ms")
        for where, n in r["why"]:
            print(f"    {n:3d} x {where}")
    print(f"longest GUI-thread gap after the window is shown, {runs} fresh processes (launch, load, first cloud, "
          f"run; the first also a model switch): median {statistics.median(worst):.0f} ms, worst {max(worst):.0f} ms "
          f"(bars: 100 / 250 ms); gaps over 100 ms among the top six of each run: {over100}")
    print(f"idle window over the same time: median {statistics.median(idle):.0f} ms, worst {max(idle):.0f} ms")


if __name__ == "__main__":
    main()
