"""How token text is shown: spaces and control characters made visible, never dropped."""

from __future__ import annotations

_SPECIAL = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def visible(text: str, limit: int = 40) -> str:
    """Token text with spaces and control characters shown, as in the article's ' The' example."""
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    s = "".join(out)
    if not s:
        return "∅"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def quoted(text: str) -> str:
    """A token as the article writes it: in quotes, leading space kept ( ' Mary' )."""
    body = text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return repr(body) if "'" not in body else '"' + body + '"'
