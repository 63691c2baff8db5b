"""Starting the desktop app: QApplication, theme, and the main window.

Only Qt and pyqtgraph are imported here; torch and transformers are imported by the
worker thread when the first model loads, so the window appears first.
"""

from __future__ import annotations

import gc
import os
import sys
import time


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
    # No multisampling: under software OpenGL it doubles the cost of every frame
    # (measured 60 ms vs 28 ms at 1280x800); points are round sprites and lines use
    # GL line smoothing, so the picture stays smooth without it.
    fmt.setSamples(0)
    fmt.setDepthBufferSize(24)
    QSurfaceFormat.setDefaultFormat(fmt)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    # Qt paints a window that asked for an update only after a 5 ms timer (to gather
    # requests), on platforms without a compositor's frame clock, such as X11 under
    # software OpenGL. Requests made in one pass of the event loop are still gathered
    # with 0; a layer step reached the screen ~2 ms sooner (measured 10.5 vs 12.8 ms).
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

    Each collection holds the GIL and so stalls the window. Measured with torch and a
    model loaded: pyqtgraph's collector (every 0.5 s) spent 30-56 ms per young
    collection and 163 ms in one middle one while a model loaded, and its full
    collections scan the whole heap. So: collect often (every 50 ms, small young
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


def build_main_window(settings=None, load_options: dict | None = None, model: str | None = None):
    """The composition root: a session, the controller with its job runner, the 3-D
    view and the binding between session and view, and the window that shows them.
    `model`: the one the window will load first (default: the last one used)."""
    from PySide6.QtCore import QSettings

    from spherescope.widgets.main_window import MainWindow

    settings = settings if settings is not None else QSettings("spherescope", "spherescope")
    session, controller, view, binding = _compose(settings, load_options, model)
    return MainWindow(session, controller, view, binding, settings, model=model)


# What the window needs beyond Qt, imported on a thread while its frame is on screen:
# together ~0.4 s on the reference machine (pyqtgraph alone 0.14 s), which would
# otherwise hold up the first paint or stall the GUI thread after it.
_DEFERRED_IMPORTS = (
    "numpy", "pyqtgraph", "pyqtgraph.opengl", "OpenGL.GL", "spherescope.state.session", "spherescope.controller",
    "spherescope.render.binding", "spherescope.render.sphere_window", "spherescope.widgets.prompt_dock",
    "spherescope.widgets.layer_dock", "spherescope.widgets.basis_dock", "spherescope.widgets.lessons",
)


STEP_GAP_MS = 15  # between assembly steps: time for the window to paint what the last step added
GL_WAIT_MS = 2000  # the longest model work waits for the view's shaders


def launch_main_window(settings=None, load_options: dict | None = None, model: str | None = None):
    """The window as a launch shows it: its frame maps at once, the rest of the app is
    imported on a thread meanwhile, and the window is assembled in steps of a few tens
    of milliseconds each (MainWindow.assembly), so it paints and answers throughout.
    Calls made before it is complete (start, open_scene) wait for it (when_built)."""
    import importlib
    import threading

    from PySide6.QtCore import QSettings, QTimer

    from spherescope import runtime
    from spherescope.widgets.main_window import MainWindow

    settings = settings if settings is not None else QSettings("spherescope", "spherescope")
    win = MainWindow(settings=settings, model=model)
    done, failed = threading.Event(), []

    def imports() -> None:
        runtime.yield_during_imports()  # hand the GIL to the window between modules
        try:
            for name in _DEFERRED_IMPORTS:
                importlib.import_module(name)
            from spherescope.render.gl_setup import prepare_gl

            prepare_gl()
        except BaseException as exc:  # noqa: BLE001  (re-raised on the GUI thread)
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=imports, name="spherescope-imports", daemon=True).start()

    def advance(steps) -> None:
        if win.closed_early:
            steps.close()  # runs the generator's clean-up: a worker already started is shut down
            return
        if next(steps, None) is not None:
            QTimer.singleShot(STEP_GAP_MS, lambda: advance(steps))

    def assemble() -> None:
        if win.closed_early:
            return
        if not done.is_set():
            QTimer.singleShot(5, assemble)
            return
        if failed:
            raise failed[0]

        def steps():
            # Model work (torch's import, the load) starts once the view has compiled its
            # shaders (SphereScene._warm_up): on two cores, both at once made each
            # compile three times slower, and each is one long pause of the GUI thread.
            # So the window is released (start, open_scene) then, or after GL_WAIT_MS.
            parts = yield from _compose_in_steps(settings, load_options, win.start_model)
            controller, view = parts[1], parts[2]
            view.hold_warm_up(True)  # its compiles after the window's parts, not among them

            def release() -> None:
                if not win.built:
                    # The warm-up first (torch's libraries loaded without the GIL, the
                    # tokenizer parsed once): the load that `start` asks for next would
                    # otherwise import torch and parse the tokenizer itself, holding the
                    # GIL for ~0.25 s and ~0.1 s (measured pauses of the window).
                    controller.warm_up()
                    win.release()

            def gl_ready() -> None:
                view.gl_ready.disconnect(gl_ready)
                QTimer.singleShot(0, release)

            view.gl_ready.connect(gl_ready)
            try:
                yield "composed"
                yield from win.assembly(*parts, lazy_lessons=True, release=False)
            except GeneratorExit:
                controller.shutdown()
                raise
            view.hold_warm_up(False)
            if view.gl_warm:
                release()
            QTimer.singleShot(GL_WAIT_MS, release)  # a view never exposed (minimised) compiles nothing

        advance(steps())

    QTimer.singleShot(0, assemble)
    return win


