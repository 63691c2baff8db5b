"""Token texts from a hostile user (issue 31): random Unicode, digits, long strings and
#ids, as --target, --contrast, --attribute, --tokens and --steer-*. Each either
resolves to the one token the tokenizer gives for exactly that text, or is refused
with a sentence. And over random steering and patching inputs on the tiny models, the
last layer's lens is the model's output and attribution's terms sum to the logit
difference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spherescope.core.patching import SteerSpec
from spherescope.core.text import raw_text
from spherescope.core.vocab import explicit_id
from spherescope.models.errors import PromptError
from spherescope.models.loaded import LoadedModel
from spherescope.models.source import Source
from spherescope.models.token_lookup import TokenTable, resolve_token
from tiny_models import make_model, tiny_tokenizer

PROMPT = "John and Mary went to the bar. John bought a drink for"

token_texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789", min_size=1, max_size=8),
    st.text(alphabet="#", min_size=1, max_size=120),
    st.builds(lambda n: f"#{n}", st.integers(min_value=-5, max_value=10**13)),
    st.sampled_from([" Mary", "␣Mary", " John", "<eos>", "\n", " ", "", "Mary", "a" * 300]),
    st.builds(lambda a, b: a + b, st.sampled_from([" ", "␣", ""]), st.text(min_size=1, max_size=6)),
)


@pytest.fixture(scope="module")
def tiny():
    return LoadedModel.wrap(make_model("llama"), tiny_tokenizer(), Source("memory", "llama"))


@given(text=token_texts)
def test_a_token_text_is_exactly_one_token_or_refused(tiny, text):
    table = TokenTable(tiny)
    try:
        tid = resolve_token(tiny, text, "--target")
    except PromptError as exc:
        assert str(exc).startswith("--target: "), exc
        return
    assert 0 <= tid < tiny.info.vocab_size
    if explicit_id(text) is not None:
        assert tid == explicit_id(text)
    else:
        assert table.encode(raw_text(text)) == [tid], "the tokenizer's one token for exactly this text"


@given(layer=st.integers(0, 3), position=st.one_of(st.none(), st.integers(-13, 12)),
       alpha=st.floats(-50, 50, allow_nan=False), toward=st.integers(0, 100), away=st.one_of(st.none(), st.integers(101, 200)),
       target=st.integers(0, 100), contrast=st.integers(101, 200))
def test_steered_last_layer_lens_is_the_output_and_terms_sum(tiny, layer, position, alpha, toward, away, target, contrast):
    import torch

    from spherescope.models.attribution import attribute_trace
    from spherescope.models.patching import steering
    from spherescope.models.trace import tokenize, trace_prompt

    tokens = tokenize(tiny, PROMPT)
    spec = SteerSpec(layer, toward, away, alpha, position)
    with steering(tiny, spec, len(tokens)):
        tr = trace_prompt(tiny, "", tokens=tokens, sublayers=True)
    lens = tiny.lens.logits(torch.from_numpy(np.ascontiguousarray(tr.residuals[-1:, tr.position])))[0].numpy()
    np.testing.assert_allclose(lens, tr.model_logits, atol=5e-4, rtol=1e-4)
    at = attribute_trace(tiny, tr, tr.position, target, contrast, steer=spec)
    assert at.total == pytest.approx(at.logit_diff, abs=5e-3)


@given(layer=st.integers(0, 3), position=st.integers(0, 12))
def test_a_patched_cell_anywhere_keeps_lens_and_output_equal(tiny, layer, position):
    import torch

    from spherescope.models.patching import patched_trace
    from spherescope.models.trace import trace_prompt

    clean = trace_prompt(tiny, PROMPT)
    corrupt = trace_prompt(tiny, PROMPT.replace("John bought", "Mary bought"))
    if len(clean.tokens) != len(corrupt.tokens) or position >= len(clean.tokens):
        return
    tr = patched_trace(tiny, clean, corrupt, layer, position)
    lens = tiny.lens.logits(torch.from_numpy(np.ascontiguousarray(tr.residuals[-1:, tr.position])))[0].numpy()
    np.testing.assert_allclose(lens, tr.model_logits, atol=5e-4, rtol=1e-4)
