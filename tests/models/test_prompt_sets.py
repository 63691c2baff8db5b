"""Prompt sets on every architecture: a padded batch gives each prompt its own single
run's numbers (left and right padding), and patching over pairs gives the recovery of
the mean difference that per-pair grids give."""

import numpy as np
import pytest

from spherescope.core.prompt_set import from_records
from spherescope.core.set_results import summarize
from spherescope.models.attribution import attribute_trace
from spherescope.models.errors import Cancelled, PromptError
from spherescope.models.head_patching import head_patch_grid
from spherescope.models.loaded import LoadedModel
from spherescope.models.patching import patch_grid
from spherescope.models.set_patching import prepare_pairs, set_patch
from spherescope.models.set_trace import iter_set_traces, prepare_set
from spherescope.models.source import Source
from spherescope.models.trace import lens_logit_diff, trace_prompt
from tiny_models import ARCHS, make_model, tiny_tokenizer

# Different lengths, so every batch of two pads one of its prompts.
PROMPTS = [
    {"prompt": "John and Mary went to the bar. John bought a drink for", "target": " Mary", "contrast": " John"},
    {"prompt": "The cat went up", "target": " the", "contrast": " John"},
    {"prompt": "A quick brown fox jumps over the lazy dog, again and", "target": " again", "contrast": " the"},
    {"prompt": "Mary and John went", "target": " to", "contrast": " Mary"},
    {"prompt": "The cat went up the stairs. NEXT next", "target": " Next", "contrast": " the"},
]
PAIRS = [
    {"prompt": "John and Mary went to the bar. John bought a drink for",
     "corrupt": "John and Mary went to the bar. Mary bought a drink for", "target": " Mary", "contrast": " John"},
    {"prompt": "Mary and John went to the bar. Mary bought a drink for",
     "corrupt": "Mary and John went to the bar. John bought a drink for", "target": " John", "contrast": " Mary"},
    {"prompt": "The cat went up the stairs. John bought a drink for",
     "corrupt": "The cat went up the stairs. Mary bought a drink for", "target": " Mary", "contrast": " John"},
]
ATTRIBUTING = [a for a in ARCHS if a != "opt-350m"]  # a post-norm model has no attribution


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def _loaded(arch, tok):
    return LoadedModel.wrap(make_model(arch), tok, Source("memory", arch))


@pytest.mark.parametrize("padding", ["right", "left"])
@pytest.mark.parametrize("arch", ARCHS)
def test_padded_batches_give_each_prompt_its_single_run(arch, padding, tok):
    loaded = _loaded(arch, tok)
    attributing = arch in ATTRIBUTING
    items = prepare_set(loaded, from_records(PROMPTS))
    traces = list(iter_set_traces(loaded, items, padding=padding, rows=2, attribution=attributing))
    assert [t.index for t in traces] == list(range(len(PROMPTS)))
    for it, t in zip(items, traces):
        single = trace_prompt(loaded, it.prompt, sublayers=attributing)
        assert t.position == single.position == len(single.tokens) - 1
        scale = np.abs(single.path()).max() + 1
        np.testing.assert_allclose(t.path, single.path(), atol=1e-4 * scale)
        assert t.next_token == single.next_token
        logits = single.model_logits
        assert t.final_diff == pytest.approx(float(logits[it.target] - logits[it.contrast]), abs=1e-4)
        np.testing.assert_allclose(t.lens_diff, lens_logit_diff(loaded, single.path(), it.target, it.contrast),
                                   atol=1e-4)
        if attributing:
            at = attribute_trace(loaded, single, single.position, it.target, it.contrast)
            np.testing.assert_allclose(t.attribution.attn, at.attn, atol=1e-4)
            np.testing.assert_allclose(t.attribution.mlp, at.mlp, atol=1e-4)
            assert t.attribution.embed == pytest.approx(at.embed, abs=1e-4)
            if at.heads is not None:
                np.testing.assert_allclose(t.attribution.heads, at.heads, atol=1e-4)
        else:
            assert t.attribution is None


