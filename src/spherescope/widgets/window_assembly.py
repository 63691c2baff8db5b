"""The main window's assembly: the view, the docks and the lesson tabs put together in
steps a launch can paint between. A mixin of MainWindow."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget


class WindowAssembly:
    def assembly(self, session, controller, view, binding, lazy_lessons: bool = False, release: bool = True):
        """Put the window together; a generator that yields between steps, each a few
        tens of milliseconds, so a launch can let the window paint and answer between
        them. Every step but the last leaves a window that paints correctly."""
        from spherescope.widgets.lessons import LESSONS

        self.session, self.controller, self.view, self.binding = session, controller, view, binding
        controller.setParent(self)
        self._assemble_view()
        yield "view"
        self._assemble_docks()
        yield "docks"
        first = self._assemble_lesson_tabs()
        yield "lesson docks"
        if not lazy_lessons:
            for key, _cls, _title in LESSONS:
                self.lessons[key]
                yield key
        first.raise_()
        self.lessons[LESSONS[0][0]]  # the tab in front
        self._tab_tooltips()
        # Docks whose numbers are computed only once someone looks at them.
        for key, (state, wanted) in (("roundtrip", (self.session.roundtrip, "wanted")),
                                     ("attribution", (self.session, "attribution_wanted")),
                                     ("heads", (self.session.heads, "wanted"))):
            self.docks[key].visibilityChanged.connect(
                lambda visible, st=state, w=wanted: visible and setattr(st, w, True))
        self._build_menus()
        self._build_layer_keys()
        self.setAcceptDrops(True)
        self._restore_settings()
        if release:
            self.release()
        yield "done"

    def _assemble_view(self) -> None:
        from spherescope.render.sphere_window import embed
        from spherescope.widgets.message_bar import MessageBar

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

    def _assemble_docks(self) -> None:
        from spherescope.widgets.basis_dock import BasisDock
        from spherescope.widgets.layer_dock import LayerDock
        from spherescope.widgets.prompt_dock import PromptDock

        session, controller = self.session, self.controller
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

    def _assemble_lesson_tabs(self) -> QDockWidget:
        """One tabbed dock per lesson, each empty until its tab first comes to the front
        (each is 20-90 ms of plots to build). Returns the first."""
        from spherescope.widgets.lessons import LESSONS

        self.lessons = _Lessons(self._make_lesson)
        self._lesson_classes = {key: cls for key, cls, _title in LESSONS}
        first = None
        for key, _cls, title in LESSONS:
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
                # In proportion to the window (330 px of a first launch's 920: the Token
                # plane's caption, controls, plot and readout, whole). The Basis dock's
                # text and eight controls need ~340 px; evenly split, the left column
                # gave it less and cut its first and last lines, while the prompt's
                # chips need less than half.
                h = max(self.height(), 400)
                self.resizeDocks([first], [round(0.36 * h)], Qt.Orientation.Vertical)
                self.resizeDocks([self.docks["prompt"], self.docks["basis"]], [round(0.6 * h), round(0.4 * h)],
                                 Qt.Orientation.Vertical)
            else:
                self.tabifyDockWidget(first, dock)
            dock.dockLocationChanged.connect(self._tab_tooltips)
            dock.visibilityChanged.connect(lambda visible, k=key: visible and self.lessons[k])
        return first

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
        widget.refresh_after(self.view.frameSwapped)
        dock = self.docks[key]
        dock.visibilityChanged.connect(widget.catch_up)
        if key == "plane":
            widget.look_down_requested.connect(self.look_down_on_plane)
        if key == "attribution":
            widget.head_requested.connect(self.show_head)
        old = dock.widget()
        dock.setWidget(widget)
        if old is not None:
            old.deleteLater()
        widget.sync()  # made after the session moved on: catch up
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
