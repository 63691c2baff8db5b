"""The nnsight backend, run locally on tiny models, must give the direct backend's
trajectory: the same vectors, norms, basis coordinates and lens."""

import numpy as np
import pytest

from spherescope.models.loader import load_model
from spherescope.models.trace import trace_prompt
from tiny_models import ARCHS, save_tiny

nnsight_backend = pytest.importorskip("spherescope.models.nnsight_backend")
pytest.importorskip("nnsight")

PROMPT = "John and Mary went to the bar. John bought"


@pytest.mark.parametrize("arch", ARCHS)
def test_nnsight_trajectory_equals_direct(arch, tmp_path):
    loaded = load_model(str(save_tiny(arch, tmp_path / "m")))
    direct = trace_prompt(loaded, PROMPT, position=-2, top_k=5)
    lm = nnsight_backend.wrap(loaded.model, loaded.tokenizer)
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(loaded.info.hidden_size, 3)))[0].T
    got = nnsight_backend.trace_nnsight(lm, PROMPT, position=-2, top_k=5, basis=basis, token_text=loaded.token_text)
    assert got.position == direct.position and got.tokens == direct.tokens
    path = direct.residuals[:, direct.position]
    np.testing.assert_allclose(got.path, path, atol=1e-5)
    np.testing.assert_allclose(got.norms, np.linalg.norm(direct.residuals, axis=-1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.coords, path @ basis.T, atol=1e-5)
    assert len(got.lens) == len(direct.lens) == loaded.info.num_layers + 1
    for a, b in zip(got.lens, direct.lens):
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)


def test_nnsight_bad_position_is_a_sentence(tiny_loaded):
    from spherescope.models.errors import PromptError

    lm = nnsight_backend.wrap(tiny_loaded.model, tiny_loaded.tokenizer)
    with pytest.raises(PromptError, match="out of range"):
        nnsight_backend.trace_nnsight(lm, "John and Mary", position=99)
    with pytest.raises(PromptError, match="empty"):
        nnsight_backend.trace_nnsight(lm, "")


def test_api_key_is_kept_in_memory_only(tmp_path, monkeypatch):
    from nnsight import CONFIG

    monkeypatch.setattr(CONFIG.API, "APIKEY", None)
    saved = []
    monkeypatch.setattr(type(CONFIG), "save", lambda self: saved.append(True))
    assert nnsight_backend.configure_api_key("secret-key-123")
    assert CONFIG.API.APIKEY == "secret-key-123" and not saved
