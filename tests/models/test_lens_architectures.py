"""Table-driven: every supported architecture, tiny and random, built in the test."""

import numpy as np
import pytest
import torch

from spherescope.models.loader import load_model
from spherescope.models.trace import trace_prompt
from tiny_models import ARCHS, make_model, save_tiny

PROMPT = "John and Mary went to the bar."


@pytest.fixture(scope="module", params=ARCHS)
def arch_loaded(request, tmp_path_factory):
    """Loaded the way a user's directory is: save_pretrained, then open the folder."""
    folder = save_tiny(request.param, tmp_path_factory.mktemp(request.param) / "model")
    return request.param, load_model(str(folder))


def test_lens_at_last_layer_equals_model_logits(arch_loaded):
    arch, loaded = arch_loaded
    trace = trace_prompt(loaded, PROMPT, top_k=5)
    assert trace.residuals.shape[0] == loaded.info.num_layers + 1 == 4
    lens_last = loaded.lens.logits_np(trace.residuals[-1, trace.position][None])[0]
    assert np.abs(lens_last - trace.model_logits).max() <= 1e-3, arch
    assert trace.lens[-1].ids[0] == int(np.argmax(trace.model_logits))
    # Every position is traced, not only the followed one.
    assert trace.residuals.shape[1] == len(trace.tokens)


def test_every_position_matches_its_own_logits(arch_loaded):
    arch, loaded = arch_loaded
    tokens_n = len(loaded.tokenizer(PROMPT)["input_ids"])
    for pos in (0, tokens_n // 2):
        trace = trace_prompt(loaded, PROMPT, position=pos)
        lens_last = loaded.lens.logits_np(trace.residuals[-1, pos][None])[0]
        assert np.abs(lens_last - trace.model_logits).max() <= 1e-3


def test_last_residual_is_before_the_final_norm(arch_loaded):
    arch, loaded = arch_loaded
    ids = torch.tensor([loaded.tokenizer(PROMPT)["input_ids"]])
    with torch.no_grad():
        out = loaded.model(ids, output_hidden_states=True)
    trace = trace_prompt(loaded, PROMPT)
    L = loaded.info.num_layers
    for layer in range(1, L):
        np.testing.assert_allclose(trace.residuals[layer], out.hidden_states[layer][0].numpy(), atol=1e-5)
    if loaded.lens.final_norm is not None:
        # transformers' last hidden state is already normalised; ours is not.
        normed = loaded.lens.normed(torch.from_numpy(trace.residuals[L])).numpy()
        if arch != "opt-350m":
            np.testing.assert_allclose(normed, out.hidden_states[L][0].numpy(), atol=1e-4)
        assert not np.allclose(trace.residuals[L], out.hidden_states[L][0].numpy(), atol=1e-3)


def test_effective_unembedding_is_the_lens_up_to_a_positive_scale(arch_loaded):
    arch, loaded = arch_loaded
    trace = trace_prompt(loaded, PROMPT)
    W, b = loaded.unembedding()
    assert W.shape == (loaded.info.vocab_size, loaded.info.hidden_size)
    h = trace.residuals[2, trace.position]
    logits = loaded.lens.logits_np(h[None])[0]
    if loaded.lens.softcap:
        logits = np.arctanh(np.clip(logits / loaded.lens.softcap, -0.999999, 0.999999)) * loaded.lens.softcap
    raw = W @ h
    # logits - b = raw / s(h), one positive scalar s for every token.
    scale = np.linalg.lstsq(raw[:, None], logits - b, rcond=None)[0][0]
    assert scale > 0
    np.testing.assert_allclose(raw * scale, logits - b, atol=2e-3 * np.abs(logits).max() + 1e-4)


def test_vocabulary_directions_are_the_centred_effective_rows_without_a_copy(arch_loaded):
    """The vocabulary's directions are computed from the head's rows on use (core.
    unit_rows); they must equal the unit rows of the centred W_eff, and for heads behind
    an RMSNorm they must not hold a V x d copy of their own."""
    from spherescope.core.vocab import build_vocab

    arch, loaded = arch_loaded
    W, _b = loaded.unembedding()
    u, gain, _b2 = loaded.head_factors()
    np.testing.assert_allclose(u * gain if gain is not None else u, W, rtol=1e-6, atol=1e-7)
    vocab = build_vocab(u, loaded.vocab_text(), scale=gain)
    centred = W - W.mean(axis=0, dtype=np.float64).astype(np.float32)
    want = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(vocab.directions), want, atol=2e-6)
    np.testing.assert_allclose(vocab.lengths, np.linalg.norm(W, axis=1), rtol=1e-5)
    rows = loaded.unembedding_rows([3, 1])
    np.testing.assert_allclose(rows, W[[3, 1]], rtol=1e-6, atol=1e-7)
    head = loaded.lens.head.weight.detach().numpy()
    rms = loaded.lens.project_out is None and not isinstance(loaded.lens.final_norm, torch.nn.LayerNorm)
    assert np.shares_memory(vocab.directions.base, head) == rms, arch
    assert not vocab.directions.base.flags.writeable or not rms  # the model's weights are not for writing


