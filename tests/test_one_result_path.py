"""The window's controller, on the inline runner, fills a session the way the window's
worker does: the path `render` and `spherescope.figure` take. A tiny in-memory model
keeps it fast."""

import pytest

PROMPT = "John and Mary went to the bar. John bought a drink for"


@pytest.fixture
def controller(qapp):
    from spherescope.controller import Controller
    from spherescope.jobs.inline import InlineRunner
    from spherescope.state.session import Session
    from tests.tiny_models import make_model, tiny_tokenizer

    s = Session()
    ctl = Controller(s, warm=False, runner=InlineRunner(strict=True))
    ctl.adopt(make_model("llama"), tiny_tokenizer(), "tiny llama")
    return s, ctl


def _count_traces(monkeypatch):
    import spherescope.models.trace as trace_mod

    calls = []
    real = trace_mod.trace_prompt

    def counting(*args, **kwargs):
        calls.append(kwargs.get("sublayers", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(trace_mod, "trace_prompt", counting)
    return calls


def test_with_attribution_wanted_a_run_is_one_forward_pass(controller, monkeypatch):
    s, ctl = controller
    s.attribution_wanted = True
    calls = _count_traces(monkeypatch)
    ctl.run(PROMPT)
    assert s.attribution is not None and s.sublayers is not None
    assert calls == [True], "the run recorded the blocks' writes; attribution did not trace again"


def test_without_it_the_run_records_no_writes(controller, monkeypatch):
    s, ctl = controller
    calls = _count_traces(monkeypatch)
    ctl.run(PROMPT)
    assert calls == [False] and s.attribution is None
    s.attribution_wanted = True  # the tab opened afterwards: one more pass, with the writes
    assert calls == [False, True] and s.attribution is not None


def test_a_steered_rerun_replaces_the_path_in_one_step(controller):
    from spherescope.core.patching import SteerSpec

    s, ctl = controller
    ctl.run(PROMPT)
    s.layer = 1
    frames = []
    s.frame_added.connect(lambda *_: frames.append(1))
    plain = s.path().copy()
    ctl.set_steer(SteerSpec(1, 5, None, 20.0))
    assert frames == [] and s.steering.traced is not None and s.layer == 1
    assert (s.path()[2:] != plain[2:]).any(), "the path after the steered layer moved"
