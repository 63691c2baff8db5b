"""The use cases of the window, on the GUI thread: the only writer of computed state.

Widgets call the controller's methods for commands (load a model, run a prompt,
cancel, open a scene) and write only the session fields that are choices (layer,
position, basis, style...). The controller turns commands and choices into jobs for
its runner and the results of the latest jobs into session fields. Adding a kind of
model work is one job function (jobs/), one JobKind member and one method in the
use-case module it belongs to (models, runs, analysis, comparison, scenes).

The runner is injected: the window's `workers.JobRunner` (one worker thread, latest
request wins), or `jobs.inline.InlineRunner` (each job at once in this thread) for
`spherescope render`, `spherescope.figure` and tests. Either way the same methods turn
results into session fields: there is one result path.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from spherescope.controller.analysis import AnalysisUseCases
from spherescope.controller.catalog import ModelCatalog, ModelDescription
from spherescope.controller.comparison import ComparisonUseCases
from spherescope.controller.flow import Flow
from spherescope.controller.models import ModelUseCases
from spherescope.controller.runs import RunUseCases
from spherescope.controller.scenes import SceneUseCases
from spherescope.controller.sets import SetUseCases
from spherescope.state.session import Session

__all__ = ["Controller", "ModelCatalog", "ModelDescription"]


class Controller(ModelUseCases, RunUseCases, AnalysisUseCases, ComparisonUseCases, SceneUseCases, SetUseCases,
                 QObject):
    status = Signal(str)  # short status text
    progress = Signal(float)  # 0..1, negative = unknown, >=1 = done
    timing = Signal(str)
    device = Signal(str)
    message = Signal(str, bool)  # (sentence, is_error) for the message bar
    job_cancelled = Signal(str)  # a JobKind value: the worker stopped that job part-way

    def __init__(self, session: Session, load_options: dict | None = None, parent=None,
                 expect: str | None = None, warm: bool = True, runner=None) -> None:
        """`expect`: the model the first load will ask for, so its tokenizer is parsed
        while the window is still being built. `runner`: a workers.JobRunner by default."""
        super().__init__(parent)
        self.s = session
        self.load_options = dict(load_options or {})
        self.catalog = ModelCatalog()
        if runner is None:
            from spherescope.workers import JobRunner

            runner = JobRunner(self)
        self.runner = runner
        self.runner.cancelled.connect(lambda kind, _job: self.job_cancelled.emit(kind.value))
        self.flow = Flow()
        self.ignore_memory_once = False
        self.loaded_ref: str | None = None  # the last model that loaded (the one to remember)
        self._expect = expect or ""
        if warm:
            self.warm_up()
        self._listen(session)

    def _listen(self, s: Session) -> None:
        """Choices that ask for model work."""
        s.position_changed.connect(self._on_position, owner=self)
        s.position_changed.connect(lambda *_: self.flow.tracing or self._compare_again(), owner=self)
        for sig in (s.roundtrip.token_changed, s.roundtrip.mode_changed, s.roundtrip.wanted_changed):
            sig.connect(lambda *_: self.request_roundtrip(), owner=self)
        s.basis_error_changed.connect(lambda text: text and self.message.emit(text, True), owner=self)
        for sig in (s.attribution_wanted_changed, s.show_sublayers_changed, s.plane_tokens_changed,
                    s.use_contrast_changed, s.lens_after_attention_changed):
            sig.connect(lambda *_: self.request_attribution(), owner=self)
        s.plane_tokens_changed.connect(lambda *_: self.flow.tracing or self._compare_again(), owner=self)
        s.center_cloud_changed.connect(lambda *_: self.request_raw(), owner=self)
        for sig in (s.heads.wanted_changed, s.heads.head_changed, s.layer_changed, s.plane_tokens_changed,
                    s.use_contrast_changed):
            sig.connect(lambda *_: self.request_head(), owner=self)

    def notify(self, text: str, is_error: bool = True) -> None:
        """A sentence for the message bar, from any view."""
        self.message.emit(text, is_error)

    def shutdown(self) -> None:
        self.runner.shutdown()

    def _on_side_failed(self, message: str) -> None:
        self.message.emit(message, True)
