"""The composition root: a session, the controller with its job runner, the 3-D view, the
binding between session and view, and the window that shows them; at once
(`build_main_window`) or, for a launch, in steps the window paints between
(`launch_main_window`)."""

from __future__ import annotations

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


def build_main_window(settings=None, load_options: dict | None = None, model: str | None = None):
    """The window, assembled at once. `model`: the one it will load first (default: the
    last one used)."""
    from PySide6.QtCore import QSettings

    from spherescope.widgets.main_window import MainWindow

    settings = settings if settings is not None else QSettings("spherescope", "spherescope")
    session, controller, view, binding = _compose(settings, load_options, model)
    return MainWindow(session, controller, view, binding, settings, model=model)


def launch_main_window(settings=None, load_options: dict | None = None, model: str | None = None):
    """The window as a launch shows it: its frame maps at once, the rest of the app is
    imported on a thread meanwhile, and the window is assembled in steps of a few tens
    of milliseconds each (MainWindow.assembly), so it paints and answers throughout.
    Calls made before it is complete (start, open_scene) wait for it (when_built)."""
    from PySide6.QtCore import QSettings, QTimer

    from spherescope.widgets.main_window import MainWindow

    settings = settings if settings is not None else QSettings("spherescope", "spherescope")
    win = MainWindow(settings=settings, model=model)
    launch = _Launch(win, settings, load_options)
    QTimer.singleShot(0, launch.assemble)
    win._launch = launch  # kept alive with the window
    return win


class _Launch:
    """The steps of a launch, each run from the event loop."""

    def __init__(self, win, settings, load_options) -> None:
        import threading

        self.win, self.settings, self.load_options = win, settings, load_options
        self.done, self.failed = threading.Event(), []
        threading.Thread(target=self._imports, name="spherescope-imports", daemon=True).start()

    def _imports(self) -> None:
        import importlib

        from spherescope import runtime

        runtime.yield_during_imports()  # hand the GIL to the window between modules
        try:
            for name in _DEFERRED_IMPORTS:
                importlib.import_module(name)
            from spherescope.render.gl_setup import prepare_gl

            prepare_gl()
        except BaseException as exc:  # noqa: BLE001  (re-raised on the GUI thread)
            self.failed.append(exc)
        finally:
            self.done.set()

    def assemble(self) -> None:
        from PySide6.QtCore import QTimer

        if self.win.closed_early:
            return
        if not self.done.is_set():
            QTimer.singleShot(5, self.assemble)
            return
        if self.failed:
            raise self.failed[0]
        self._advance(self._steps())

    def _advance(self, steps) -> None:
        from PySide6.QtCore import QTimer

        if self.win.closed_early:
            steps.close()  # runs the generator's clean-up: a worker already started is shut down
            return
        if next(steps, None) is not None:
            QTimer.singleShot(STEP_GAP_MS, lambda: self._advance(steps))

    def _steps(self):
        """Model work (torch's import, the load) starts once the view has compiled its
        shaders (SphereScene._warm_up): on two cores, both at once made each compile
        three times slower, and each is one long pause of the GUI thread. So the window
        is released (start, open_scene) then, or after GL_WAIT_MS."""
        from PySide6.QtCore import QTimer

        win = self.win
        parts = yield from _compose_in_steps(self.settings, self.load_options, win.start_model)
        controller, view = parts[1], parts[2]
        view.hold_warm_up(True)  # its compiles after the window's parts, not among them
        self._controller = controller

        def gl_ready() -> None:
            view.gl_ready.disconnect(gl_ready)
            QTimer.singleShot(0, self._release)

        view.gl_ready.connect(gl_ready)
        try:
            yield "composed"
            yield from win.assembly(*parts, lazy_lessons=True, release=False)
        except GeneratorExit:
            controller.shutdown()
            raise
        view.hold_warm_up(False)
        if view.gl_warm:
            self._release()
        QTimer.singleShot(GL_WAIT_MS, self._release)  # a view never exposed (minimised) compiles nothing

    def _release(self) -> None:
        if not self.win.built:
            # The warm-up first (torch's libraries loaded without the GIL, the tokenizer
            # parsed once): the load that `start` asks for next would otherwise import
            # torch and parse the tokenizer itself, holding the GIL for ~0.25 s and ~0.1 s.
            self._controller.warm_up()
            self.win.release()


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
