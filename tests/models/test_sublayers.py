"""Inside the layer, on every supported architecture: the attention and MLP writes add up
to the next residual, their direct logit attribution adds up to the logit difference,
and the heads add up to the attention write."""

import numpy as np
import pytest
import torch

from spherescope.models.attribution import attribute_trace
from spherescope.models.errors import ModelError, PromptError
from spherescope.models.loaded import LoadedModel
from spherescope.models.source import Source
from spherescope.models.trace import trace_prompt
from tiny_models import ARCHS, make_model, tiny_tokenizer

PROMPT = "John and Mary went to the bar. John bought a drink for"
SUPPORTED = [a for a in ARCHS if a != "opt-350m"]


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


def _wrap(arch, tok, dtype=None):
    return LoadedModel.wrap(make_model(arch, dtype=dtype), tok, Source("memory", arch))


def _precap(loaded, h):
    lens = loaded.lens
    x = lens.normed(torch.from_numpy(np.asarray(h, np.float32)[None]))
    if lens.project_out is not None:
        x = lens.project_out(x)
    return lens.head(x).float()[0].detach().numpy()


@pytest.mark.parametrize("arch", SUPPORTED)
def test_writes_add_up_and_attribution_is_exact(arch, tok):
    loaded = _wrap(arch, tok)
    tr = trace_prompt(loaded, PROMPT, sublayers=True)
    sub, res = tr.sublayers, tr.residuals
    assert sub.attn.shape == sub.mlp.shape == (loaded.info.num_layers, res.shape[1], res.shape[2])
    assert sub.parallel == (arch in ("gpt-neox", "phi"))
    for i in range(loaded.info.num_layers):
        rebuilt = res[i] + sub.attn[i] + sub.mlp[i]
        assert np.abs(rebuilt - res[i + 1]).max() <= 1e-4 * np.abs(res[i + 1]).max(), f"block {i + 1}"
    target, contrast = int(np.argmax(tr.model_logits)), int(np.argsort(tr.model_logits)[-2])
    at = attribute_trace(loaded, tr, tr.position, target, contrast)
    pre = _precap(loaded, res[-1, tr.position])
    assert at.logit_diff == pytest.approx(pre[target] - pre[contrast], abs=1e-4)
    assert at.total == pytest.approx(at.logit_diff, abs=1e-3), "embedding + writes + bias = the logit difference"
    if "gemma2" not in arch and "gemma3" not in arch:  # soft-capped: the terms add up before the cap
        assert at.logit_diff == pytest.approx(float(tr.model_logits[target] - tr.model_logits[contrast]), abs=1e-3)
    alone = attribute_trace(loaded, tr, tr.position, target, None)
    assert alone.contrast is None and alone.logit_diff == pytest.approx(pre[target], abs=1e-4)
    if at.heads is not None:
        np.testing.assert_allclose(at.heads.sum(axis=1) + at.head_bias, at.attn, atol=1e-4)
    else:
        assert arch in ("gemma2", "gemma3"), "heads are split wherever the attention output is linear"


def test_post_norm_blocks_are_refused_with_a_sentence(tok):
    with pytest.raises(ModelError, match="post-norm"):
        trace_prompt(_wrap("opt-350m", tok), PROMPT, sublayers=True)


def test_bfloat16_weights_give_float32_attribution(tok):
    loaded = _wrap("llama", tok, dtype=torch.bfloat16)
    tr = trace_prompt(loaded, PROMPT, sublayers=True)
    assert tr.sublayers.attn.dtype == np.float32 and tr.residuals.dtype == np.float32
    at = attribute_trace(loaded, tr, tr.position, 5, 6)
    assert at.attn.dtype == np.float32 and at.heads.dtype == np.float32
    assert at.total == pytest.approx(at.logit_diff, abs=0.05 * max(1.0, abs(at.logit_diff)))


def test_bad_pairs_are_sentences(tok):
    loaded = _wrap("llama", tok)
    tr = trace_prompt(loaded, PROMPT, sublayers=True)
    with pytest.raises(PromptError, match="the target itself"):
        attribute_trace(loaded, tr, tr.position, 5, 5)
    with pytest.raises(PromptError, match="not in this model's vocabulary"):
        attribute_trace(loaded, tr, tr.position, 10**9, None)
    plain = trace_prompt(loaded, PROMPT)
    with pytest.raises(PromptError, match="without its sublayers"):
        attribute_trace(loaded, plain, plain.position, 5, 6)


@pytest.mark.real_model
def test_the_article_prompt_block_24_attention_turns_it_to_mary(real_model):
    tr = trace_prompt(real_model, PROMPT, sublayers=True)
    sub = tr.sublayers
    for i in range(real_model.info.num_layers):
        assert np.abs(tr.residuals[i] + sub.attn[i] + sub.mlp[i] - tr.residuals[i + 1]).max() <= \
            1e-4 * np.abs(tr.residuals[i + 1]).max()
    at = attribute_trace(real_model, tr, tr.position, 5099, 2322)
    assert at.total == pytest.approx(at.logit_diff, abs=1e-3)
    assert at.logit_diff == pytest.approx(float(tr.model_logits[5099] - tr.model_logits[2322]), abs=1e-3)
    assert int(np.argmax(at.attn)) + 1 == 24 and at.attn[23] > 1.5, "the name-mover block"
    assert at.top_heads(24, 1)[0][0] == 3
    np.testing.assert_allclose(at.heads.sum(axis=1) + at.head_bias, at.attn, atol=1e-3)
