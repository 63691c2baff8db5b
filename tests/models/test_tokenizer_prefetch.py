"""The tokenizer parsed ahead of a load is the one the load uses, and only while its
file is unchanged; anything odd falls back to the ordinary load."""

import json
import os
import shutil

import pytest

from spherescope.models import tokenizer_prefetch as tp
from spherescope.models.cache import gguf_cache_dir, installed_version
from spherescope.models.cache import gguf_cache_key as _gguf_cache_key
from spherescope.models.loader import load_model
from spherescope.models.source import embedded_gguf
from tiny_models import save_tiny


@pytest.fixture
def tiny(tmp_path):
    return save_tiny("llama", tmp_path / "m")


@pytest.fixture(autouse=True)
def _empty_slot():
    tp._slot = None
    yield
    tp._slot = None


def _encode(loaded, text="John and Mary went to the bar. John bought a drink for 🙂"):
    return loaded.tokenizer(text)["input_ids"]


def test_load_uses_the_prefetched_tokenizer(tiny):
    assert tp.tokenizer_file(str(tiny)) == tiny / "tokenizer.json"
    assert tp.prefetch(str(tiny))
    parsed = tp._slot[1]
    loaded = load_model(str(tiny))
    assert loaded.tokenizer.backend_tokenizer is parsed, "the file was parsed a second time"
    assert tp._slot is None, "a taken tokenizer is not kept"
    tp._slot = None
    plain = load_model(str(tiny))
    assert plain.tokenizer.backend_tokenizer is not parsed
    assert _encode(loaded) == _encode(plain)
    assert loaded.tokenizer.eos_token == plain.tokenizer.eos_token == "<eos>"


def test_a_file_changed_after_the_parse_is_read_again(tiny):
    assert tp.prefetch(str(tiny))
    stale = tp._slot[1]
    path = tiny / "tokenizer.json"
    replaced = tiny / "tokenizer.json.new"
    shutil.copyfile(path, replaced)
    os.replace(replaced, path)  # as a rebuilt cache entry would be: same bytes, a new file
    loaded = load_model(str(tiny))
    assert loaded.tokenizer.backend_tokenizer is not stale
    assert _encode(loaded)


def test_take_is_once_and_checks_the_path(tiny, tmp_path):
    assert tp.prefetch(str(tiny))
    other = save_tiny("llama", tmp_path / "other")
    assert tp.take(other / "tokenizer.json") is None, "another model's file must not get this tokenizer"
    assert tp.take(tiny / "tokenizer.json") is None, "the slot emptied on the first take"


