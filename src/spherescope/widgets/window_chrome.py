"""The main window's chrome: status bar, menus, toolbar and the layer keys. A mixin of
MainWindow, built once its docks exist."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QProgressBar

from spherescope.widgets.bind import bind


class WindowChrome:
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
        self.view.bundle_hovered.connect(lambda k: setattr(self.session.sets, "hovered", int(k)))

        view_menu = mb.addMenu("&View")
        self._action(view_menu, "&Reset view", self.view.reset_view, "Ctrl+0")
        self._action(view_menu, "Look down on the token &plane", self.look_down_on_plane, "Ctrl+2",
                     "The token-plane basis, seen from straight above: the first token to the right, the second up")
        self.cloud_action = QAction("Show vocabulary &cloud", self, checkable=True)
        bind(self.cloud_action, self.session.appearance, "show_cloud")
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

