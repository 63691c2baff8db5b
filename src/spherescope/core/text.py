"""How token text is shown: spaces and control characters made visible, never dropped."""

from __future__ import annotations

_SPECIAL = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


# One translation table (str.translate runs in C): a 262k-token vocabulary's lookup
# took 1.5 s character by character in Python.
_TABLE = {**{c: f"\\x{c:02x}" for c in (*range(32), *range(0x7F, 0xA0))}, **{ord(k): v for k, v in _SPECIAL.items()}}


def visible(text: str, limit: int = 40) -> str:
    """Token text with spaces and control characters shown, as in the article's ' The' example."""
    s = text.translate(_TABLE)
    if not s:
        return "∅"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def quoted(text: str) -> str:
    """A token as the article writes it: in quotes, leading space kept ( ' Mary' )."""
    body = text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return repr(body) if "'" not in body else '"' + body + '"'


def encodable(text: str) -> bool:
    """Text that can be written as UTF-8: JSON escapes and undecodable command-line bytes
    arrive as lone surrogates, which no file, tokenizer or widget takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_UNSHOWN = {v: k for k, v in _SPECIAL.items()}


def raw_text(text: str) -> str:
    """The inverse of visible() for what a person types: ␣Mary -> ' Mary'."""
    return "".join(_UNSHOWN.get(c, c) for c in text)


def counted(n: int, word: str) -> str:
    """'1 prompt', '32 prompts', '1,000 prompts'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def shortened(text: str, limit: int = 60) -> str:
    """A prompt on one line, cut at a word near `limit` characters with an ellipsis."""
    one = " ".join(text.split())
    if len(one) <= limit:
        return one
    cut = one[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"
