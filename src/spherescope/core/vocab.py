"""The vocabulary's geometry (token directions, lengths, PCA bases) and token lookup.

Pure numpy: the model layer hands in the effective unembedding (and, for untied
models, the embedding) as arrays; everything a view needs about the vocabulary is
computed here once per model, in the worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from spherescope.core.projection import Basis, pca_basis, project
from spherescope.core.text import visible
from spherescope.core.unit_rows import UnitRows, row_norms, scaled_mean

LOOKUP_WIDTH = 1 << 30  # visible() width of lookup keys: never cut (a cut key named another, longer token)


@dataclass(frozen=True)
class Vocab:
    """Per-model vocabulary geometry, computed once in the worker."""

    # (V, d) unit rows of the centred effective unembedding, as UnitRows: computed from
    # the head's rows on use, never stored (core.unit_rows says why).
    directions: UnitRows
    lengths: np.ndarray  # (V,) float32 row lengths (uncentred: the article's token norms)
    texts: tuple[str, ...]
    pca: Basis
    mean: np.ndarray  # (d,) the mean row removed before taking directions
    # The uncentred unit rows and their PCA, for the "centre the cloud" option off: made
    # on demand (with_raw, in the worker), not with the rest: their PCA is a pass over
    # the whole vocabulary (0.2-1.4 s) few views ever need.
    raw_directions: UnitRows | None
    raw_pca: Basis | None
    lookup: dict  # visible text (␣Mary) -> first token id with that whole text, for token entry
    completions: tuple[str, ...]  # sorted keys of lookup, for the completer
    # Untied models only (and only when W_E has the residual's width): the input
    # embedding's rows, centred and not, so the cloud can show either space.
    embed: tuple | None = None  # (directions, pca, raw_directions, raw_pca); raw ones None until with_raw
    # The cloud already projected onto its own PCA bases (the default view), as
    # ((basis, Projected), ...): the worker does this 25-30 ms matrix product, so the
    # GUI thread does not when the vocabulary arrives.
    projected: tuple = ()

    def token_id(self, text: str) -> int | None:
        """The id of a typed token: its visible form (␣Mary), its raw form (' Mary') or an
        explicit id (#2024). None when the vocabulary has no such single token."""
        return token_id(self.lookup, len(self.texts), text)


def build_vocab(unembedding: np.ndarray, texts: list[str] | tuple[str, ...], embedding: np.ndarray | None = None,
                raw: bool = False, scale: np.ndarray | None = None) -> Vocab:
    """Token directions, lengths and PCA bases of the effective unembedding rows.

    The rows are centred before taking directions: subtracting the mean row m shifts
    every logit by the same m.h, which softmax ignores, so the picture loses nothing
    the model uses, while the shared mean direction (which otherwise crowds the whole
    vocabulary into one cap of the sphere) is gone. `embedding` is given for untied
    models whose input rows have the residual's width, so the cloud can show them too.
    `raw`: also the uncentred directions (else `with_raw` adds them when asked for).
    `scale`: a per-column factor of the rows (the final norm's gain), when the rows
    given are the head's own: the effective rows are unembedding * scale, and the
    directions keep pointing at the head's memory instead of a scaled copy.
    """
    w = np.asarray(unembedding)
    w = w if w.dtype == np.float32 else w.astype(np.float32)
    lengths = row_norms(w, scale)
    directions = UnitRows(w, scale, scaled_mean(w, scale))
    texts = tuple(texts)
    lookup = make_lookup(texts)
    embed = None
    if embedding is not None and embedding.shape == w.shape:
        e = np.asarray(embedding, np.float32)
        e_dirs = UnitRows(e, None, scaled_mean(e))
        embed = (e_dirs, pca_basis(e_dirs, unit=True), None, None)
    pca = pca_basis(directions, unit=True)
    vocab = Vocab(directions=directions, lengths=lengths, texts=texts, pca=pca, mean=directions.shift,
                  raw_directions=None, raw_pca=None, lookup=lookup, completions=tuple(sorted(lookup)), embed=embed,
                  projected=((pca, project(directions, pca)),))
    return with_raw(vocab) if raw else vocab


def with_raw(vocab: Vocab) -> Vocab:
    """The vocabulary with its uncentred directions and their PCA (the cloud with the
    "centre" option off). Returns `vocab` itself when it has them. The uncentred rows
    are the centred ones' recipe without the shift, and their lengths are the token
    norms already known."""
    from dataclasses import replace

    if vocab.raw_directions is not None:
        return vocab
    d = vocab.directions
    raw = UnitRows(d.base, d.scale, None, vocab.lengths)
    raw_pca = pca_basis(raw, unit=True)
    embed = vocab.embed
    if embed is not None:
        e = embed[0].base
        e_raw = UnitRows(e, None, None)
        embed = (embed[0], embed[1], e_raw, pca_basis(e_raw, unit=True))
    return replace(vocab, raw_directions=raw, raw_pca=raw_pca, embed=embed,
                   projected=vocab.projected + ((raw_pca, project(raw, raw_pca)),))


def make_lookup(texts: tuple[str, ...]) -> dict[str, int]:
    """Visible text -> the first id with that text (a few special tokens share one)."""
    lookup: dict[str, int] = {}
    for i, t in enumerate(texts):
        lookup.setdefault(visible(t, LOOKUP_WIDTH), i)
    return lookup


def explicit_id(text: str) -> int | None:
    """`#2024` -> 2024: the one way to name a token by its id. Digits alone are text
    ('2024' is a string the tokenizer splits), never guessed to be an id."""
    m = re.fullmatch(r"#(\d{1,12})", (text or "").strip())
    return None if m is None else int(m.group(1))


def token_id(lookup: dict[str, int], vocab_size: int, text: str) -> int | None:
    """The one rule for a token a person types where only the vocabulary's texts are at
    hand (the window): `#id`, or the token's whole text, visible (␣Mary) or raw
    (' Mary'). The command line checks with the tokenizer itself (models.token_lookup)."""
    if not text:
        return None
    i = explicit_id(text)
    if i is not None:
        return i if 0 <= i < vocab_size else None
    if text in lookup:
        return lookup[text]
    return lookup.get(visible(text, LOOKUP_WIDTH))


ROUNDTRIP_DEFAULTS = ("␣NEXT", "␣next")  # the round trip's first token: the article's example


def default_roundtrip_token(vocab: Vocab, missing: int = 0) -> int:
    """The token the round-trip lesson starts on, the same in the window and in figures:
    the first of ROUNDTRIP_DEFAULTS the vocabulary has, else `missing`."""
    return next((vocab.lookup[t] for t in ROUNDTRIP_DEFAULTS if t in vocab.lookup), missing)


def split_token_list(text: str) -> list[str]:
    """' Mary, John' -> [' Mary', ' John']: commas separate, the space after a comma
    belongs to the token (the article writes " Mary" with its leading space)."""
    return [part for part in (text or "").split(",") if part != ""]


def parse_tokens(vocab: Vocab, text: str, count: int | None = None, what: str = "tokens") -> list[int]:
    """Token ids for a comma-separated list, with one clear sentence for anything wrong:
    an unknown token, too few or too many, or the same token twice. `count` asks for
    exactly that many."""
    parts = split_token_list(text)
    if not parts:
        raise ValueError(f"No {what} given: write them separated by commas, e.g. ' Mary, John'.")
    ids = []
    for part in parts:
        tid = vocab.token_id(part)
        if tid is None:
            why = getattr(vocab, "why_not", None)
            raise ValueError(why(part) if why is not None else
                             f"No token {part!r} in this model's vocabulary (word tokens usually start with a space, "
                             f"e.g. ' Mary'; write #id for a token by its id).")
        ids.append(tid)
    if count is not None and len(ids) != count:
        raise ValueError(f"{what.capitalize()} need exactly {count} tokens, not {len(ids)}: e.g. ' Mary, John'.")
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"The token {vocab.texts[dup]!r} is given twice; {what} need different tokens.")
    return ids


def check_token_ids(ids, vocab_size: int) -> None:
    """ValueError (a sentence) for an id that is not a token of this vocabulary: scenes
    and scripts can name any integer."""
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= int(i) < vocab_size:
            raise ValueError(f"Token id {i} is not in this model's vocabulary (0..{vocab_size - 1}).")