def test_streaming_callback_sees_every_layer_in_order(arch_loaded):
    _, loaded = arch_loaded
    seen = []
    trace_prompt(loaded, PROMPT, on_layer=lambda f: seen.append(f.layer))
    assert seen == list(range(loaded.info.num_layers + 1))


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gemma2"])
def test_half_precision_model_gives_float32_lens_close_to_float32_model(arch, tmp_path):
    m32 = make_model(arch, seed=3)
    m16 = make_model(arch, seed=3, dtype=torch.bfloat16)
    from spherescope.models.loaded import LoadedModel
    from spherescope.models.source import Source
    from tiny_models import tiny_tokenizer

    tok = tiny_tokenizer()
    a = trace_prompt(LoadedModel.wrap(m32, tok, Source("dir", "f32")), PROMPT)
    b = trace_prompt(LoadedModel.wrap(m16, tok, Source("dir", "bf16")), PROMPT)
    assert b.residuals.dtype == np.float32
    la = a.lens[-1]
    lb = b.lens[-1]
    assert lb.logits.dtype == np.float32
    # bfloat16 weights keep ~3 significant digits: the lens agrees to within 10% of the logit range.
    tol = 0.1 * (np.abs(a.model_logits).max() + 1)
    full_a = LoadedModel.wrap(m32, tok, Source("dir", "f32")).lens.logits_np(a.residuals[-1, -1:])[0]
    full_b = LoadedModel.wrap(m16, tok, Source("dir", "bf16")).lens.logits_np(b.residuals[-1, -1:])[0]
    assert np.abs(full_a - full_b).max() < tol
    assert la.ids[0] in lb.ids[:3]


@pytest.fixture(scope="module")
def saved_dirs(tmp_path_factory):
    return {}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_model_gives_a_float32_lens_close_to_float32(arch, dtype, tmp_path_factory, saved_dirs):
    """The user picks float16/bfloat16 weights; the lens and geometry stay float32 and
    agree with the float32 model. Tolerance: the residuals differ by the model's own
    rounding: at most 6% relative for bfloat16's 8-bit mantissa after three blocks
    (worst measured 3.5%, qwen2) and 1% for float16 (worst measured 0.6%, phi3); the
    lens's output is compared as probabilities."""
    if arch not in saved_dirs:
        saved_dirs[arch] = save_tiny(arch, tmp_path_factory.mktemp(arch + "-half") / "model")
    folder = str(saved_dirs[arch])
    full = load_model(folder)
    half = load_model(folder, dtype=dtype)
    assert half.info.dtype == dtype and full.info.dtype == "float32"
    t32 = trace_prompt(full, PROMPT, top_k=5)
    t16 = trace_prompt(half, PROMPT, top_k=5)
    assert t16.residuals.dtype == np.float32  # the geometry is float32 whatever the weights
    logits16 = half.lens.logits(torch.from_numpy(t16.residuals[:, t16.position]))
    assert logits16.dtype == torch.float32
    rel = np.linalg.norm(t16.residuals - t32.residuals, axis=-1) / np.linalg.norm(t32.residuals, axis=-1)
    tol = 0.06 if dtype == "bfloat16" else 0.01
    assert rel.max() < tol, (arch, dtype, rel.max())
    for a, b in zip(t32.lens, t16.lens):
        p32 = dict(zip(a.ids.tolist(), a.probs.tolist()))
        assert abs(p32.get(int(b.ids[0]), 0.0) - float(b.probs[0])) < 0.02 or int(a.ids[0]) == int(b.ids[0])


def test_a_few_token_texts_are_those_of_the_whole_vocabulary(tiny_dir):
    """A command decodes only the tokens it names (no 49k-string table); the texts must
    be exactly those the window's table gives."""
    loaded = load_model(str(tiny_dir))
    ids = (0, 1, 7, loaded.info.vocab_size - 1)
    few = [loaded.token_text(i) for i in ids]
    assert loaded._vocab_text is None, "a few texts did not decode the whole vocabulary"
    table = loaded.vocab_text()
    assert few == [table[i] for i in ids]
    assert loaded.token_text(loaded.info.vocab_size) == f"<{loaded.info.vocab_size}>"
