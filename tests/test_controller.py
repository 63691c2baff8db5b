"""The controller without a window or a thread: a fake runner records what it asks for,
and the test plays the worker's results back, as Mantid tests a presenter against a
mocked view. Only the controller writes computed session fields; this checks what it
writes for each result, and that commands become the right jobs."""

import numpy as np
import pytest

from spherescope.core.trajectory import LensTop, Token, Trace
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import FractionDone, ModelReady, Notice, PatchRow, PatchStarted, TraceFrame, TraceTokens
from spherescope.state.session import Session


class FakeRunner:
    def __init__(self, parent=None) -> None:
        from PySide6.QtCore import QObject, Signal

        class _Signals(QObject):
            cancelled = Signal(object, int)

        self._signals = _Signals()
        self.cancelled = self._signals.cancelled
        self.jobs = []  # (kind, fn name, args, depends, callbacks)
        self.cancelled_kinds = []

    def submit(self, kind, fn, *args, depends=(), **callbacks):
        self.jobs.append((kind, fn.__name__, args, tuple(depends), callbacks))
        return len(self.jobs)

    def cancel(self, kind):
        self.cancelled_kinds.append(kind)

    def busy(self, kind):
        return False

    def shutdown(self, wait_ms=0):
        pass

    def last(self, kind):
        return [j for j in self.jobs if j[0] == kind][-1]


@pytest.fixture
def ctl(monkeypatch, qapp):
    import spherescope.controller as controller_mod

    s = Session()
    c = controller_mod.Controller(s, {"dtype": "bfloat16"}, expect="embedded", runner=FakeRunner())
    messages = []
    c.message.connect(lambda text, err: messages.append((text, err)))
    return c, s, c.runner, messages


def _vocab(v=20, d=6):
    from spherescope.core.vocab import build_vocab

    rng = np.random.default_rng(0)
    return build_vocab(rng.normal(size=(v, d)).astype(np.float32), [f"t{i}" for i in range(v)])


class _Info:
    name, device, dtype, num_layers = "tiny", "cpu", "float32", 2


def test_start_up_warms_the_expected_model(ctl):
    _, _, runner, _ = ctl
    assert runner.jobs[0][:3] == (JobKind.WARM, "warm", ("embedded",))


def test_load_resets_computed_state_then_fills_it_from_results(ctl):
    c, s, runner, messages = ctl
    c.load("some/model")
    kind, fn, args, deps, cb = runner.last(JobKind.LOAD)
    assert (fn, args) == ("load", ("some/model", {"dtype": "bfloat16"})) and s.busy == "loading"
    assert s.model_ref == "some/model" and s.vocab is None and s.model_info is None
    cb["on_partial"](Notice("Needs about 9 GB"))
    assert messages[-1] == ("Needs about 9 GB", False)
    vocab = _vocab()
    cb["on_partial"](ModelReady(_Info(), vocab, 0.5))
    assert s.model_info is not None and s.vocab is vocab and s.busy == ""
    assert s.cloud_space == "unembedding", "a tied model has no input space to show"


def test_run_becomes_a_trace_job_that_streams_into_the_session(ctl):
    c, s, runner, messages = ctl
    c.run("   ")
    assert messages[-1][0].startswith("The prompt is empty") and not runner.jobs[1:]
    c.run("ab")
    kind, fn, args, deps, cb = runner.last(JobKind.TRACE)
    assert (fn, args, deps) == ("trace", ("ab", -1, 10, None, False, False), (JobKind.LOAD,)) and s.busy == "running"
    cb["on_partial"](TraceTokens((Token(1, "a"), Token(2, "b"))))
    assert s.position == 1
    for layer in range(3):
        cb["on_partial"](TraceFrame(layer, np.ones((2, 6), np.float32) * (layer + 1)))
        assert s.layer == layer, "the view follows the newest layer while a run streams in"
    res = np.stack([np.ones((2, 6), np.float32) * (i + 1) for i in range(3)])
    lens = tuple(LensTop(np.array([0]), np.array([1.0], np.float32), np.array([1.0], np.float32), 0.0) for _ in range(3))
    trace = Trace("tiny", (Token(1, "a"), Token(2, "b")), 1, res, lens, 1.0, Token(3, "c"), 0.5, np.zeros(20, np.float32))
    from types import SimpleNamespace

    cb["on_done"](SimpleNamespace(trace=trace, seconds=0.1, steer=None))
    assert s.trace is trace and s.busy == "" and s.current_lens() is lens[-1]
    assert runner.last(JobKind.LESSONS)[2] == (1,), "the lesson views' numbers are asked for at once"
    # Following another position asks for its lens and lessons, never a new trace.
    n_traces = sum(1 for j in runner.jobs if j[0] == JobKind.TRACE)
    s.position = 0
    assert runner.last(JobKind.LENS)[2] == (0, 10) and runner.last(JobKind.LESSONS)[2] == (0,)
    assert sum(1 for j in runner.jobs if j[0] == JobKind.TRACE) == n_traces


