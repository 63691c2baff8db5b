"""A minimal synchronous signal, so state objects can be evented without Qt.

Everything in state/ is mutated on the GUI thread only; results from the worker
thread cross over through Qt queued signals before they touch state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    def __init__(self) -> None:
        self._slots: list[Callable[..., Any]] = []

    def connect(self, slot: Callable[..., Any]) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            slot(*args)


def _changed(a: Any, b: Any) -> bool:
    try:
        import numpy as np

        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b))
    except ImportError:  # pragma: no cover
        pass
    try:
        return bool(a != b)
    except Exception:
        return a is not b


class EventedField:
    """A descriptor that stores a value and emits `<name>_changed(new)` only on a real change."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name
        self.attr = f"_{name}"

    def __init__(self, default: Any = None) -> None:
        self.default = default

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj, self.attr, self.default)

    def __set__(self, obj, value) -> None:
        old = getattr(obj, self.attr, self.default)
        if not _changed(old, value):
            return
        setattr(obj, self.attr, value)
        getattr(obj, f"{self.name}_changed").emit(value)


class Evented:
    """Base for state objects: creates a Signal for every EventedField."""

    def __init__(self) -> None:
        for klass in type(self).__mro__:
            for name, field in vars(klass).items():
                if isinstance(field, EventedField) and not hasattr(self, f"{name}_changed"):
                    setattr(self, f"{name}_changed", Signal())
