"""The model summary shown before loading: read from headers only, fast, and right."""

import struct
import time

import pytest

from spherescope.models.errors import ModelError
from spherescope.models.gguf_meta import GGUFFormatError, read_gguf_meta
from spherescope.models.source import embedded_gguf
from spherescope.models.devices import available_memory
from spherescope.models.summary import ModelSummary, human_bytes, memory_warning, summarize
from tiny_models import save_tiny


def test_embedded_summary_matches_the_real_model(real_model):
    t0 = time.perf_counter()
    s = summarize("embedded")
    assert time.perf_counter() - t0 < 1.0  # header only (gguf.GGUFReader takes ~2 s)
    info = real_model.info
    assert (s.architecture, s.layers, s.width, s.vocab, s.tied) == ("llama", info.num_layers, info.hidden_size,
                                                                     info.vocab_size, info.tied_embeddings)
    assert s.parameters == info.parameters  # the GGUF's tensors are the model's parameters
    assert s.license == "apache-2.0" and s.stored_dtype.endswith("(GGUF)") and s.loads_as == "float32"
    # Measured peak RSS for load + trace is 0.93-0.95 GB (benchmarks/bench_trace.py).
    assert 0.8 * 2**30 < s.memory_bytes() < 1.2 * 2**30


@pytest.mark.parametrize("arch", ["gpt2", "llama", "phi3", "gemma3"])
def test_directory_summary_matches_the_loaded_model(arch, tmp_path):
    from spherescope.models.loader import load_model

    folder = save_tiny(arch, tmp_path / "m")
    s = summarize(str(folder))
    info = load_model(str(folder)).info
    assert s.layers == info.num_layers and s.width == info.hidden_size and s.vocab == info.vocab_size
    assert s.tied == info.tied_embeddings
    assert s.parameters == info.parameters
    assert s.loads_as == "float32"
    assert s.memory_bytes("bfloat16") < s.memory_bytes("float32")


def test_untied_model_is_reported_untied(tmp_path):
    folder = save_tiny("gpt-neox", tmp_path / "m")  # GPT-NeoX has a separate embed_out
    assert summarize(str(folder)).tied is False


def test_missing_and_corrupt_sources_are_sentences(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        summarize("/no/such/model")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 10))  # cut in the header
    with pytest.raises(ModelError, match="truncated"):
        summarize(str(bad))
    notgguf = tmp_path / "x.gguf"
    notgguf.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelError, match="not a GGUF"):
        summarize(str(notgguf))
    d = tmp_path / "d"
    d.mkdir()
    (d / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="config.json"):
        summarize(str(d))


def test_uncached_hub_id_says_it_will_download():
    with pytest.raises(ModelError, match="local Hugging Face cache"):
        summarize("nobody/no-such-model-xyz")


def test_gguf_meta_reads_arrays_lengths_and_scalars():
    meta = read_gguf_meta(embedded_gguf())
    assert meta.get("tokenizer.ggml.tokens") == 49152  # a long array keeps its length only
    assert meta.arch_field("block_count") == 30
    assert meta.tensors["token_embd.weight"][0] == (576, 49152)


def test_gguf_reader_rejects_impossible_counts(tmp_path):
    p = tmp_path / "huge.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 10**9, 1))
    with pytest.raises(GGUFFormatError, match="impossible"):
        read_gguf_meta(p)


def test_memory_warning_only_when_it_does_not_fit():
    s = ModelSummary("m", "llama", 32, 4096, 32000, True, 7_000_000_000, "bfloat16", "bfloat16")
    need = s.memory_bytes()
    assert memory_warning(s, None, "cpu", need * 2) is None
    warn = memory_warning(s, None, "cpu", need // 2)
    assert warn and human_bytes(need) in warn and "float16" in warn
    assert "GPU memory" in memory_warning(s, "float32", "cuda", 8 * 2**30)
    assert memory_warning(s, None, "cpu", None) is None  # unknown: no false alarm
    assert available_memory("cpu") > 0


def test_loading_on_a_missing_gpu_is_a_sentence(tiny_dir):
    import torch

    from spherescope.models.loader import load_model

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelError, match="CUDA"):
        load_model(str(tiny_dir), device="cuda")
