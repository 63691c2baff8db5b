"""The real embedded SmolLM2-135M: the article's example must come out right."""

import numpy as np
import pytest

from spherescope.models.trace import trace_prompt

ARTICLE = "John and Mary went to the bar. John bought a drink for"
pytestmark = pytest.mark.real_model


def test_info_matches_smollm2(real_model):
    info = real_model.info
    assert (info.architecture, info.num_layers, info.hidden_size, info.vocab_size) == ("llama", 30, 576, 49152)
    assert info.tied_embeddings


def test_article_prompt_predicts_mary_and_norm_grows(real_model):
    trace = trace_prompt(real_model, ARTICLE)
    assert [t.text for t in trace.tokens][:3] == ["John", " and", " Mary"]
    assert len(trace.tokens) == 13 and trace.position == 12
    assert trace.next_token.text == " Mary"
    assert real_model.token_text(int(trace.lens[-1].ids[0])) == " Mary"
    norms = trace.norms[:, -1]
    assert norms[-1] > 50 * norms[0]
    # Grows through the layers: each third of the stack ends longer than it began.
    assert norms[10] < norms[20] < norms[30]
    lens_last = real_model.lens.logits_np(trace.residuals[-1, -1:])[0]
    assert np.abs(lens_last - trace.model_logits).max() <= 1e-3
    # The final norm brings the length back down: the block sees direction only.
    assert trace.final_normed_norm < norms[-1] / 5


def test_converted_cache_is_valid(real_model):
    from spherescope.models import cache
    from spherescope.models.cache import gguf_cache_key as _gguf_cache_key
    from spherescope.models.source import embedded_gguf

    entry = cache.cache_root() / _gguf_cache_key(embedded_gguf())
    assert cache.is_valid(entry)
    assert any(entry.glob("*.safetensors")) and (entry / "tokenizer.json").exists()


def test_vocabulary_text_is_what_transformers_decodes(real_model):
    """The vocabulary is decoded straight through the fast backend (10x quicker); the
    texts must be exactly what the tokenizer's own decode gives, specials included."""
    texts = real_model.vocab_text()
    ids = [[i] for i in range(len(texts))]
    assert texts == real_model.tokenizer.batch_decode(ids, clean_up_tokenization_spaces=False)
    assert texts[0] == "<|endoftext|>" and texts[-2] == " Mama"