def test_a_user_who_scrubbed_away_is_not_pulled_to_the_newest_layer(ctl):
    c, s, runner, _ = ctl
    c.run("ab")
    cb = runner.last(JobKind.TRACE)[4]
    cb["on_partial"](TraceTokens((Token(1, "a"), Token(2, "b"))))
    for layer in range(3):
        cb["on_partial"](TraceFrame(layer, np.ones((2, 6), np.float32)))
    s.layer = 0
    cb["on_partial"](TraceFrame(3, np.ones((2, 6), np.float32)))
    assert s.layer == 0


def test_cancel_and_failures_leave_the_session_usable(ctl):
    c, s, runner, messages = ctl
    c.run("ab")
    c.cancel()
    assert runner.cancelled_kinds == [JobKind.TRACE] and s.busy == ""
    c.run("ab")
    runner.last(JobKind.TRACE)[4]["on_failed"]("The prompt is 9 tokens but x reads at most 4; it was refused.")
    assert s.busy == "" and messages[-1] == ("The prompt is 9 tokens but x reads at most 4; it was refused.", True)
    c.load("/nope")
    runner.last(JobKind.LOAD)[4]["on_failed"]("Model path not found: /nope")
    assert s.busy == "" and messages[-1][0] == "Model path not found: /nope"


def test_round_trip_work_starts_only_when_its_view_is_wanted(ctl):
    c, s, runner, _ = ctl
    c.load("m")
    cb = runner.last(JobKind.LOAD)[4]
    cb["on_partial"](ModelReady(_Info(), _vocab(), 0.1))
    cb["on_done"](type("Loaded", (), {"stats": object()})())
    assert not [j for j in runner.jobs if j[0] in (JobKind.ROUNDTRIP, JobKind.FRACTIONS)]
    s.roundtrip.token = 3
    s.roundtrip.wanted = True
    assert runner.last(JobKind.FRACTIONS)[1] == "fractions"
    kind, fn, args, deps, rcb = runner.last(JobKind.ROUNDTRIP)
    assert args == (3, "transpose")
    rcb["on_done"]((3, "transpose", np.arange(20.0), np.ones(6)))
    assert s.roundtrip.scores is not None and s.roundtrip.row is not None
    runner.last(JobKind.FRACTIONS)[4]["on_partial"](FractionDone("transpose", 0.1))
    assert s.roundtrip.fractions == {"transpose": 0.1}


def _traced(c, s, runner, prompt="ab", steer=None):
    from types import SimpleNamespace

    c.run(prompt)
    cb = runner.last(JobKind.TRACE)[4]
    res = np.ones((3, 2, 6), np.float32)
    lens = tuple(LensTop(np.array([0]), np.array([1.0], np.float32), np.array([1.0], np.float32), 0.0) for _ in range(3))
    trace = Trace("tiny", (Token(1, "a"), Token(2, "b")), 1, res, lens, 1.0, Token(3, "c"), 0.5, np.zeros(20, np.float32))
    cb["on_partial"](TraceTokens(trace.tokens))
    cb["on_done"](SimpleNamespace(trace=trace, seconds=0.1, steer=steer))
    return trace


def test_steering_reruns_quietly_and_refuses_bad_settings(ctl):
    import math
    from types import SimpleNamespace

    from spherescope.core.patching import SteerSpec

    c, s, runner, messages = ctl
    c.load("m")
    runner.last(JobKind.LOAD)[4]["on_partial"](ModelReady(SimpleNamespace(name="m", num_layers=2, vocab_size=20,
                                                          device="cpu", dtype="float32"), _vocab(), 0.1))
    plain = _traced(c, s, runner)
    n = len(runner.jobs)
    c.set_steer(SteerSpec(1, 3, 4, math.inf))
    assert messages[-1] == ("The steering strength α must be a finite number.", True)
    c.set_steer(SteerSpec(5, 3, 4, 2.0))
    assert "out of range" in messages[-1][0] and s.steering.spec is None and len(runner.jobs) == n
    spec = SteerSpec(1, 3, 4, 2.0)
    c.set_steer(spec)
    kind, fn, args, _deps, cb = runner.jobs[-1]
    assert kind == JobKind.TRACE and args[3] == spec and cb["on_partial"] is None, "replaced in one step"
    steered = Trace("tiny", plain.tokens, 1, plain.residuals * 2, plain.lens, 1.0, Token(3, "c"), 0.5,
                    np.zeros(20, np.float32))
    cb["on_done"](SimpleNamespace(trace=steered, seconds=0.1, steer=spec))
    assert s.trace is steered and s.steering.traced == spec and s.available_layers() == 3


