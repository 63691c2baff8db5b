"""Starting the desktop app: QApplication, theme, and the main window.

Only Qt and pyqtgraph are imported here; torch and transformers are imported by the
worker thread when the first model loads, so the window appears first.
"""

from __future__ import annotations

import gc
import os
import sys
import time

from spherescope.compose import build_main_window, launch_main_window  # noqa: F401  (the app's entry points)


def _apply_theme(app) -> None:
    from importlib.resources import files

    from PySide6.QtGui import QColor, QIcon, QPalette

    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#151923", QPalette.ColorRole.WindowText: "#c9d3ea",
        QPalette.ColorRole.Base: "#0f131b", QPalette.ColorRole.AlternateBase: "#1a202c",
        QPalette.ColorRole.Text: "#e6ecfa", QPalette.ColorRole.Button: "#243049",
        QPalette.ColorRole.ButtonText: "#e6ecfa", QPalette.ColorRole.Highlight: "#2f6fde",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#1d2330",
        QPalette.ColorRole.ToolTipText: "#e6ecfa", QPalette.ColorRole.PlaceholderText: "#6f7a94",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    res = files("spherescope.resources")
    app.setStyleSheet(res.joinpath("style.qss").read_text(encoding="utf-8"))
    icon = res.joinpath("icons", "spherescope.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def configure_qt() -> None:
    """Settings that must be made before the QApplication exists.

    Shared GL contexts matter beyond speed: pyqtgraph compiles each shader once per
    process, so a second view (a new window, an off-screen export) must share the
    first one's context or those program ids are invalid in it.
    """
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QSurfaceFormat

    from spherescope.display import choose_gl_binding

    choose_gl_binding()
    fmt = QSurfaceFormat()
    # No multisampling: under software OpenGL it doubles the cost of every frame;
    # points are round sprites and lines use GL line smoothing, so the picture stays
    # smooth without it.
    fmt.setSamples(0)
    fmt.setDepthBufferSize(24)
    QSurfaceFormat.setDefaultFormat(fmt)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    # Qt paints a window that asked for an update only after a 5 ms timer (to gather
    # requests), on platforms without a compositor's frame clock, such as X11 under
    # software OpenGL. Requests made in one pass of the event loop are still gathered
    # with 0; a layer step reaches the screen sooner (benchmarks/bench_gui.py).
    os.environ.setdefault("QT_QPA_UPDATE_IDLE_TIME", "0")


def make_app(argv: list[str] | None = None, window: bool = True):
    """The QApplication, made once. `window=False` (figures drawn for a caller's own
    process): without the window's process-wide measures, the malloc arena cap and
    the collector moved onto a GUI-thread timer."""
    from PySide6.QtWidgets import QApplication

    from spherescope import runtime

    runtime.quick_pyside_module_check()
    app = QApplication.instance()
    if app is None:
        if window:
            runtime.limit_malloc_arenas()  # before Qt's and the worker's threads exist
        configure_qt()
        app = QApplication(argv or sys.argv[:1])
        app.setApplicationName("spherescope")
        app.setOrganizationName("spherescope")
        app.setDesktopFileName("io.github.spherescope")
    if not app.property("spherescope_themed"):
        # Once per process: setting a style sheet again re-polishes every live widget
        # (seconds with a window open), and figure() calls this for every picture.
        _apply_theme(app)
        app.setProperty("spherescope_themed", True)
    if window:
        _collect_garbage_on_gui_thread()
    return app


_GC = None


class _GuiThreadCollector:
    """Python's cyclic GC runs in whichever thread happens to allocate. If it runs in
    the model worker and frees a Qt object that belongs to the GUI thread (a timer, a
    widget), Qt aborts. So automatic collection is off and a GUI-thread timer collects.

    Each collection holds the GIL and so stalls the window. With torch and a model
    loaded, pyqtgraph's collector (every 0.5 s) made visible pauses with each young
    collection and longer ones with the middle ones, and its full collections scan the
    whole heap (benchmarks/bench_stalls.py). So: collect often (every 50 ms, small young
    generations), run a full collection at most every 20 s, and the worker freezes the
    long-lived heap (torch, transformers, the model) once it is loaded (gc.freeze), so
    full collections no longer scan it.
    """

    def __init__(self, interval_ms: int = 50, full_every_s: float = 20.0) -> None:
        from PySide6.QtCore import QTimer

        self.threshold = gc.get_threshold()
        self.full_every_s = full_every_s
        self._last_full = time.monotonic()
        gc.disable()
        self.timer = QTimer()
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        c0, c1, c2 = gc.get_count()
        if c0 <= self.threshold[0]:
            return
        gc.collect(0)
        if c1 > self.threshold[1]:
            gc.collect(1)
            now = time.monotonic()
            if c2 > self.threshold[2] and now - self._last_full > self.full_every_s:
                self._last_full = now
                gc.collect(2)


def _collect_garbage_on_gui_thread() -> None:
    global _GC
    if _GC is None:
        _GC = _GuiThreadCollector()


def run_app(model: str | None = None, prompt: str | None = None, scene: str | None = None, device: str = "auto",
            dtype: str | None = None, allow_pickle: bool = False, snapshot: str | None = None,
            ignore_memory: bool = False) -> int:
    from spherescope.display import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"spherescope: error: {problem}", file=sys.stderr)
        return 1
    if snapshot:
        refusal = _snapshot_refusal(prompt, scene, snapshot)
        if refusal is not None:
            print(f"spherescope: error: {refusal[1]}", file=sys.stderr)
            return refusal[0]
    app = make_app()
    problem = _window_gl_problem()
    if problem is not None:
        print(f"spherescope: error: {problem}", file=sys.stderr)
        if not snapshot:  # started from a desktop entry, stderr is nowhere to be seen
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "spherescope", problem)
        return 1
    from spherescope.models.devices import load_options

    # Only what the command line asked for: the rest comes from the last session's choice.
    options = load_options(device, dtype, allow_pickle, ignore_memory)
    win = launch_main_window(load_options=options, model=model)
    if snapshot:  # before anything runs, so an early error is seen too
        win.when_built(lambda: _snapshot_when_traced(app, win, snapshot))
    win.show()
    if os.environ.get("SPHERESCOPE_REPORT_SHOWN"):  # launch-time measurements (packaging/smoke.sh)
        _report_when_shown(win)
    story = not (prompt or scene or snapshot) and win.first_launch()
    win.start(model=model, prompt=None if scene else prompt)
    if story:
        win.when_built(win.tell_the_story)
    if scene:  # `spherescope talk.spherescope`, as a file manager's double-click runs it
        win.open_scene(scene)
    from spherescope.workers import wait_for_orphans

    app.aboutToQuit.connect(wait_for_orphans)
    return app.exec()


