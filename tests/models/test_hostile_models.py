"""Hostile model folders and files: each refused with one sentence before any large
allocation, never a hang or a raw library error."""

import json

import numpy as np
import pytest
import torch

from spherescope.models.errors import ModelError
from spherescope.models.loaded import LoadedModel
from spherescope.models.loader import load_model
from spherescope.models.source import Source
from spherescope.models.trace import trace_prompt
from tiny_models import make_model, save_tiny, tiny_tokenizer


class _Thing:
    pass


def test_a_config_claiming_absurd_sizes_is_refused_before_allocating(tmp_path):
    folder = save_tiny("llama", tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(hidden_size=1_048_576, num_hidden_layers=1_000_000, intermediate_size=4_194_304)
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="Not loading .* needs about .* --ignore-memory on the command line"):
        load_model(str(folder))


def test_a_trace_with_nan_is_an_error_naming_the_layer():
    tok = tiny_tokenizer()
    model = make_model("llama")
    with torch.no_grad():
        model.model.layers[1].mlp.down_proj.weight[0, 0] = float("nan")
    loaded = LoadedModel.wrap(model, tok, Source("memory", "llama"))
    with pytest.raises(ModelError, match="NaN or infinite values from layer 2 on"):
        trace_prompt(loaded, "John and Mary went to the bar.")


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_a_broken_safetensors_link_is_one_sentence(tmp_path, kind):
    from spherescope.models.summary import summarize

    folder = save_tiny("llama", tmp_path / "m")
    target = folder / "model.safetensors"
    target.unlink()
    if kind == "dangling":
        target.symlink_to(tmp_path / "nowhere.safetensors")
    else:
        target.symlink_to(target)
    with pytest.raises(ModelError, match="not a readable file"):
        summarize(str(folder))
    with pytest.raises(ModelError):
        load_model(str(folder))


def test_a_pickle_with_objects_is_refused_with_a_sentence_even_when_allowed(tmp_path):
    folder = save_tiny("llama", tmp_path / "m")
    sd = {k: v for k, v in make_model("llama").state_dict().items()}
    sd["extra"] = _Thing()  # a Python object of a class the safe unpickler does not know
    (folder / "model.safetensors").unlink()
    torch.save(sd, folder / "pytorch_model.bin")
    with pytest.raises(ModelError, match="safe loader refuses .* never runs code"):
        load_model(str(folder), allow_pickle=True)


def test_the_embedded_models_tokens_still_work():
    """(the guard: a sound model loads and traces as before)"""
    loaded = load_model()
    tr = trace_prompt(loaded, "John and Mary went to the bar. John bought a drink for")
    assert np.isfinite(tr.residuals).all() and tr.next_token.text == " Mary"