def _compose_in_steps(settings, load_options, model):
    """_compose for a launch, yielding between its parts; returns them (yield from)."""
    from spherescope.controller import Controller
    from spherescope.render.binding import ViewBinding
    from spherescope.render.sphere_window import SphereWindow
    from spherescope.state.session import Session
    from spherescope.widgets.window_settings import remembered_model

    session = Session()
    controller = Controller(session, load_options, expect=model or remembered_model(settings), warm=False)
    try:
        yield "controller"
        view = SphereWindow()
        yield "view"
    except GeneratorExit:  # the window closed meanwhile: stop the worker it started
        controller.shutdown()
        raise
    return session, controller, view, ViewBinding(session, view)


def _compose(settings, load_options, model, warm: bool = True):
    from spherescope.controller import Controller
    from spherescope.render.binding import ViewBinding
    from spherescope.render.sphere_window import SphereWindow
    from spherescope.state.session import Session
    from spherescope.widgets.window_settings import remembered_model

    session = Session()
    controller = Controller(session, load_options, expect=model or remembered_model(settings), warm=warm)
    view = SphereWindow()
    return session, controller, view, ViewBinding(session, view)


def run_app(model: str | None = None, prompt: str | None = None, scene: str | None = None, device: str = "auto",
            dtype: str | None = None, allow_pickle: bool = False, snapshot: str | None = None,
            ignore_memory: bool = False) -> int:
    from spherescope.display import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"spherescope: error: {problem}", file=sys.stderr)
        return 1
    if snapshot:
        if not (prompt or scene):
            print("spherescope: error: --snapshot needs a scene file or --prompt to trace", file=sys.stderr)
            return 2
        from spherescope.core.atomic import check_writable

        check_writable(snapshot)  # before a window and a worker exist, and before a slow load
        if scene and not prompt:
            from spherescope.state.scene import SceneError, load_scene

            try:
                if not load_scene(scene).prompt.strip():
                    print("spherescope: error: the scene has no prompt, so there is nothing to trace for "
                          "--snapshot; add --prompt", file=sys.stderr)
                    return 1
            except SceneError as exc:
                print(f"spherescope: error: cannot open the scene: {exc}", file=sys.stderr)
                return 1
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
        from PySide6.QtCore import QTimer

        def report() -> None:
            handle = win.windowHandle()
            if handle is not None and handle.isExposed():
                print(f"spherescope: window shown at {time.time():.3f}", flush=True)
            else:
                QTimer.singleShot(1, report)

        QTimer.singleShot(0, report)
    story = not (prompt or scene or snapshot) and win.first_launch()
    win.start(model=model, prompt=None if scene else prompt)
    if story:
        win.when_built(win.tell_the_story)
    if scene:  # `spherescope talk.spherescope`, as a file manager's double-click runs it
        win.open_scene(scene)
    from spherescope.workers import wait_for_orphans

    app.aboutToQuit.connect(wait_for_orphans)
    return app.exec()


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
