"""Use case: opening a saved scene (the model, prompt, position, layer and view options)."""

from __future__ import annotations

from spherescope.core.patching import SteerSpec
from spherescope.models.errors import ModelError
from spherescope.models.source import resolve
from spherescope.state.scene import Scene, SceneError, apply_view_options, load_scene


class SceneUseCases:
    def open_scene(self, path: str) -> Scene | None:
        """Restore a scene's session: model, prompt, position, layer and view options.
        On any problem say why and change nothing; the caller applies the camera and
        docks of the scene it gets back."""
        try:
            scene = load_scene(path)
            resolve(scene.model)  # a missing model path fails here, before anything changes
        except (SceneError, ModelError) as exc:
            self.message.emit(f"Cannot open the scene: {exc}", True)
            return None
        s = self.s
        if s.model_ref != scene.model:
            # First: the old vocabulary goes, so the scene's token ids are never looked up
            # in it; they are checked against the new one when it arrives (_check_tokens).
            self.load(scene.model)
        elif s.vocab is not None:
            # Checked before they reach the session: its listeners index the vocabulary.
            if not self._plane_tokens_fit(scene.plane_tokens, len(s.vocab.texts)):
                scene.plane_tokens = []
        apply_view_options(scene, s)
        s.steering.spec = SteerSpec(**scene.steer) if scene.steer is not None else None
        if s.vocab is not None:
            self._check_steer(len(s.vocab.texts))
        if scene.prompt:
            self.flow.pending_layer = scene.layer
            self.run_at(scene.prompt, scene.position)
        self.compare(scene.compare_prompt)
        if scene.prompt_set is not None:
            from spherescope.core.prompt_set import PromptSet

            s.sets.shown = scene.prompt_set.get("shown", True)
            s.sets.in_plane = scene.prompt_set.get("in_plane", False)
            s.sets.page = scene.prompt_set.get("page", "positions")
            self.run_set(PromptSet.from_json(scene.prompt_set))
        return scene
