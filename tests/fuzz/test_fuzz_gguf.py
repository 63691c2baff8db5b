"""GGUF headers from a hostile world: random and truncated headers, absurd counts and
lengths. The header reader (the model dialog, and the check before any conversion)
returns a description or a GGUFFormatError sentence, in bounded time and memory."""

import struct
from functools import lru_cache

from hypothesis import given
from hypothesis import strategies as st

from spherescope.models.errors import ModelError
from spherescope.models.gguf_meta import GGUFFormatError, read_gguf_meta
from spherescope.models.source import embedded_gguf
from spherescope.models.summary import summarize
from tests.fuzz.bounds import within

_U64 = [0, 1, 2**31, 2**32 - 1, 2**32, 2**60, 2**62, 2**64 - 1]


@lru_cache(maxsize=1)
def _real_header() -> bytes:
    """The embedded SmolLM2's header (keys, the 49,152-token vocabulary, tensor infos)."""
    with open(embedded_gguf(), "rb") as f:
        return f.read(4 << 20)


def _read(path) -> None:
    try:
        with within(20):
            meta = read_gguf_meta(path)
    except GGUFFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert meta.version >= 2 and isinstance(meta.fields, dict)
    try:  # the dialog's description of the same file
        summarize(str(path))
    except ModelError as exc:
        assert str(exc)


@given(cut=st.integers(0, 4 << 20))
def test_the_real_header_cut_anywhere(tmp_path_factory, cut):
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(_real_header()[:cut])
    _read(path)


@given(where=st.integers(4, 4 << 20), value=st.sampled_from(_U64) | st.integers(0, 2**64 - 1),
       width=st.sampled_from([4, 8]))
def test_a_count_or_length_in_the_real_header_made_absurd(tmp_path_factory, where, value, width):
    raw = bytearray(_real_header())
    raw[where:where + width] = struct.pack("<Q" if width == 8 else "<I", value % (1 << (8 * width)))
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(bytes(raw))
    _read(path)


@given(flips=st.lists(st.tuples(st.integers(0, 200_000), st.integers(0, 255)), min_size=1, max_size=20))
def test_random_bytes_flipped_in_the_keys(tmp_path_factory, flips):
    raw = bytearray(_real_header()[:300_000])
    for where, b in flips:
        raw[where] = b
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(bytes(raw))
    _read(path)


_kv_value = st.one_of(
    st.tuples(st.sampled_from(range(14)), st.binary(max_size=16)),  # any type id, any bytes after
    st.tuples(st.just(8), st.builds(lambda n, b: struct.pack("<Q", n) + b, st.sampled_from(_U64), st.binary(max_size=8))),
    st.tuples(st.just(9), st.builds(lambda t, n: struct.pack("<IQ", t, n), st.integers(0, 14), st.sampled_from(_U64))),
)


@given(version=st.integers(0, 2**32 - 1) | st.just(3), n_tensors=st.sampled_from(_U64) | st.integers(0, 4),
       n_kv=st.sampled_from(_U64) | st.integers(0, 4),
       kvs=st.lists(st.tuples(st.binary(max_size=12), _kv_value), max_size=4), tail=st.binary(max_size=64))
def test_made_up_headers(tmp_path_factory, version, n_tensors, n_kv, kvs, tail):
    body = b"".join(struct.pack("<Q", len(k)) + k + struct.pack("<I", t) + v for k, (t, v) in kvs)
    raw = b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv) + body + tail
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(raw)
    _read(path)


@given(raw=st.binary(max_size=512))
def test_random_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    path.write_bytes(raw)
    _read(path)
