"""A steering direction as a person types it: the toward and away boxes, and their
tokens looked up (the Steer tab and the prompt set's steering page share both)."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit


def token_edits(toward_name: str, away_name: str) -> tuple[QLineEdit, QLineEdit]:
    """The toward and away boxes of a steering direction (the Steer tab's, the prompt
    set's): a typed space shows as ␣, the leading space a token's text so often has."""
    toward, away = QLineEdit(), QLineEdit()
    toward.setObjectName(toward_name)
    toward.setPlaceholderText("toward, e.g. ␣John")
    away.setObjectName(away_name)
    away.setPlaceholderText("away from (optional), e.g. ␣Mary")
    for edit in (toward, away):
        edit.textEdited.connect(lambda t, e=edit: e.setText(t.replace(" ", "␣")) if " " in t else None)
    return toward, away


def direction_ids(vocab, toward_text: str, away_text: str) -> tuple[int | None, int | None, str | None]:
    """(toward, away, bad): the typed tokens' ids (away None when left empty), and the
    text that is no single token of the vocabulary (None when both are)."""
    toward = vocab.token_id(toward_text)
    away = vocab.token_id(away_text) if away_text.strip() else None
    bad = toward_text if toward is None else away_text if away_text.strip() and away is None else None
    return toward, away, bad


def no_token(text: str) -> str:
    return f"No token {text!r} in this model's vocabulary to steer with."

