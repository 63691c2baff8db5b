"""Prompt sets through the controller: batches grow the bundle, a superseded run's
cancellation leaves the newer run alone, a stop keeps what was traced; scenes, figures
and data exports carry the set (a tiny model on the inline runner: the one result path)."""

import json

import numpy as np
import pytest

from spherescope.core.prompt_set import from_records
from spherescope.core.set_results import PromptTrace
from spherescope.core.trajectory import LensTop, Token
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import SetBatch
from tests.test_controller import FakeRunner

PROMPT = "John and Mary went to the bar. John bought a drink for"
SECOND = "John and Mary went to the bar. Mary bought a drink for"
PAIR = {"prompt": PROMPT, "corrupt": SECOND, "target": " Mary", "contrast": " John"}
PAIRS = [PAIR, dict(PAIR, prompt=SECOND, corrupt=PROMPT, target=" John", contrast=" Mary")]


def _trace(i, diff):
    top = LensTop(np.array([1]), np.array([0.5], np.float32), np.array([1.0], np.float32), 1.0)
    return PromptTrace(i, f"p{i}", (Token(1, "a"),), 0, np.full((3, 4), i + 1.0, np.float32), (top,) * 3,
                       Token(1, "a"), 0.5, 1, 2, diff, np.array([0.0, diff / 2, diff]))


@pytest.fixture
def fake(qapp):
    from spherescope.controller import Controller
    from spherescope.state.session import Session

    s = Session()
    c = Controller(s, warm=False, runner=FakeRunner())
    return c, s, c.runner


def test_batches_grow_the_bundle_and_a_superseded_run_does_not_stop_the_new_one(fake):
    c, s, runner = fake
    c.run_set(from_records(["a", "b", "c"]))
    first = runner.last(JobKind.SET)
    assert s.sets.running and s.sets.done == (0, 3)
    c.run_set()  # again, before the first finished
    second = runner.last(JobKind.SET)
    first[4]["on_cancelled"]()  # the first run's cancellation arrives late
    assert s.sets.running, "a stale run's cancellation stopped the newer run"
    second[4]["on_partial"](SetBatch((_trace(0, 1.0), _trace(1, -2.0)), 2, 3))
    assert len(s.sets.traces) == 2 and s.sets.done == (2, 3) and s.sets.summary is None
    c.cancel_set()
    assert not s.sets.running and runner.cancelled_kinds[-1] == JobKind.SET
    assert s.sets.summary.n == 2 and s.sets.summary.accuracy == 0.5
    second[4]["on_cancelled"]()  # the runner's own word of it changes nothing more
    assert s.sets.summary.n == 2


def test_a_failed_set_says_why_and_keeps_what_was_traced(fake):
    c, s, runner = fake
    said = []
    c.message.connect(lambda text, err: said.append(text))
    c.run_set(from_records(["a", "b"]))
    job = runner.last(JobKind.SET)
    job[4]["on_partial"](SetBatch((_trace(0, 3.0),), 1, 2))
    job[4]["on_failed"]("Row 2: the model produced NaN")
    assert said == ["Row 2: the model produced NaN"] and not s.sets.running and s.sets.summary.n == 1
    c.choose_set(None)
    assert s.sets.traces == () and s.sets.summary is None
    c.run_set()
    assert "Choose a prompt set first" in said[-1]


@pytest.fixture(scope="module")
def inline(qapp):
    from spherescope.controller import Controller
    from spherescope.jobs.inline import InlineRunner
    from spherescope.state.session import Session
    from tests.tiny_models import make_model, tiny_tokenizer

    s = Session()
    errors = []
    c = Controller(s, warm=False, runner=InlineRunner(strict=True))
    c.message.connect(lambda text, err: err and errors.append(text))
    c.adopt(make_model("llama"), tiny_tokenizer(), "tiny llama")
    c.run(PROMPT)
    c.run_set(from_records(PAIRS))
    c.run_set_patching()
    assert not errors
    return c, s


def test_scenes_carry_the_set_and_open_it_again(inline, tmp_path):
    from spherescope.state.scene import load_scene, save_scene, scene_of

    c, s = inline
    sc = scene_of(s, {"distance": 3.0, "elevation": 10.0, "azimuth": 0.0, "fov": 40.0, "center": [0, 0, 0]}, [])
    s.sets.in_plane, s.sets.page = True, "heads"
    sc = scene_of(s, {"distance": 3.0, "elevation": 10.0, "azimuth": 0.0, "fov": 40.0, "center": [0, 0, 0]}, [])
    assert sc.prompt_set["rows"][1]["target"] == " John" and sc.prompt_set["shown"] is True
    assert sc.prompt_set["in_plane"] is True and sc.prompt_set["page"] == "heads"
    path = tmp_path / "s.spherescope"
    save_scene(path, sc)
    assert json.loads(path.read_text())["prompt_set"]["rows"][0]["corrupt"] == SECOND
    back = load_scene(path)
    assert back.prompt_set == sc.prompt_set
    c.choose_set(None)
    c.open_scene(str(path))
    assert s.sets.summary is not None and s.sets.summary.n == 2 and s.sets.source.rows[0].prompt == PROMPT
    assert s.sets.in_plane and s.sets.page == "heads"
    s.sets.in_plane, s.sets.page = False, "positions"


