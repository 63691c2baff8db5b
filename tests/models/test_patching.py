"""Activation patching and steering on every supported architecture's tiny model: the
exact cases (nothing changed gives 0, everything changed gives 1, no steering is no
change) and batched patching against one run per cell."""

import numpy as np
import pytest

from spherescope.core.patching import SteerSpec
from spherescope.models.errors import Cancelled, PromptError
from spherescope.models.loaded import LoadedModel
from spherescope.models.patching import check_patchable, patch_grid, patched_trace, steering
from spherescope.models.source import Source
from spherescope.models.trace import tokenize, trace_prompt
from tiny_models import ARCHS, make_model, tiny_tokenizer

CLEAN = "John and Mary went to the bar. John bought a drink for"
CORRUPT = "John and Mary went to the bar. Mary bought a drink for"


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def _wrap(arch, tok):
    return LoadedModel.wrap(make_model(arch), tok, Source("memory", arch))


def _pair(clean, corrupt):
    """A target and contrast the two runs tell apart clearly: each run's favourite that
    the other ranks lower (random tiny models have no ' Mary' to prefer)."""
    diff = clean.model_logits - corrupt.model_logits
    return int(np.argmax(diff)), int(np.argmin(diff))


def _changed(clean, corrupt):
    return [p for p, (a, b) in enumerate(zip(clean.tokens, corrupt.tokens)) if a.id != b.id]