def test_cancel_stops_a_set_between_layers(tok):
    loaded = _loaded("llama", tok)
    items = prepare_set(loaded, from_records(PROMPTS))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        list(iter_set_traces(loaded, items, rows=2, cancel=cancel))


def test_progress_counts_every_prompt_once(tok):
    loaded = _loaded("gpt2", tok)
    items = prepare_set(loaded, from_records(PROMPTS * 3))
    seen = []
    list(iter_set_traces(loaded, items, rows=4, on_progress=lambda done, total: seen.append((done, total))))
    assert seen[-1] == (15, 15) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def _mean_reference(loaded, pairs, m):
    """The recovery of the mean from single per-pair grids: patched = corrupt + r x (clean − corrupt)."""
    patched, heads, cds, kds = [], [], [], []
    for it in pairs:
        clean = trace_prompt(loaded, "", tokens=_toks(loaded, it.clean))
        corrupt = trace_prompt(loaded, "", tokens=_toks(loaded, it.corrupt))
        g = patch_grid(loaded, clean, corrupt, it.target, it.contrast)
        span = g.clean_diff - g.corrupt_diff
        patched.append(g.corrupt_diff + g.matrix[:, -m:] * span)
        hg = head_patch_grid(loaded, clean, corrupt, it.target, it.contrast)
        heads.append(hg.corrupt_diff + hg.matrix * span)
        cds.append(g.clean_diff)
        kds.append(g.corrupt_diff)
    c, k = np.mean(cds), np.mean(kds)
    return (np.mean(patched, 0) - k) / (c - k), (np.mean(heads, 0) - k) / (c - k), c, k


def _toks(loaded, ids):
    from spherescope.core.trajectory import Token

    return tuple(Token(i, loaded.token_text(i)) for i in ids)


@pytest.mark.parametrize("arch", ATTRIBUTING)
def test_patching_over_pairs_is_the_recovery_of_the_mean(arch, tok, monkeypatch):
    import spherescope.models.set_patching as sp

    loaded = _loaded(arch, tok)
    pairs = prepare_pairs(loaded, from_records(PAIRS))
    usable, cached = sp._Grid._usable, []
    monkeypatch.setattr(sp._Grid, "_usable", lambda self, prefix: cached.append(usable(self, prefix)) or cached[-1])
    grid = set_patch(loaded, pairs, heads=True)
    assert cached and all(cached), "heads are patched from the corrupt run's cached keys and values"
    m = min(len(p.clean) for p in pairs)
    assert grid.matrix.shape == (loaded.info.num_layers + 1, m)
    ref, href, c, k = _mean_reference(loaded, pairs, m)
    assert grid.clean_diff_mean == pytest.approx(c, abs=1e-4)
    assert grid.corrupt_diff_mean == pytest.approx(k, abs=1e-4)
    # recoveries divide by the mean clean − corrupt difference, small in a random tiny model
    np.testing.assert_allclose(grid.matrix, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grid.heads_matrix, href, rtol=1e-4, atol=1e-4)


def test_heads_without_a_usable_cache_are_patched_in_full(tok, monkeypatch):
    """Where a cached pass would not give back the corrupt run (an architecture whose
    cache can't be copied), every position is computed: the same recoveries."""
    import spherescope.models.set_patching as sp

    loaded = _loaded("llama", tok)
    pairs = prepare_pairs(loaded, from_records(PAIRS))
    cached = set_patch(loaded, pairs, heads=True).heads_matrix
    monkeypatch.setattr(sp._Prefix, "of", classmethod(lambda cls, *a: None))
    np.testing.assert_allclose(set_patch(loaded, pairs, heads=True).heads_matrix, cached, rtol=1e-4, atol=1e-4)


