"""Parse the tokenizer of the model about to load before the load asks for it.

`tokenizers` parses a tokenizer.json in one Rust call that holds the GIL throughout:
80-100 ms for SmolLM2's 49,152-token BPE on the 2-core reference machine, long
enough to freeze a window already on screen (the GUI thread needs the GIL for every
paint and every event handler). The model worker therefore parses it in its warm-up,
and a BPE tokenizer in three shorter pieces (`_parse`): the JSON text (~40 ms, Python's
parser), the vocabulary and merges (~45 ms, one Rust call) and the rest. A GUI thread
kept waiting by one piece has asked for the GIL by the time it ends, and CPython hands
it over before the next piece (measured: the longest wait is one piece). The load that follows takes that object instead of
parsing the file again.

`prefetch` runs only in the model worker, and so do the loads that `take` from the slot;
the one slot therefore needs no lock. Elsewhere (the command line) the slot is empty.
"""

from __future__ import annotations

import json
from pathlib import Path

from spherescope.models import cache
from spherescope.models.errors import ModelError
from spherescope.models.source import embedded_gguf, resolve

# transformers' tokenizer classes that build their backend straight from a passed
# tokenizers.Tokenizer; others rebuild it from vocab and merges, which a prefetch cannot help.
_BACKEND_CLASSES = {"TokenizersBackend", "PreTrainedTokenizerFast"}

_slot: tuple[tuple, object] | None = None  # (file signature, tokenizers.Tokenizer)


def _signature(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


def tokenizer_file(ref: str | None) -> Path | None:
    """The tokenizer.json that loading `ref` will read, when it is already on disk and
    its class takes a parsed backend; None otherwise (hub ids, first conversions)."""
    try:
        source = resolve(ref)
        if source.kind in ("embedded", "gguf") and cache.installed_version("transformers") is None:
            # The cache key would need `import transformers` (seconds, and torch with it)
            # right when the window is being built; leave this one to the load.
            return None
        if source.kind == "embedded":
            folder = cache.gguf_cache_dir(embedded_gguf())
        elif source.kind == "gguf" and source.path is not None and source.gguf_file:
            folder = cache.gguf_cache_dir(source.path / source.gguf_file)
        elif source.kind == "dir" and source.path is not None:
            folder = source.path
        else:
            return None
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (ModelError, OSError, ValueError):
        return None
    path = folder / "tokenizer.json"
    if not isinstance(config, dict) or config.get("tokenizer_class") not in _BACKEND_CLASSES or not path.is_file():
        return None
    return path


def prefetch(ref: str | None) -> bool:
    """Parse `ref`'s tokenizer now and keep it for the next load. False when there is
    nothing to prefetch or parsing failed (the load then reports its own error)."""
    global _slot
    path = tokenizer_file(ref)
    if path is None:
        return False
    try:
        import tokenizers

        # Signed before reading: a file replaced meanwhile fails the check in `take`.
        signature = _signature(path)
        # Read here, not by from_file: Python's read releases the GIL while the disk
        # works, the Rust reader does not (0.2 s frozen on a cold start).
        data = path.read_bytes()
        _slot = (signature, _parse(data))
    except Exception:  # noqa: BLE001 - a corrupt file is the load's to report
        _slot = None
        return False
    return True


# The BPE model's settings that tokenizers.models.BPE takes as keyword arguments; a file
# with any other (a newer format) is parsed whole instead.
_BPE_OPTIONS = {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                "fuse_unk", "byte_fallback", "ignore_merges"}


def _parse(data: bytes):
    """The tokenizer that `tokenizers.Tokenizer.from_buffer(data)` gives, built in pieces
    for a BPE model so that no single GIL-holding call lasts more than about half as long
    as the whole parse. Anything it does not know, or any added token whose id comes out
    different from the file's, falls back to the one-call parse."""
    import tokenizers

    spec = json.loads(data)
    model = spec.get("model") if isinstance(spec, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE" or not set(model) - {"type", "vocab", "merges"} <= _BPE_OPTIONS:
        return tokenizers.Tokenizer.from_buffer(data)
    try:
        vocab, merges, added = model["vocab"], model["merges"], spec.get("added_tokens") or []
        options = {k: v for k, v in model.items() if k in _BPE_OPTIONS and v is not None}  # None: the default
        # The pipeline round the model (normaliser, pre-tokeniser, decoder, template) from
        # the same file with an empty model and no added tokens: those need the real vocabulary.
        shell = dict(spec, model=dict(model, vocab={}, merges=[]), added_tokens=[])
        tokenizer = tokenizers.Tokenizer.from_str(json.dumps(shell))
        pairs = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in merges]
        tokenizer.model = tokenizers.models.BPE(vocab=vocab, merges=pairs, **options)
        # Added tokens last and in the file's order, as the one-call parse adds them: each
        # takes its id from the vocabulary when it is there (add_tokens keeps `special`).
        tokenizer.add_tokens([tokenizers.AddedToken(t["content"], single_word=t["single_word"], lstrip=t["lstrip"],
                                                    rstrip=t["rstrip"], normalized=t["normalized"], special=t["special"])
                              for t in added])
        if any(tokenizer.token_to_id(t["content"]) != t["id"] for t in added):
            raise ValueError("an added token's id moved")
    except Exception:  # noqa: BLE001 - anything unexpected: the one-call parse decides
        return tokenizers.Tokenizer.from_buffer(data)
    return tokenizer


def take(path: Path):
    """The prefetched tokenizer of this file, once, if the file is unchanged since it
    was parsed; None otherwise. The slot empties either way, so a tokenizer for a model
    the user switched away from is not kept."""
    global _slot
    held, _slot = _slot, None
    if held is None:
        return None
    try:
        return held[1] if _signature(path) == held[0] else None
    except OSError:
        return None


class Handover:
    """Passes a parsed tokenizer to transformers without a copy. transformers deep-copies
    a `tokenizer_object` it is given, and copying a tokenizers.Tokenizer serialises
    and parses it again: the very cost the prefetch moved. Nothing else holds this one."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def __deepcopy__(self, memo):
        return self.tokenizer
