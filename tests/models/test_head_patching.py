"""Per-head patching and one head's view, on every supported architecture."""

import numpy as np
import pytest
import torch

from spherescope.models.errors import ModelError, PromptError
from spherescope.models.head_patching import head_patch_grid, output_projections
from spherescope.models.loaded import LoadedModel
from spherescope.models.source import Source
from spherescope.models.trace import trace_prompt
from tiny_models import ARCHS, make_model, tiny_tokenizer

CLEAN = "John and Mary went to the bar. John bought a drink for"
CORRUPT = "John and Mary went to the bar. Mary bought a drink for"
SUPPORTED = [a for a in ARCHS if a != "opt-350m"]


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def _pair(loaded, tok):
    clean, corrupt = trace_prompt(loaded, CLEAN), trace_prompt(loaded, CORRUPT)
    return clean, corrupt, tok.encode(" Mary")[0], tok.encode(" John")[0]


def _one_head(loaded, clean, corrupt, block, head, target, contrast):
    """The reference: one patched run, by hand, for one (block, head)."""
    proj = output_projections(loaded)[block]
    kept = {}

    def keep(module, args):
        kept["z"] = args[0][0, -1].clone()

    def put(module, args):
        z = args[0].clone()
        hd = z.shape[-1] // n_heads
        z[0, -1, head * hd:(head + 1) * hd] = kept["z"][head * hd:(head + 1) * hd]
        return (z, *args[1:])

    cfg = loaded.model.config
    n_heads = getattr(cfg, "num_attention_heads", None) or cfg.n_head
    ids = lambda tr: torch.tensor([[t.id for t in tr.tokens]])
    with torch.no_grad():
        h = proj.register_forward_pre_hook(keep)
        loaded.model(input_ids=ids(clean))
        h.remove()
        h = proj.register_forward_pre_hook(put)
        logits = loaded.model(input_ids=ids(corrupt)).logits[0, -1].float()
        h.remove()
    return float(logits[target] - logits[contrast])


@pytest.mark.parametrize("arch", SUPPORTED)
def test_batched_grid_matches_single_runs(arch, tok):
    loaded = LoadedModel.wrap(make_model(arch), tok, Source("memory", arch))
    clean, corrupt, target, contrast = _pair(loaded, tok)
    rows = []
    grid = head_patch_grid(loaded, clean, corrupt, target, contrast, on_row=lambda b, r: rows.append(b))
    n_heads = grid.matrix.shape[1]
    assert grid.matrix.shape[0] == loaded.info.num_layers and rows == list(range(loaded.info.num_layers))
    assert np.isfinite(grid.matrix).all()
    for block, head in ((0, 0), (loaded.info.num_layers - 1, n_heads - 1)):
        diff = _one_head(loaded, clean, corrupt, block, head, target, contrast)
        expected = (diff - grid.corrupt_diff) / (grid.clean_diff - grid.corrupt_diff)
        assert grid.matrix[block, head] == pytest.approx(expected, abs=1e-4)
    one = head_patch_grid(loaded, clean, corrupt, target, contrast, batch=1)
    np.testing.assert_allclose(one.matrix, grid.matrix, atol=1e-4)


def test_post_norm_opt_is_refused_with_a_sentence(tok):
    loaded = LoadedModel.wrap(make_model("opt-350m"), tok, Source("memory", "opt-350m"))
    clean, corrupt, target, contrast = _pair(loaded, tok)
    with pytest.raises(ModelError, match="post-norm"):
        head_patch_grid(loaded, clean, corrupt, target, contrast)


def test_prompts_of_unequal_length_are_refused(tok):
    loaded = LoadedModel.wrap(make_model("llama"), tok, Source("memory", "llama"))
    clean, _c, target, contrast = _pair(loaded, tok)
    other = trace_prompt(loaded, "Mary went home")
    with pytest.raises(PromptError, match="equal length"):
        head_patch_grid(loaded, clean, other, target, contrast)


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gpt-neox", "phi"])
def test_a_heads_view_reads_writes_and_says(arch, tok):
    from spherescope.models.attribution import attribute_trace
    from spherescope.models.heads import head_view

    loaded = LoadedModel.wrap(make_model(arch), tok, Source("memory", arch))
    tr = trace_prompt(loaded, CLEAN, sublayers=True, attention=True)
    target, contrast = tok.encode(" Mary")[0], tok.encode(" John")[0]
    at = attribute_trace(loaded, tr, tr.position, target, contrast)
    layer, head = loaded.info.num_layers, 1
    hv = head_view(loaded, tr, layer, head, k=loaded.info.vocab_size, attribution=at)
    assert hv.weights.shape == (len(tr.tokens),) and hv.weights.sum() == pytest.approx(1.0, abs=1e-5)
    says = dict(hv.says)
    assert says[target] - says[contrast] == pytest.approx(at.heads[layer - 1, head], abs=1e-4), \
        "what it says for the pair is its attribution term"
    assert hv.dla == pytest.approx(at.heads[layer - 1, head])
    assert list(dict(hv.says).values()) == sorted(says.values(), reverse=True)
    assert hv.reads(1)[0][1] == pytest.approx(hv.weights.max())


def test_a_post_norm_write_is_not_split_by_head(tok):
    from spherescope.models.heads import head_view

    loaded = LoadedModel.wrap(make_model("gemma2"), tok, Source("memory", "gemma2"))
    tr = trace_prompt(loaded, CLEAN, sublayers=True, attention=True)
    with pytest.raises(PromptError, match="normalised after"):
        head_view(loaded, tr, 1, 0)