def _snapshot_refusal(prompt, scene, snapshot: str) -> tuple[int, str] | None:
    """Why --snapshot cannot be done, as (exit code, sentence), before a window and a
    worker exist and before a slow load; None when it can."""
    if not (prompt or scene):
        return 2, "--snapshot needs a scene file or --prompt to trace"
    from spherescope.core.atomic import check_writable

    check_writable(snapshot)
    if scene and not prompt:
        from spherescope.state.scene import SceneError, load_scene

        try:
            if not load_scene(scene).prompt.strip():
                return 1, "the scene has no prompt, so there is nothing to trace for --snapshot; add --prompt"
        except SceneError as exc:
            return 1, f"cannot open the scene: {exc}"
    return None


def _report_when_shown(win) -> None:
    from PySide6.QtCore import QTimer

    def report() -> None:
        handle = win.windowHandle()
        if handle is not None and handle.isExposed():
            print(f"spherescope: window shown at {time.time():.3f}", flush=True)
        else:
            QTimer.singleShot(1, report)

    QTimer.singleShot(0, report)


def gl_problem() -> str | None:
    """None when Qt can make an OpenGL context current here; else one sentence. Needs
    the QGuiApplication. Asked once, before the first 3-D view is made."""
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    context, surface = QOpenGLContext(), QOffscreenSurface()
    surface.create()
    try:
        if context.create() and surface.isValid() and context.makeCurrent(surface):
            context.doneCurrent()
            return None
    finally:
        surface.destroy()
    from spherescope.display import x_has_glx

    display = os.environ.get("DISPLAY", "")
    glx = x_has_glx(display) if display else None
    why = (f"the X server at DISPLAY={display} offers no GLX and EGL did not work either" if glx is False
           else "Qt could not create an OpenGL context (no usable OpenGL driver: on Debian, install libgl1-mesa-dri "
                "and libegl1)")
    return (f"No OpenGL for the 3-D view: {why}; start Xvfb with `+extension GLX` (as xvfb-run -s \"-screen 0 "
            "1600x1000x24 +extension GLX\" or spherescope.start_virtual_display() do), or run on a desktop.")


def _window_gl_problem() -> str | None:
    """The window's 3-D view needs OpenGL. Asked in full (a test context, ~40 ms) only
    where it is in doubt, an X server that offers no GLX, so a usual launch pays ~1 ms."""
    from spherescope.display import x_has_glx

    display = os.environ.get("DISPLAY", "")
    if display and os.environ.get("QT_QPA_PLATFORM", "xcb").startswith("xcb") and x_has_glx(display) is False:
        return gl_problem()
    return None


def _snapshot_when_traced(app, win, path: str, size: tuple[int, int] = (1280, 720)) -> None:
    """`--snapshot FILE.png`: once the window's first trace is on screen, save the view
    and quit (exit 0); an error message quits with 1. The frozen build's smoke check
    uses it, and it makes a quick figure from a scene without touching a menu."""
    from PySide6.QtCore import QTimer

    s = win.session
    done = {"flag": False}

    def finish(code: int, text: str) -> None:
        if done["flag"]:
            return
        done["flag"] = True
        print(text, file=sys.stderr if code else sys.stdout, flush=True)
        # Queued: an error can arrive before the event loop runs, and exit() is only
        # heard by a running loop.
        QTimer.singleShot(0, lambda: (win.close(), app.exit(code)))

    def save() -> None:
        from spherescope.render.export import save_image

        if s.vocab is None:  # the cloud is not there yet; try again when it is
            s.vocab_changed.connect(lambda _v: save())
            return
        try:
            save_image(win.view.render_image(*size), path)
        except Exception as exc:  # noqa: BLE001 - any failure is the snapshot's answer
            finish(1, f"spherescope: error: snapshot failed: {exc}")
            return
        finish(0, f"wrote {path}: {size[0]}x{size[1]}, layer {s.layer}")

    # Queued, so the pending layer of a scene and the view are updated first.
    s.trace_finished.connect(lambda *_: QTimer.singleShot(0, save))
    win.controller.message.connect(lambda text, is_error: is_error and finish(1, f"spherescope: error: {text}"))
