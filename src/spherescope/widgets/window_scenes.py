"""The main window's scenes, models and drops: saving and opening scenes, the model
dialog, and files dropped on the window. A mixin of MainWindow."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog


class WindowScenes:
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

