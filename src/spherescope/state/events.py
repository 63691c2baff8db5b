"""A minimal synchronous signal, so state objects can be evented without Qt.

Everything in state/ is mutated on the GUI thread only; results from the worker
thread cross over through Qt queued signals before they touch state.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from typing import Any


def _alive(owner: Any) -> bool:
    """False for a Qt object whose C++ side is gone. Asked through shiboken6 only when
    the process already loaded it, so state/ keeps importing no Qt."""
    shiboken = sys.modules.get("shiboken6")
    if shiboken is None:
        return True
    try:
        return bool(shiboken.isValid(owner))
    except TypeError:  # not a Qt object
        return True


class _Receiver:
    """One connected slot. A bound method is held through a weak reference to its
    object (a state object never keeps a widget alive); any slot can name an `owner`
    whose death or deletion (Qt's deleteLater) ends the connection."""

    __slots__ = ("func", "name", "ref", "owner", "key")

    def __init__(self, slot: Callable[..., Any], owner: Any = None) -> None:
        target = getattr(slot, "__self__", None)
        if target is not None and not isinstance(target, type) and _weakable(target):
            self.func, self.name, self.ref = None, slot.__name__, weakref.ref(target)
            self.key = (id(target), slot.__name__)
        else:
            self.func, self.name, self.ref = slot, None, None
            self.key = (id(slot), None)
        self.owner = weakref.ref(owner) if owner is not None and _weakable(owner) else None

    def resolve(self) -> Callable[..., Any] | None:
        """The callable, or None when its object or owner is gone (dead or deleted)."""
        if self.owner is not None:
            owner = self.owner()
            if owner is None or not _alive(owner):
                return None
        if self.ref is None:
            return self.func
        target = self.ref()
        if target is None or not _alive(target):
            return None
        return getattr(target, self.name, None)


def _weakable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
        return True
    except TypeError:
        return False


class Signal:
    """A synchronous signal with lifetimes: receivers whose object (or `owner`) has
    died, or whose Qt object was deleted, are dropped, never called."""

    def __init__(self) -> None:
        self._receivers: list[_Receiver] = []

    def connect(self, slot: Callable[..., Any], owner: Any = None) -> None:
        r = _Receiver(slot, owner)
        if not any(x.key == r.key and x.resolve() is not None for x in self._receivers):
            self._receivers.append(r)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        key = _Receiver(slot).key
        self._receivers = [r for r in self._receivers if r.key != key]

    def disconnect_owner(self, owner: Any) -> None:
        """Every connection made with `owner`, or to a method of it."""
        self._receivers = [r for r in self._receivers
                           if not ((r.owner is not None and r.owner() is owner) or (r.ref is not None and r.ref() is owner))]

    def __len__(self) -> int:
        """Live receivers (the dead are pruned)."""
        self._receivers = [r for r in self._receivers if r.resolve() is not None]
        return len(self._receivers)

    def emit(self, *args: Any) -> None:
        dead = False
        for r in list(self._receivers):
            slot = r.resolve()
            if slot is None:
                dead = True
                continue
            slot(*args)
        if dead:
            self._receivers = [r for r in self._receivers if r.resolve() is not None]


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

    def __init__(self, default: Any = None, computed: bool = False) -> None:
        """`computed`: a result, written only by the controller (tests/state/test_writers.py
        reads this mark); otherwise a choice that widgets write."""
        self.default = default
        self.computed = computed

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
        for name, _field in self.fields():
            if not hasattr(self, f"{name}_changed"):
                setattr(self, f"{name}_changed", Signal())

    @classmethod
    def fields(cls) -> list[tuple[str, EventedField]]:
        seen: dict[str, EventedField] = {}
        for klass in reversed(cls.__mro__):
            for name, field in vars(klass).items():
                if isinstance(field, EventedField):
                    seen[name] = field
        return list(seen.items())

    def copy_values_to(self, other: "Evented") -> None:
        """Every field's value into `other` (no signals: a detached copy being made)."""
        for _name, field in self.fields():
            if field.attr in self.__dict__:
                other.__dict__[field.attr] = self.__dict__[field.attr]