def test_bad_sets_are_refused_with_one_sentence(tok):
    loaded = _loaded("llama", tok)
    with pytest.raises(PromptError, match=r"row 2: .* is 2 tokens, not one"):
        prepare_set(loaded, from_records([PROMPTS[0], dict(PROMPTS[1], target=" bought a")]))
    with pytest.raises(PromptError, match="contrast in row 1 is its target itself"):
        prepare_set(loaded, from_records([dict(PROMPTS[0], contrast=" Mary")]))
    long = " ".join(["the cat"] * 80)
    with pytest.raises(PromptError, match=r"longer than .* context of 64 tokens in rows 2, 3"):
        prepare_set(loaded, from_records([PROMPTS[0], dict(PROMPTS[0], prompt=long), dict(PROMPTS[0], prompt=long)]))
    with pytest.raises(PromptError, match="too short to follow position 5 in row 2"):
        prepare_set(loaded, from_records([PROMPTS[0], dict(PROMPTS[0], prompt="The cat")]), position=5)
    uneven = [dict(PAIRS[0]), dict(PAIRS[1], corrupt="Mary and John went to the bar")]
    with pytest.raises(PromptError, match=r"same number of tokens.*row 2: \d+ and \d+ tokens"):
        prepare_pairs(loaded, from_records(uneven))
    with pytest.raises(PromptError, match="no 'corrupt' column"):
        prepare_pairs(loaded, from_records(PROMPTS))


def test_a_summary_is_the_mean_of_its_prompts(tok):
    loaded = _loaded("llama", tok)
    items = prepare_set(loaded, from_records(PROMPTS))
    traces = list(iter_set_traces(loaded, items, rows=3))
    s = summarize(list(reversed(traces)))
    assert s.n == 5 and s.prompts[0] == PROMPTS[0]["prompt"]
    assert s.final_diff_mean == pytest.approx(np.mean([t.final_diff for t in traces]))
    assert s.accuracy == pytest.approx(np.mean([t.final_diff > 0 for t in traces]))
    np.testing.assert_allclose(s.attn.mean(0), np.mean([t.attribution.attn for t in traces], 0), atol=1e-6)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_steering_over_a_set_is_each_prompts_own_sweep(arch, tok):
    from spherescope.core.patching import SteerSpec
    from spherescope.models.patching import steer_sweep
    from spherescope.models.set_steer import set_steer_curve

    loaded = _loaded(arch, tok)
    items = prepare_set(loaded, from_records(PROMPTS))
    toward, away = tok.encode(" John")[0], tok.encode(" Mary")[0]
    alphas = [-4.0, 0.0, 6.0]
    curve = set_steer_curve(loaded, items, 1, toward, away, alphas, rows=2)
    assert curve.diffs.shape == (3, len(PROMPTS))
    for k, it in enumerate(items):
        logits = steer_sweep(loaded, [t.id for t in it.tokens], SteerSpec(1, toward, away, 0.0), alphas)
        np.testing.assert_allclose(curve.diffs[:, k], logits[:, it.target] - logits[:, it.contrast], atol=1e-4)
    assert curve.accuracy.shape == (3,) and np.all((0 <= curve.accuracy) & (curve.accuracy <= 1))
    assert (curve.toward, curve.away, curve.layer) == (" John", " Mary", 1)
    # Each prompt toward its own contrast, away from its own target: one padded batch, each row its own direction.
    own = set_steer_curve(loaded, items, 2, None, None, alphas, rows=3)
    assert own.toward is None
    for k, it in enumerate(items):
        logits = steer_sweep(loaded, [t.id for t in it.tokens], SteerSpec(2, it.contrast, it.target, 0.0), alphas)
        np.testing.assert_allclose(own.diffs[:, k], logits[:, it.target] - logits[:, it.contrast], atol=1e-4)
    assert np.all(np.diff(own.mean) < 0), "pushing toward the contrast lowers target − contrast"
