"""Two-way links between a widget and one session field, in one place (as glue's
`connect_*` helpers do): the widget shows the field, and a person's edit writes it.

A change coming from the session is pushed to the widget under a guard, so the
widget's own signal does not write it back (no blockSignals pairs, and the widget's
other listeners still hear it). The session side is connected with the widget as its
owner: a deleted widget is dropped, never called (state.events).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QComboBox, QSpinBox


def _same(v: Any) -> Any:
    return v


class _Link:
    __slots__ = ("pushing",)

    def __init__(self) -> None:
        self.pushing = False


def _accessors(widget):
    """(the widget's change signal, how to read its value from that signal's argument,
    how to show a value)."""
    if isinstance(widget, (QAbstractButton, QAction)):
        return widget.toggled, _same, widget.setChecked
    if isinstance(widget, QComboBox):
        def show(value) -> None:
            i = widget.findData(value)
            if i >= 0 and i != widget.currentIndex():
                widget.setCurrentIndex(i)

        return widget.currentIndexChanged, widget.itemData, show
    if isinstance(widget, (QAbstractSlider, QSpinBox)):
        return widget.valueChanged, _same, widget.setValue
    raise TypeError(f"bind() does not know how to link a {type(widget).__name__}")


def bind(widget, session, name: str, to_state: Callable[[Any], Any] = _same,
         to_widget: Callable[[Any], Any] = _same) -> None:
    """Link `widget` (a check box or checkable action, a combo box whose items carry the
    values as data, a slider or spin box) to `session.<name>` both ways. `to_state` and
    `to_widget` convert between the two (a slider's integer and the session's float)."""
    changed, read, show = _accessors(widget)
    link = _Link()

    def push(value) -> None:
        link.pushing = True
        try:
            show(to_widget(value))
        finally:
            link.pushing = False

    def write(arg) -> None:
        if not link.pushing:
            setattr(session, name, to_state(read(arg)))

    push(getattr(session, name))
    changed.connect(write)
    getattr(session, f"{name}_changed").connect(push, owner=widget)