@pytest.mark.parametrize("ref", ["someone/on-the-hub", "/no/such/dir", "", "embedded-but-not-cached"])
def test_nothing_to_prefetch_is_false_not_an_error(ref, monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERESCOPE_CACHE", str(tmp_path / "empty-cache"))
    assert tp.prefetch(None if ref == "embedded-but-not-cached" else ref) is False
    assert tp._slot is None


def test_classes_that_rebuild_their_backend_are_not_prefetched(tiny):
    cfg = tiny / "tokenizer_config.json"
    data = json.loads(cfg.read_text())
    data["tokenizer_class"] = "GPT2Tokenizer"
    cfg.write_text(json.dumps(data))
    assert tp.tokenizer_file(str(tiny)) is None


def test_a_corrupt_tokenizer_is_left_for_the_load_to_report(tiny):
    (tiny / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    assert tp.prefetch(str(tiny)) is False
    assert tp._slot is None


def test_gguf_cache_key_follows_content_not_the_file_date(tmp_path):
    a = tmp_path / "m.gguf"
    a.write_bytes(b"GGUF" + bytes(range(256)) * 40)
    key = _gguf_cache_key(a)
    os.utime(a, (1_000_000, 1_000_000))  # a reinstalled wheel: same bytes, a new date
    assert _gguf_cache_key(a) == key
    a.write_bytes(b"GGUF" + bytes(range(255, -1, -1)) * 40)
    assert _gguf_cache_key(a) != key
    assert key.endswith(f"-tf{installed_version('transformers')}")


def test_installed_version_matches_the_imported_package():
    import transformers

    assert installed_version("transformers") == transformers.__version__
    assert installed_version("no_such_package_here") is None


@pytest.mark.real_model
def test_embedded_model_tokenizer_is_found_in_the_cache(real_model):
    path = tp.tokenizer_file("embedded")
    assert path == gguf_cache_dir(embedded_gguf()) / "tokenizer.json"
    assert tp.prefetch("embedded")
    assert tp._slot[1].get_vocab_size() == real_model.tokenizer.backend_tokenizer.get_vocab_size() == 49152


def test_no_prefetch_of_a_gguf_when_the_cache_key_would_import_transformers(monkeypatch, tmp_path):
    """A frozen build may lack dist-info folders; the key then needs `import transformers`,
    which must not happen while the window is being built."""
    from spherescope.models import cache

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + bytes(100))
    monkeypatch.setattr(cache, "installed_version", lambda package: None)
    monkeypatch.setattr(cache, "gguf_cache_dir", lambda path: pytest.fail("the cache key was computed"))
    assert tp.tokenizer_file(str(gguf)) is None
    assert tp.tokenizer_file(None) is None


def _same_tokenizer(a, b) -> None:
    assert json.loads(a.to_str()) == json.loads(b.to_str())
    for text in ("John and Mary went to the bar.", "<eos>héllo\n\t 🙂 日本 <x> 123", ""):
        assert a.encode(text).ids == b.encode(text).ids


def _bpe_with_added_tokens():
    """A byte-level BPE whose added tokens mix the kinds the piecewise parse must place:
    special and not, in the vocabulary and beyond it, stripped and single-word."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = {c: i for i, c in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    for piece in ("Jo", "hn", "John", "ĠM", "ary", "ĠMary", "<sep>"):
        vocab[piece] = len(vocab)
    merges = [("J", "o"), ("h", "n"), ("Jo", "hn"), ("Ġ", "M"), ("a", "ry"), ("ĠM", "ary")]
    vocab["ry"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, fuse_unk=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="$A <sep>", special_tokens=[("<sep>", vocab["<sep>"])])
    tok.add_tokens([AddedToken("<x>", single_word=True), AddedToken("<sep>", special=True),
                    AddedToken("<pad>", special=True, lstrip=True, rstrip=True), AddedToken("plain", normalized=False)])
    return tok


def test_the_piecewise_parse_gives_the_same_tokenizer(tiny, monkeypatch):
    import tokenizers

    files = [(tiny / "tokenizer.json").read_bytes(), _bpe_with_added_tokens().to_str().encode()]
    expected = [tokenizers.Tokenizer.from_buffer(data) for data in files]

    def whole(data):
        raise AssertionError("a BPE tokenizer was parsed in one call")

    monkeypatch.setattr(tokenizers.Tokenizer, "from_buffer", staticmethod(whole))
    for data, want in zip(files, expected):
        _same_tokenizer(tp._parse(data), want)


def test_what_the_piecewise_parse_does_not_know_is_parsed_whole():
    import tokenizers
    from tokenizers import models

    word = tokenizers.Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    data = word.to_str().encode()
    _same_tokenizer(tp._parse(data), tokenizers.Tokenizer.from_buffer(data))
    newer = json.loads(_bpe_with_added_tokens().to_str())
    newer["model"]["a_setting_from_a_later_version"] = True
    data = json.dumps(newer).encode()
    calls = []
    real = tokenizers.Tokenizer.from_buffer

    def whole(data):
        calls.append(data)
        return real(data)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tokenizers.Tokenizer, "from_buffer", staticmethod(whole))
        parsed = tp._parse(data)
    assert calls == [data], "a setting the pieces do not know went unnoticed"
    _same_tokenizer(parsed, real(data))


@pytest.mark.real_model
def test_the_real_tokenizer_parses_the_same_in_pieces(real_model):
    import tokenizers

    data = tp.tokenizer_file("embedded").read_bytes()
    _same_tokenizer(tp._parse(data), tokenizers.Tokenizer.from_buffer(data))
