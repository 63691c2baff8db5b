"""Every lesson dock, fast, on a session filled with no model load: a tiny random model
in memory, run through the window's own controller on the inline runner (the one
result path). Each dock must draw numbers, not an empty-plot sentence, and survive
being deleted while the session goes on."""

import pytest

from spherescope.widgets.lessons import LESSONS
from spherescope.widgets.lessons.common import Plot

PROMPT = "John and Mary went to the bar. John bought a drink for"
SECOND = "John and Mary went to the bar. Mary bought a drink for"


@pytest.fixture(scope="module")
def filled(qapp):
    from spherescope.controller import Controller
    from spherescope.core.patching import SteerSpec
    from spherescope.jobs.inline import InlineRunner
    from spherescope.state.session import Session
    from tests.tiny_models import make_model, tiny_tokenizer

    s = Session()
    errors = []
    ctl = Controller(s, warm=False, runner=InlineRunner(strict=True))
    ctl.message.connect(lambda text, err: err and errors.append(text))
    ctl.adopt(make_model("llama"), tiny_tokenizer(), "tiny llama")
    s.attribution_wanted = s.roundtrip.wanted = True
    s.plane_tokens = (s.vocab.token_id(" Mary"), s.vocab.token_id(" John"))
    ctl.run(PROMPT)
    s.heads.wanted = True  # the Heads tab opened: the block at the current layer's top head
    ctl.compare(SECOND)
    ctl.run_patching()
    ctl.run_head_patching()
    ctl.request_steer_sweep(SteerSpec(1, s.plane_tokens[1], s.plane_tokens[0], 5.0))
    from spherescope.core.prompt_set import from_records

    pair = {"prompt": PROMPT, "corrupt": SECOND, "target": " Mary", "contrast": " John"}
    ctl.run_set(from_records([pair, dict(pair, prompt=SECOND, corrupt=PROMPT, target=" John", contrast=" Mary")]))
    ctl.run_set_patching()
    assert not errors
    assert s.trace is not None and s.attribution is not None and s.comparison.grid is not None
    assert s.comparison.head_grid is not None and s.comparison.head_grid.matrix.shape == (3, 4)
    assert s.steering.sweep is not None and s.roundtrip.scores is not None and s.roundtrip.fractions
    assert s.heads.view is not None and s.heads.weights.shape[1] == len(s.tokens)
    assert s.sets.summary is not None and s.sets.summary.n == 2 and s.sets.patch is not None
    return s, ctl


@pytest.mark.parametrize("key,cls", [(k, c) for k, c, _t in LESSONS], ids=[k for k, _c, _t in LESSONS])
def test_each_dock_draws_numbers(filled, qtbot, key, cls):
    s, ctl = filled
    dock = cls(s, ctl)
    qtbot.addWidget(dock)
    dock.resize(900, 500)
    dock.show()
    qtbot.waitExposed(dock)
    dock.sync()
    if key == "closest":  # a table of the four rankings, not a plot
        assert dock.table.item(0, 0) is not None and dock.table.item(0, 0).text().strip()
        return
    if key == "tied" and s.model_info.tied_embeddings:  # one matrix: a sentence says so, no histogram
        assert "ties its embeddings" in dock.statement.text()
        return
    if key == "steer":  # the curve of the dock's own choice: type the tokens, press Sweep α
        from PySide6.QtCore import Qt

        dock.toward.setText(s.vocab.texts[s.plane_tokens[1]])
        dock.away.setText(s.vocab.texts[s.plane_tokens[0]])
        qtbot.mouseClick(dock.sweep_button, Qt.MouseButton.LeftButton)
    plots = [p for p in dock.findChildren(Plot) if p.isVisibleTo(dock)]
    assert plots, f"{key}: no plot shown"
    empty = [p.empty_text() for p in plots if p.empty_text()]
    assert not empty, f"{key} says it has nothing to show: {empty}"
    items = sum(len(p.getPlotItem().listDataItems()) for p in plots)
    assert items > 0, f"{key}: plots with no data"


def test_a_deleted_dock_is_never_called_again(filled, qtbot):
    s, ctl = filled
    for _key, cls, _title in LESSONS:
        dock = cls(s, ctl)
        dock.deleteLater()
    qtbot.waitUntil(lambda: True)
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # Every signal a dock listens to, fired: a deleted dock answering would raise
    # RuntimeError (Internal C++ object already deleted).
    layer = s.layer
    s.layer = 0
    s.layer = layer
    s.alpha = 2.0
    s.alpha = 1.0
    ctl.run(PROMPT)
    s.position = 1
    s.position = -1
