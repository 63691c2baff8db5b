"""The one token-lookup rule of the command line, the API and the figures: a text is
a token only if the model's tokenizer encodes exactly that text to exactly one token.
`#2024` names a token by its id. Anything else is refused with a sentence that shows
how the tokenizer splits the text, so a typo can never silently become another token.
"""

from __future__ import annotations

from spherescope.core.text import quoted, raw_text
from spherescope.core.vocab import explicit_id
from spherescope.models.loaded import LoadedModel

SHOWN_PIECES = 8  # pieces listed in a refusal; a long text's split is cut after these


class TokenTable:
    """`token_id(text)` and `why_not(text)` for core.vocab.parse_tokens, from the
    tokenizer (no whole-vocabulary decode needed)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.size = loaded.info.vocab_size

    @property
    def texts(self):
        return _Texts(self.loaded)

    def encode(self, text: str) -> list[int]:
        tok = self.loaded.tokenizer
        try:
            return list(tok(text, add_special_tokens=False)["input_ids"])
        except Exception:  # a tokenizer that cannot take this text at all (lone surrogates)
            return []

    def token_id(self, text: str) -> int | None:
        if not text:
            return None
        i = explicit_id(text)
        if i is not None:
            return i if 0 <= i < self.size else None
        ids = self.encode(raw_text(text))
        return int(ids[0]) if len(ids) == 1 and 0 <= ids[0] < self.size else None

    def why_not(self, text: str) -> str:
        i = explicit_id(text)
        if i is not None:
            return f"Token id #{i} is not in this model's vocabulary (#0..#{self.size - 1})."
        if not text:
            return "No token given: write one, e.g. ' Mary' (or #id for a token by its id)."
        ids = self.encode(raw_text(text))
        if not ids:
            return f"{quoted(text)} is no token of this model's vocabulary."
        pieces = ", ".join(quoted(self.loaded.token_text(int(t))) for t in ids[:SHOWN_PIECES])
        more = f", … ({len(ids) - SHOWN_PIECES} more)" if len(ids) > SHOWN_PIECES else ""
        hint = " (word tokens usually start with a space, e.g. ' Mary'; write #id for a token by its id)"
        return f"{quoted(text[:60] + ('…' if len(text) > 60 else ''))} is {len(ids)} tokens, not one: {pieces}{more}{hint}."


class _Texts:
    """vocab.texts[i] for parse_tokens' messages, decoded one at a time."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded

    def __getitem__(self, i: int) -> str:
        return self.loaded.token_text(int(i))

    def __len__(self) -> int:
        return self.loaded.info.vocab_size


def resolve_token(loaded: LoadedModel, text: str, flag: str) -> int:
    """The id of one token given on the command line; PromptError (a sentence) otherwise."""
    from spherescope.models.errors import PromptError

    table = TokenTable(loaded)
    tid = table.token_id(text)
    if tid is None:
        raise PromptError(f"{flag}: {table.why_not(text)}")
    return tid
