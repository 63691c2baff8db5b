"""The main window's exports: the 3-D view as an image or an animation, and any dock or
the whole window as PNG or SVG. A mixin of MainWindow: it uses the window's session,
controller, view and binding, and reports through the controller's message bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from spherescope.core.atomic import WriteError

# The rendering modules are imported where they are used: this mixin is part of the
# window's class, which must import quickly (the window maps before numpy, pyqtgraph
# and OpenGL are imported; app.launch_main_window).


class WindowExports:
    sweep = None  # the running animation export, if any

    def show_export_dialog(self, animation: bool = False, dock: str | None = None):
        """Export Image / Export Animation of the 3-D view, or (`dock`) a lesson's figure."""
        from spherescope.widgets.export_dialog import ExportDialog

        kind = "figure" if dock else ("animation" if animation else "image")
        name = {"figure": f"spherescope-{dock}.png", "animation": "spherescope.mp4", "image": "spherescope.png"}[kind]
        dlg = ExportDialog((self.view.width(), self.view.height()), animation, self.session.appearance.style,
                           str(Path.home() / name), self, kind=kind, annotations=self.export_annotations)
        dlg.setObjectName("exportDialog")
        act = {"figure": lambda: self.export_figure(dock, dlg.options()), "animation": lambda: self.export_animation(dlg.options()),
               "image": lambda: self.export_image(dlg.options())}[kind]
        dlg.accepted.connect(act)
        dlg.open()
        return dlg

    def export_image(self, opts) -> bool:
        from spherescope.render.figure import save_figure, sphere_image

        self.export_annotations = opts.annotations
        if not opts.path:
            self.controller.notify("Choose a file to export to.", True)
            return False
        try:
            img = sphere_image(self.binding, opts.width, opts.height, opts.style, opts.transparent, opts.annotations,
                               opts.apply_alpha)
            save_figure(img, opts.path)
        except (WriteError, ValueError, RuntimeError) as exc:
            self.controller.notify(f"Export failed: {exc}", True)
            return False
        self.controller.notify(f"Saved {opts.width}×{opts.height} image to {opts.path}", False)
        return True

    def export_figure(self, dock: str, opts) -> bool:
        """A lesson dock's plot or table alone, in the chosen size and style (a fresh copy
        of the dock draws it, so one hidden behind another tab exports whole)."""
        from spherescope.widgets.figures import save_lesson_figure, view_for_dock

        view = view_for_dock(dock, self.session)
        if view is None:
            self.controller.notify(f"The {dock} panel has no figure to export; use Export Window.", True)
            return False
        if not opts.path:
            self.controller.notify("Choose a file to export to.", True)
            return False
        if view == "roundtrip" and self.session.roundtrip.scores is None:
            # Nothing computed yet for a tab nobody opened: ask, and export when it comes.
            def when_ready(scores) -> None:
                if scores is not None:
                    self.session.roundtrip.scores_changed.disconnect(when_ready)
                    self.export_figure(dock, opts)

            self.session.roundtrip.scores_changed.connect(when_ready)
            self.session.roundtrip.wanted = True
            self.controller.request_roundtrip()
            self.controller.notify("Computing the round trip for the figure…", False)
            return True
        if view == "attribution" and self.session.attribution is None and self.session.trace is not None \
                and len(self.session.plane_tokens):
            # Computed only while its tab is open: ask, and export when it comes.
            def when_attributed(at) -> None:
                if at is not None:
                    self.session.attribution_changed.disconnect(when_attributed)
                    self.export_figure(dock, opts)

            self.session.attribution_changed.connect(when_attributed)
            self.session.attribution_wanted = True
            self.controller.notify("Computing what moved it for the figure…", False)
            return True
        try:
            save_lesson_figure(self.session, view, opts.path, opts.width, opts.height, opts.style, opts.transparent,
                               opts.annotations, steer=self._steer_curve())
        except (WriteError, ValueError, RuntimeError) as exc:
            self.controller.notify(f"Export failed: {exc}", True)
            return False
        self.controller.notify(f"Saved {opts.width}×{opts.height} {view} figure to {opts.path}", False)
        return True

    def export_animation(self, opts):
        from spherescope.render.animation import LayerSweep

        if self.sweep is not None:
            self.controller.notify("An animation export is already running.", True)
            return None
        view_style = self.view.style.name
        try:
            if opts.style != view_style:
                self.binding.on_style(opts.style)
            sweep = LayerSweep(self.binding, opts.path, (opts.width, opts.height), opts.fps, opts.orbit_degrees,
                               opts.seconds_per_layer, style_name=opts.style, annotations=opts.annotations,
                               apply_alpha=opts.apply_alpha)
        except (WriteError, ValueError) as exc:
            self.binding.on_style(view_style)
            self.controller.notify(f"Export failed: {exc}", True)
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
            self.binding.on_style(view_style)
            dlg.reset()
            dlg.hide()
            if message:
                self.controller.notify(message, error)

        from spherescope.render.export import animation_size_note

        sweep.done.connect(lambda path: finished(
            f"Saved {sweep.total}-frame animation to {path}, {animation_size_note(path)}", False))
        sweep.failed.connect(lambda msg: finished(f"Animation export failed: {msg}", True))
        sweep.cancelled.connect(lambda: finished("Animation export cancelled; nothing was written.", False))
        self.sweep, self.progress_dialog = sweep, dlg
        dlg.show()
        sweep.start()
        return sweep

    def _export_dock(self, key: str) -> None:
        from spherescope.widgets.figures import view_for_dock

        problem = self.dock_figure_problem(key)
        if problem is not None:  # the menu item is disabled then; a shortcut or a script may still come here
            self.controller.notify(f"Nothing to export: {problem}.", True)
        elif view_for_dock(key, self.session) is not None:
            self.show_export_dialog(dock=key)
        else:
            self._export_widget_dialog(self.docks[key].widget(), key)

    def dock_figure_problem(self, key: str) -> str | None:
        """Why a dock's figure cannot be drawn now, or None (Export Dock's menu)."""
        from spherescope.widgets.figures import figure_problem, view_for_dock

        view = view_for_dock(key, self.session)
        if view is None:
            return None  # a panel without a figure: a picture of the widget
        if view == "roundtrip" and self.session.trace is not None:
            return None  # computed on demand (export_figure asks for it)
        if view == "attribution" and self.session.trace is not None and len(self.session.plane_tokens):
            return None  # the same
        return figure_problem(self.session, view, self._steer_curve())

    def _steer_curve(self):
        """The Steer dock's runs so far, as the curve its figure draws."""
        return self.docks["steer"].widget().dose_curve() if "steer" in self.docks else None

    def _update_dock_menu(self, menu) -> None:
        """Export Dock offers what can be drawn now; the rest say why not."""
        for action in menu.actions():
            key = action.data()
            problem = self.dock_figure_problem(key)
            title = self.docks[key].windowTitle()
            action.setEnabled(problem is None)
            action.setText(f"{title}…" if problem is None else f"{title} ({problem})")

    def _export_widget_dialog(self, widget: QWidget, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {name}", str(Path.home() / f"spherescope-{name}.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export_widget(widget, path)

    def export_widget(self, widget: QWidget, path: str) -> bool:
        from spherescope.render.export import save_widget

        try:
            save_widget(widget, path)
        except WriteError as exc:
            self.controller.notify(f"Export failed: {exc}", True)
            return False
        self.controller.notify(f"Saved {path}", False)
        return True

    DATA_VIEWS = (("sphere", "Trajectory (norms and lens)"), ("plane", "Token plane"), ("attribution", "What moved it"),
                  ("norms", "Norms (every position)"), ("closest", "Closest?"), ("confidence", "Confidence (α curve)"),
                  ("heads", "Heads (the block's attention)"), ("patching", "Patching grid"),
                  ("head-patching", "Head patching grid"), ("compare", "Compare (logit differences)"),
                  ("token-norms", "Token norms"), ("steer", "Steer (α curve)"),
                  ("set", "Prompt set (every prompt, every layer)"), ("set-patching", "Prompt set patching grid"),
                  ("set-head-patching", "Prompt set head patching grid"), ("set-steering", "Prompt set steering (α curve)"))

    def _export_data_dialog(self, view: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export data", str(Path.home() / f"spherescope-{view}.csv"),
                                                   "CSV table (*.csv);;JSON records (*.json)")
        if path:
            if not Path(path).suffix:
                path += ".json" if "JSON" in chosen else ".csv"
            self.export_data(view, path)

    def export_data(self, view: str, path: str) -> bool:
        """The numbers behind a view as CSV or JSON (by the file's suffix), with the
        Python API's column names (state.data_export)."""
        from spherescope.core.atomic import atomic_write_text
        from spherescope.state.data_export import table_text, view_table

        fmt = "json" if Path(path).suffix.lower() == ".json" else "csv"
        try:
            cols, rows = view_table(self.session, view, self._steer_curve() if view == "steer" else None)
            atomic_write_text(path, table_text(cols, rows, fmt))
        except (WriteError, ValueError) as exc:
            self.controller.notify(f"Export failed: {exc}", True)
            return False
        self.controller.notify(f"Saved {len(rows):,} rows of {view} data to {path}", False)
        return True

    def copy_view_image(self) -> None:
        QGuiApplication.clipboard().setImage(self.view.grab_image())
        self.statusBar().showMessage("Copied the view to the clipboard", 3000)
