"""Each kind of model work, called directly as a plain function on a tiny model, the
way the runner calls it in its thread."""

import numpy as np
import pytest

from spherescope.jobs import lessons as lesson_jobs
from spherescope.jobs import load as load_jobs
from spherescope.jobs import trace as trace_jobs
from spherescope.jobs.base import Again, Context, JobKind, Report, inline_report
from spherescope.models.errors import Cancelled, ModelError


@pytest.fixture(scope="module")
def loaded_ctx(tmp_path_factory):
    from tiny_models import save_tiny

    folder = save_tiny("llama", tmp_path_factory.mktemp("jobs") / "llama")
    ctx, seen = Context(), []
    report = Report(1, lambda: False, seen.append)
    result = load_jobs.load(ctx, report, str(folder), {})
    yield ctx, result, seen
    # Loaded models are kept for the whole process; this one is only this module's.
    for key in [k for k in load_jobs._MODELS if k[0] == str(folder)]:
        load_jobs._MODELS.pop(key)


def test_load_reports_the_model_before_its_statistics(loaded_ctx):
    ctx, result, seen = loaded_ctx
    from spherescope.jobs.payloads import ModelReady, Progress

    assert isinstance(seen[-1], ModelReady), "the model is the last partial, before the stats"
    assert all(isinstance(p, Progress) for p in seen[:-1])
    info, vocab = seen[-1].info, seen[-1].vocab
    assert info is result.info and vocab is result.vocab and result.stats is not None
    assert ctx.model is not None and ctx.model_job == 1 and ctx.trace is None
    assert vocab.directions.shape == (info.vocab_size, info.hidden_size)


def test_trace_streams_tokens_then_every_layer(loaded_ctx):
    ctx, result, _ = loaded_ctx
    seen = []
    traced = trace_jobs.trace(ctx, Report(2, lambda: False, seen.append, {JobKind.LOAD: 1}), "John and Mary", -1, 5)
    from spherescope.jobs.payloads import TraceTokens

    assert isinstance(seen[0], TraceTokens) and [p.layer for p in seen[1:]] == list(range(result.info.num_layers + 1))
    assert ctx.trace is traced.trace and ctx.trace_job == 2
    np.testing.assert_array_equal(seen[-1].residual, traced.trace.residuals[-1])
    np.testing.assert_allclose(seen[-1].norms, traced.trace.norms[-1], rtol=1e-6)
    pos, lens = trace_jobs.lens(ctx, inline_report(), 0, 5)
    assert pos == 0 and len(lens) == result.info.num_layers + 1
    assert trace_jobs.lens(ctx, inline_report(), 99, 5) is None, "a position the trace lacks"


def test_a_trace_stops_when_it_is_no_longer_wanted(loaded_ctx):
    ctx, _, _ = loaded_ctx
    frames = []

    def partial(payload):
        frames.append(payload)

    with pytest.raises(Cancelled):
        trace_jobs.trace(ctx, Report(3, lambda: len(frames) >= 2, partial), "John and Mary", -1, 5)
    assert len(frames) == 2, "it stopped at the layer after it was superseded"


def test_jobs_need_the_model_they_were_asked_for(loaded_ctx):
    ctx, _, _ = loaded_ctx
    with pytest.raises(ModelError, match="No model is loaded"):
        trace_jobs.trace(ctx, Report(4, lambda: False, lambda p: None, {JobKind.LOAD: 99}), "x", -1, 5)
    with pytest.raises(ModelError, match="No model is loaded"):
        trace_jobs.trace(Context(), inline_report(), "x", -1, 5)


def test_lessons_roundtrip_and_the_stepwise_fraction_count(loaded_ctx):
    ctx, result, _ = loaded_ctx
    trace_jobs.trace(ctx, inline_report(), "John and Mary", -1, 5)
    pos, per_layer = lesson_jobs.lessons(ctx, inline_report(), 1)
    assert pos == 1 and len(per_layer) == result.info.num_layers + 1
    token, mode, scores, row = lesson_jobs.roundtrip(ctx, inline_report(), 5, "transpose")
    assert (token, mode) == (5, "transpose") and scores.shape == (result.info.vocab_size,)
    np.testing.assert_array_equal(row, ctx.model.embedding()[5])
    _, _, normalised, _ = lesson_jobs.roundtrip(ctx, inline_report(), 5, "normalised")
    assert normalised[5] == pytest.approx(1.0, abs=1e-5), "the article's normalised transpose peaks at exactly 1"
    with pytest.raises(ModelError, match="not in this model's vocabulary"):
        lesson_jobs.roundtrip(ctx, inline_report(), 10**9, "transpose")
    # The count runs as steps: each returns Again with where to go on, until done.
    seen, step, steps = [], Again(), 0
    while isinstance(step, Again):
        step = lesson_jobs.fractions(ctx, Report(5, lambda: False, seen.append), *step.args)
        steps += 1
    assert step is None and steps >= 3
    assert [p.mode for p in seen] == ["transpose", "normalised", "pinv"] and all(0 <= p.value <= 1 for p in seen)
    # Counted once per model: asking again reports both at once and runs no step.
    again = []
    assert lesson_jobs.fractions(ctx, Report(6, lambda: False, again.append)) is None
    assert again == seen


def test_steer_sweep_is_the_dose_response_with_the_current_alpha(loaded_ctx):
    """The Steer tab's Sweep α: round values out to 3 x |h| at the layer, the spec's own α
    among them and marked, the same numbers as models.patching.steer_sweep."""
    from spherescope.core.patching import SteerSpec
    from spherescope.jobs import patching as patching_jobs
    from spherescope.models.patching import steer_sweep
    from spherescope.models.trace import tokenize, trace_prompt

    ctx, result, _ = loaded_ctx
    spec = SteerSpec(1, 5, 7, 3.0, None)
    report = Report(9, lambda: False, lambda p: None, {JobKind.LOAD: 1})
    curve = patching_jobs.steer_sweep(ctx, report, "John and Mary", spec, -1)
    plain = trace_prompt(ctx.model, "John and Mary")
    scale = float(plain.norms[1, -1])
    assert len(curve.alphas) == 22 and curve.current == 3.0 and 3.0 in curve.alphas
    assert curve.alphas[0] == -curve.alphas[-1] and curve.alphas[-1] >= 3 * scale
    ids = [t.id for t in tokenize(ctx.model, "John and Mary")]
    logits = steer_sweep(ctx.model, ids, spec, np.array(curve.alphas))
    np.testing.assert_allclose(curve.diffs, logits[:, 5] - logits[:, 7], atol=1e-5)
    with pytest.raises(Cancelled):
        patching_jobs.steer_sweep(ctx, Report(10, lambda: True, lambda p: None, {JobKind.LOAD: 1}),
                                  "John and Mary", spec, -1)