def test_compare_and_patching_fill_the_session_row_by_row(ctl):
    from types import SimpleNamespace

    from spherescope.core.patching import PatchGrid

    c, s, runner, messages = ctl
    c.run_patching()
    assert messages[-1][0].startswith("Patching needs two prompts")
    _traced(c, s, runner)
    s.plane_tokens = (3, 4)
    c.compare("cd")
    kind, fn, args, deps, cb = runner.last(JobKind.COMPARE)
    assert args == ("cd", 1, 10, 3, 4) and deps == (JobKind.LOAD, JobKind.TRACE)
    second = _traced(c, s, runner)  # any Trace stands for the second prompt's
    cb["on_done"](SimpleNamespace(trace=second, diffs=(np.zeros(3), np.ones(3))))
    assert s.comparison.trace is second and s.comparison.label == "second prompt"
    c.run_patching()
    kind, fn, args, deps, cb = runner.last(JobKind.PATCH)
    assert (fn, args) == ("patch", ("ab", "cd", 3, 4)) and s.comparison.running
    empty = PatchGrid(np.full((3, 2), np.nan), float("nan"), float("nan"), 3, 4, second.tokens, second.tokens)
    cb["on_partial"](PatchStarted(empty))
    cb["on_partial"](PatchRow(0, np.array([0.0, 1.0])))
    assert s.comparison.grid.rows_done() == 1 and s.comparison.grid.matrix[0, 1] == 1.0
    c.cancel_patching()
    assert JobKind.PATCH in runner.cancelled_kinds[-2:] and not s.comparison.running and s.comparison.grid.rows_done() == 1
    c.show_patched(2, 1)
    kind, fn, args, deps, cb = runner.last(JobKind.PATCHED)
    assert args == ("ab", "cd", 2, 1, 10)
    cb["on_done"](second)
    assert s.comparison.label == "patched at layer 2, position 1"
    c.compare("")
    assert s.comparison.trace is None and s.comparison.grid is None


def test_sweep_alpha_is_a_job_whose_curve_a_new_prompt_drops(ctl):
    from spherescope.core.patching import SteerSpec

    c, s, runner, messages = ctl
    spec = SteerSpec(1, 3, 4, 0.0, None)
    c.request_steer_sweep(spec)
    assert messages and messages[-1][1], "no run yet: a message, no job"
    assert not [j for j in runner.jobs if j[0] == JobKind.STEER_SWEEP]
    _traced(c, s, runner)
    c.request_steer_sweep(spec)
    kind, name, args, depends, cb = runner.last(JobKind.STEER_SWEEP)
    assert (name, args, depends) == ("steer_sweep", ("ab", spec, 1, None, True), (JobKind.LOAD,))
    cb["on_done"]("a curve")
    assert s.steering.sweep == "a curve"
    c.run("ab")  # the same prompt again (steering re-runs): the curve stays
    assert s.steering.sweep == "a curve"
    c.run("another prompt")
    assert s.steering.sweep is None


def test_head_patching_fills_its_own_grid_and_a_head_request_follows_the_layer(ctl):
    from types import SimpleNamespace

    from spherescope.core.patching import HeadGrid

    c, s, runner, messages = ctl
    c.run_head_patching()
    assert messages[-1][1] and "two prompts" in messages[-1][0], "nothing to patch yet: a sentence, no job"
    c.load("m")
    runner.last(JobKind.LOAD)[4]["on_partial"](ModelReady(SimpleNamespace(name="m", num_layers=2, vocab_size=20,
                                                          device="cpu", dtype="float32"), _vocab(), 0.1))
    _traced(c, s, runner)
    s.plane_tokens = (3, 4)
    c.compare("cd")
    c.run_head_patching()
    kind, fn, args, deps, cb = runner.last(JobKind.HEAD_PATCH)
    assert (fn, args) == ("head_patch", ("ab", "cd", 3, 4)) and s.comparison.heads_running
    cb["on_partial"](PatchStarted(HeadGrid(np.full((2, 4), np.nan), 1.0, -1.0, 3, 4)))
    cb["on_partial"](PatchRow(1, np.arange(4.0)))
    assert s.comparison.head_grid.rows_done() == 1 and s.comparison.head_grid.matrix[1, 3] == 3.0
    cb["on_done"](HeadGrid(np.zeros((2, 4)), 1.0, -1.0, 3, 4))
    assert not s.comparison.heads_running and s.comparison.head_grid.rows_done() == 2
    c.show_patched_head(2, 3)
    assert runner.last(JobKind.PATCHED)[1:3] == ("patched_head", ("ab", "cd", 2, 3, 10))
    n = len([j for j in runner.jobs if j[0] == JobKind.HEAD])
    s.heads.wanted = True
    s.layer = 2
    heads = [j for j in runner.jobs if j[0] == JobKind.HEAD]
    assert len(heads) > n and heads[-1][2][1:3] == (2, -1), "block 2, the top head by default"
