"""The main window's exports: the 3-D view as an image or an animation, and any dock or
the whole window as PNG or SVG. A mixin of MainWindow: it uses the window's session,
controller, view and binding, and reports through the controller's message bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from spherescope.core.atomic import WriteError
from spherescope.render.animation import LayerSweep
from spherescope.render.export import save_image, save_widget
from spherescope.widgets.export_dialog import ExportDialog


class WindowExports:
    sweep = None  # the running animation export, if any

    def show_export_dialog(self, animation: bool = False):
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
        if not opts.path:
            self.controller.notify("Choose a file to export to.", True)
            return False
        try:
            img = self._with_style(opts.style, lambda: self.view.render_image(opts.width, opts.height, opts.transparent))
            save_image(img, opts.path)
        except (WriteError, ValueError, RuntimeError) as exc:
            self.controller.notify(f"Export failed: {exc}", True)
            return False
        self.controller.notify(f"Saved {opts.width}×{opts.height} image to {opts.path}", False)
        return True

    def export_animation(self, opts):
        if self.sweep is not None:
            self.controller.notify("An animation export is already running.", True)
            return None
        style_before = self.session.style
        try:
            if opts.style != style_before:
                self.binding.on_style(opts.style)
            sweep = LayerSweep(self.view, self.session, opts.path, (opts.width, opts.height), opts.fps, opts.orbit_degrees)
        except (WriteError, ValueError) as exc:
            self.binding.on_style(style_before)
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
            self.binding.on_style(style_before)
            dlg.reset()
            dlg.hide()
            if message:
                self.controller.notify(message, error)

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
        try:
            save_widget(widget, path)
        except WriteError as exc:
            self.controller.notify(f"Export failed: {exc}", True)
            return False
        self.controller.notify(f"Saved {path}", False)
        return True

    def copy_view_image(self) -> None:
        QGuiApplication.clipboard().setImage(self.view.grab_image())
        self.statusBar().showMessage("Copied the view to the clipboard", 3000)