@pytest.mark.parametrize("bad, why", [({"rows": "x"}, "not a list of rows"), ({"rows": [{"text": "a"}]}, "no 'prompt'"),
                                      ({"rows": ["a"], "shown": "yes"}, "'shown' is not true or false"),
                                      ({"rows": ["a"], "page": "logits"}, "page 'logits' is not one of")])
def test_a_scenes_bad_set_is_refused(bad, why):
    from spherescope.state.scene import SceneError, scene_from_dict

    with pytest.raises(SceneError, match=why):
        scene_from_dict({"format": "spherescope-scene", "version": 1, "prompt": "x", "prompt_set": bad})


def test_data_exports_of_the_set(inline):
    from spherescope.state.data_export import view_table

    c, s = inline
    if s.sets.summary is None:
        c.run_set(from_records(PAIRS))
    cols, rows = view_table(s, "set")
    assert cols == ["prompt", "text", "layer", "norm", "lens_diff", "top"] and len(rows) == 2 * 4
    assert rows[0][1] == PROMPT and rows[-1][2] == 3
    c.run_set_patching()
    cols, rows = view_table(s, "set-patching")
    m = s.sets.patch.matrix
    assert len(rows) == m.size and rows[-1][:2] == [m.shape[0] - 1, -1]


def test_data_exports_of_the_sets_heads_and_steering(inline):
    from spherescope.set_api import SetSteerSweep
    from spherescope.state.data_export import view_table

    c, s = inline
    if s.sets.summary is None:
        c.run_set(from_records(PAIRS))
    with pytest.raises(ValueError, match="Sweep the set on its Steering page"):
        view_table(s, "set-steering")
    c.run_set_patching(heads=True)
    cols, rows = view_table(s, "set-head-patching")
    h = s.sets.patch.heads_matrix
    assert cols == ["block", "head", "recovery"] and len(rows) == h.size and rows[-1][:2] == [h.shape[0], h.shape[1] - 1]
    c.run_set_steering(1)
    cols, rows = view_table(s, "set-steering")
    curve = s.sets.steer
    api = SetSteerSweep(curve.alphas, curve.diffs, curve.accuracy).to_json()
    assert cols == [k for k in api if k != "n"], "the window's table has the API's columns"
    assert [r[1] for r in rows] == pytest.approx(api["diff_mean"]) and len(rows) == 21


def test_set_figures_through_render(inline, tmp_path):
    from spherescope.commands.figure_request import FigureRequest
    from spherescope.commands.render import make_figure
    from tests.tiny_models import make_model, tiny_tokenizer

    path, what = make_figure(FigureRequest(view="set", prompts=PAIRS, model=make_model("llama"),
                                           tokenizer=tiny_tokenizer(), out=tmp_path / "set.png", size=(800, 450),
                                           style="slide"))
    assert path.exists() and "set" in what
    # --view plane with a set: each prompt in its own plane, no --tokens needed (each row has its pair)
    path, what = make_figure(FigureRequest(view="plane", prompts=PAIRS, model=make_model("llama"),
                                           tokenizer=tiny_tokenizer(), out=tmp_path / "plane.png", size=(800, 450)))
    assert path.exists() and "2 prompts, each in its own plane" in what
    with pytest.raises(ValueError, match="--view set draws a prompt set"):
        make_figure(FigureRequest(view="set", prompt="x", out=tmp_path / "x.png"))


def test_steering_needs_a_traced_set_and_a_stale_cancel_leaves_the_new_sweep(fake):
    from spherescope.core.set_results import summarize

    c, s, runner = fake
    said = []
    c.message.connect(lambda text, err: said.append(text))
    c.choose_set(from_records(PAIRS))
    c.run_set_steering(1)
    assert "Run a set with a target column first" in said[-1] and not s.sets.steer_running
    s.sets.summary = summarize([_trace(0, 1.0), _trace(1, -2.0)])
    c.run_set_steering(7)
    assert "Block 7 is out of range" in said[-1]
    c.run_set_steering(1)
    first = runner.last(JobKind.SET_STEER)
    assert first[2][1:4] == (1, None, None) and first[2][4] == pytest.approx(np.median(s.sets.summary.norms[:, 1]))
    c.run_set_steering(2, 5, 6)
    second = runner.last(JobKind.SET_STEER)
    first[4]["on_cancelled"]()
    assert s.sets.steer_running, "a superseded sweep's cancellation stopped the newer one"
    second[4]["on_failed"]("α = 1e+30 is too large")
    assert not s.sets.steer_running and said[-1] == "α = 1e+30 is too large"
    # A new set drops the old set's sweep.
    s.sets.steer = object()
    c.choose_set(from_records(["a"]))
    assert s.sets.steer is None


def test_steering_over_the_set_through_the_controller(inline):
    c, s = inline
    if s.sets.summary is None:
        c.run_set(from_records(PAIRS))
    c.run_set_steering(1)
    curve = s.sets.steer
    assert not s.sets.steer_running and curve.layer == 1 and curve.toward is None
    assert curve.diffs.shape == (21, 2) and 0.0 in curve.alphas
    zero = list(curve.alphas).index(0.0)
    np.testing.assert_allclose(curve.diffs[zero], s.sets.summary.final_diff, atol=1e-4)
    # Toward each prompt's contrast: the mean falls as α grows.
    assert curve.mean[-1] < curve.mean[zero] < curve.mean[0]