@pytest.mark.parametrize("arch", ARCHS)
def test_patching_exact_cases_and_batched_equals_one_at_a_time(arch, tok):
    loaded = _wrap(arch, tok)
    clean, corrupt = trace_prompt(loaded, CLEAN), trace_prompt(loaded, CORRUPT)
    changed = _changed(clean, corrupt)
    assert len(clean.tokens) == len(corrupt.tokens) and len(changed) == 1
    target, contrast = _pair(clean, corrupt)
    rows = []
    grid = patch_grid(loaded, clean, corrupt, target, contrast, on_row=lambda layer, row: rows.append(layer))
    L, T = loaded.info.num_layers, len(corrupt.tokens)
    assert grid.matrix.shape == (L + 1, T) and rows == list(range(L + 1)) and grid.rows_done() == L + 1
    p = changed[0]
    # Layer 0 where the tokens are equal: nothing changes, exactly.
    assert all(grid.matrix[0, q] == 0.0 for q in range(T) if q != p)
    # ... and that is not only the skip: putting in the same vector really changes nothing.
    same = patched_trace(loaded, clean, corrupt, 0, 0)
    np.testing.assert_array_equal(same.model_logits, corrupt.model_logits)
    # The changed token's embedding makes the corrupt input the clean one: all recovered.
    assert grid.matrix[0, p] == pytest.approx(1.0, abs=1e-4)
    # The last layer at the last position is what the head reads: all recovered.
    assert grid.matrix[L, T - 1] == pytest.approx(1.0, abs=1e-4)
    # Before the changed position nothing differs at any layer (attention looks back only).
    assert np.all(grid.matrix[:, :p] == 0.0)
    one_by_one = patch_grid(loaded, clean, corrupt, target, contrast, batch=False)
    np.testing.assert_allclose(grid.matrix, one_by_one.matrix, atol=1e-5)
    assert grid.clean_diff == pytest.approx(float(clean.model_logits[target] - clean.model_logits[contrast]), abs=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_steering_with_zero_alpha_is_the_plain_trace_and_alpha_moves_toward_the_token(arch, tok):
    loaded = _wrap(arch, tok)
    tokens = tokenize(loaded, CLEAN)
    plain = trace_prompt(loaded, CLEAN, tokens=tokens)
    toward, away = int(np.argsort(plain.model_logits)[0]), int(np.argmax(plain.model_logits))
    layer = loaded.info.num_layers // 2
    with steering(loaded, SteerSpec(layer, toward, away, 0.0), len(tokens)):
        zero = trace_prompt(loaded, CLEAN, tokens=tokens)
    np.testing.assert_array_equal(zero.residuals, plain.residuals)
    np.testing.assert_array_equal(zero.model_logits, plain.model_logits)
    # Residuals before the steered layer are untouched; after it, the logit difference grows with α.
    norm = float(np.linalg.norm(plain.residuals[layer, -1]))
    with steering(loaded, SteerSpec(layer, toward, away, 4 * norm), len(tokens)):
        pushed = trace_prompt(loaded, CLEAN, tokens=tokens)
    np.testing.assert_array_equal(pushed.residuals[:layer], plain.residuals[:layer])
    before = plain.model_logits[toward] - plain.model_logits[away]
    after = pushed.model_logits[toward] - pushed.model_logits[away]
    assert after > before
    # At one position only: the others are untouched at the steered layer.
    with steering(loaded, SteerSpec(layer, toward, away, 4 * norm, position=2), len(tokens)):
        one = trace_prompt(loaded, CLEAN, tokens=tokens)
    np.testing.assert_array_equal(one.residuals[layer, :2], plain.residuals[layer, :2])
    assert not np.array_equal(one.residuals[layer, 2], plain.residuals[layer, 2])


def test_bad_input_is_one_sentence(tok):
    loaded = _wrap("llama", tok)
    clean, corrupt = trace_prompt(loaded, CLEAN), trace_prompt(loaded, CORRUPT)
    short = trace_prompt(loaded, "Mary bought a drink for")
    with pytest.raises(PromptError, match="equal length"):
        check_patchable(clean, short, 1, 2, loaded.info.vocab_size)
    with pytest.raises(PromptError, match="contrast is the target"):
        check_patchable(clean, corrupt, 5, 5, loaded.info.vocab_size)
    with pytest.raises(PromptError, match="nothing to recover"):
        patch_grid(loaded, clean, clean, 1, 2)
    n = len(clean.tokens)
    for spec, words in ((SteerSpec(99, 1), "out of range"), (SteerSpec(1, 1, alpha=float("nan")), "finite"),
                        (SteerSpec(1, 1, alpha=float("inf")), "finite"), (SteerSpec(1, 1, 1), "same token"),
                        (SteerSpec(1, 10 ** 7), "vocabulary"), (SteerSpec(1, 1, position=n), "out of range")):
        with pytest.raises(PromptError, match=words):
            steering(loaded, spec, n)
    with pytest.raises(PromptError, match="out of range"):
        patched_trace(loaded, clean, corrupt, 99, 0)
    target, contrast = _pair(clean, corrupt)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2  # after two rows

    with pytest.raises(Cancelled):
        patch_grid(loaded, clean, corrupt, target, contrast, cancel=cancel)


def _lens_top(lm, trace):
    import torch

    logits = lm.lens.logits(torch.from_numpy(np.ascontiguousarray(trace.residuals[-1:, trace.position])))[0]
    return logits.float().numpy()


@pytest.mark.parametrize("arch", ARCHS)
def test_the_last_layer_is_one_thing_under_steering_and_patching(arch, tok):
    """Issue 31: steered or patched after the last block, the lens at the last layer is
    the model's own output, and a one-position edit there does not crash."""
    lm = _wrap(arch, tok)
    tokens = tokenize(lm, CLEAN)
    n, L = len(tokens), lm.info.num_layers
    for position in (None, 2):
        spec = SteerSpec(L, 5, None, 3.0, position)
        with steering(lm, spec, n):
            tr = trace_prompt(lm, "", tokens=tokens)
        np.testing.assert_allclose(_lens_top(lm, tr), tr.model_logits, atol=2e-4, rtol=1e-4)
        assert int(tr.lens[-1].ids[0]) == int(np.argmax(tr.model_logits))
    clean, corrupt = trace_prompt(lm, CLEAN), trace_prompt(lm, CORRUPT)
    patched = patched_trace(lm, clean, corrupt, L, n - 1)  # the grid's top row, last position
    np.testing.assert_allclose(_lens_top(lm, patched), patched.model_logits, atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(patched.residuals[-1, -1], clean.residuals[-1, -1], atol=1e-5)


def test_steering_beyond_the_dtype_is_refused_and_a_degenerate_state_is_an_error(tok):
    from spherescope.models.errors import ModelError
    from spherescope.models.patching import alpha_limit
    from spherescope.models.trace import check_not_degenerate
    import torch

    lm = _wrap("llama", tok)
    tokens = tokenize(lm, CLEAN)
    with pytest.raises(PromptError, match="too large for this model's float32"):
        with steering(lm, SteerSpec(1, 5, None, 1e30, None), len(tokens)):
            pass
    assert alpha_limit(torch.float16) < 1e4 < alpha_limit(torch.float32)
    path = np.ones((3, 4), np.float32)
    path[2] = 1e30
    with pytest.raises(ModelError, match="from layer 2 on"):
        check_not_degenerate(path, 0.0, torch.zeros(7))


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gemma2", "phi"])
def test_attribution_under_steering_sums_to_the_steered_difference(arch, tok):
    from spherescope.models.attribution import attribute_trace

    lm = _wrap(arch, tok)
    tokens = tokenize(lm, CLEAN)
    n, L = len(tokens), lm.info.num_layers
    for layer, position in ((0, None), (1, None), (L, None), (1, n - 1), (1, 2)):
        spec = SteerSpec(layer, 5, 7, 4.0, position)
        with steering(lm, spec, n):
            tr = trace_prompt(lm, "", tokens=tokens, sublayers=True)
        at = attribute_trace(lm, tr, tr.position, 3, 9, steer=spec)
        assert at.total == pytest.approx(at.logit_diff, abs=2e-3), (layer, position)
        assert (at.steer is None) == (position == 2), "a vector added elsewhere is no term here"
