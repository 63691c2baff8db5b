"""Model folders from a hostile world: safetensors headers and config.json values. The
model dialog's description and the loader answer with a ModelError sentence or a model,
in bounded time, and never allocate what a config merely claims."""

import json
import shutil
import struct
from functools import lru_cache
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from spherescope.models.errors import ModelError
from spherescope.models.loader import load_model
from spherescope.models.summary import safetensors_headers, summarize
from tests.fuzz.bounds import within
from tests.fuzz.strategies import EDGE_INTS, json_values
from tiny_models import save_tiny


@lru_cache(maxsize=1)
def _tiny(root: str) -> Path:
    return save_tiny("llama", Path(root) / "llama")


def _copy(tmp: Path, root) -> Path:
    folder = tmp / "m"
    shutil.copytree(_tiny(str(root)), folder)
    return folder


def _summarize_or_refuse(folder: Path) -> None:
    try:
        with within(20):
            summarize(str(folder))
    except ModelError as exc:
        assert str(exc) and "\n" not in str(exc).strip()


def _load_or_refuse(folder: Path) -> None:
    try:
        with within(60):
            load_model(str(folder), device="cpu")
    except ModelError as exc:
        assert str(exc) and "unexpected" not in str(exc).lower(), str(exc)


_entry = st.fixed_dictionaries({}, optional={"dtype": json_values, "shape": json_values | st.lists(
    st.sampled_from(EDGE_INTS), max_size=4), "data_offsets": json_values})


@given(header=st.dictionaries(st.text(max_size=20), _entry | json_values, max_size=4) | json_values,
       claimed=st.none() | st.sampled_from([0, 7, 2**31, 2**63, 2**64 - 1]), tail=st.binary(max_size=32))
def test_safetensors_headers(tmp_path_factory, header, claimed, tail):
    folder = tmp_path_factory.mktemp("st")
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 32}))
    body = json.dumps(header, allow_nan=True).encode()
    n = len(body) if claimed is None else claimed
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", n) + body + tail)
    try:
        with within(20):
            out = safetensors_headers(folder)
    except ModelError as exc:
        assert str(exc)
        return
    assert all(isinstance(shape, tuple) for shape, _ in out.values())
    _summarize_or_refuse(folder)


@given(raw=st.binary(max_size=64))
def test_safetensors_random_bytes(tmp_path_factory, raw):
    folder = tmp_path_factory.mktemp("st")
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(raw)
    _summarize_or_refuse(folder)


_SIZES = ["hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size", "num_attention_heads",
          "num_key_value_heads", "max_position_embeddings", "head_dim"]
# Small or absurd: a size in between is a real load of many GB, which proves nothing here.
_size_value = st.integers(-2, 64) | st.sampled_from([2**20, 2**31, 2**40, 10**12]) | json_values


@given(changes=st.dictionaries(st.sampled_from(_SIZES + ["model_type", "architectures", "torch_dtype",
                                                         "tie_word_embeddings", "rms_norm_eps"]),
                               _size_value, min_size=1, max_size=3))
@example(changes={"hidden_size": 0, "model_type": 0, "architectures": 1})  # found by a CI-profile run
def test_config_values(tmp_path_factory, changes):
    tmp = tmp_path_factory.mktemp("cfg")
    folder = _copy(tmp, tmp_path_factory.getbasetemp())
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg, allow_nan=True))
    _summarize_or_refuse(folder)
    _load_or_refuse(folder)


@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_config_that_is_not_json(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("cfg")
    folder = _copy(tmp, tmp_path_factory.getbasetemp())
    (folder / "config.json").write_text(text)
    _summarize_or_refuse(folder)
    _load_or_refuse(folder)
