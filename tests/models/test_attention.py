"""Attention weights from the followed position, on every supported architecture: read
beside the block's own (SDPA) computation, they are the eager attention's weights."""

import numpy as np
import pytest
import torch

from spherescope.models.attention import AttentionRecorder
from spherescope.models.loaded import LoadedModel
from spherescope.models.source import Source
from tiny_models import ARCHS, make_model, tiny_tokenizer

PROMPT = "John and Mary went to the bar. John bought a drink for"


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def _eager_rows(model, ids, pos):
    model.set_attn_implementation("eager")
    try:
        out = model(input_ids=ids, output_attentions=True, use_cache=False)
    finally:
        model.set_attn_implementation("sdpa") if model._supports_sdpa else None
    return np.stack([a[0, :, pos].float().numpy() for a in out.attentions])


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pos", [-1, 4])
def test_weights_sum_to_one_and_match_eager(arch, tok, pos):
    model = make_model(arch)
    loaded = LoadedModel.wrap(model, tok, Source("memory", arch))
    ids = torch.tensor([tok(PROMPT)["input_ids"]])
    p = pos % ids.shape[1]
    with torch.no_grad():
        with AttentionRecorder(model, loaded.blocks, p) as rec:
            model(input_ids=ids, use_cache=False)
        w = rec.weights
        expected = _eager_rows(model, ids, p)
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    heads = getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head")
    assert w.shape == (loaded.info.num_layers, heads, ids.shape[1])
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(w[:, :, p + 1:] == 0), "a head never reads a later position"
    np.testing.assert_allclose(w, expected, atol=1e-4)


def test_the_attention_function_is_restored(tok):
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    model = make_model("llama")
    loaded = LoadedModel.wrap(model, tok, Source("memory", "llama"))
    before = dict(ALL_ATTENTION_FUNCTIONS._local_mapping)
    with pytest.raises(RuntimeError):
        with AttentionRecorder(model, loaded.blocks, 0):
            raise RuntimeError("a failed forward pass")
    assert dict(ALL_ATTENTION_FUNCTIONS._local_mapping) == before


@pytest.mark.parametrize("arch,change", [("llama", {"num_key_value_heads": 2}), ("mistral", {"sliding_window": 4}),
                                         ("qwen2", {"num_key_value_heads": 1})],
                         ids=["grouped-query", "sliding-window", "multi-query"])
def test_grouped_query_and_sliding_window(arch, change, tok):
    from transformers import AutoModelForCausalLM

    from tiny_models import config_for

    torch.manual_seed(0)
    cfg = config_for(arch)
    for k, v in change.items():
        setattr(cfg, k, v)
    if "sliding_window" in change and hasattr(cfg, "use_sliding_window"):
        cfg.use_sliding_window = True
    model = AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    loaded = LoadedModel.wrap(model, tok, Source("memory", arch))
    ids = torch.tensor([tok(PROMPT)["input_ids"]])
    p = ids.shape[1] - 1
    with torch.no_grad():
        with AttentionRecorder(model, loaded.blocks, p) as rec:
            model(input_ids=ids, use_cache=False)
        expected = _eager_rows(model, ids, p)
    np.testing.assert_allclose(rec.weights, expected, atol=1e-4)
    if "sliding_window" in change:
        assert np.all(rec.weights[:, :, : p - 3] == 0), "nothing outside the window is read"
