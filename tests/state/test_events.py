"""Signals with lifetimes (issue 26): a state object never keeps a receiver alive, and
never calls one whose object died or whose Qt side was deleted."""

import gc

from spherescope.state.events import Evented, EventedField, Signal


class Receiver:
    def __init__(self):
        self.got = []

    def on(self, *args):
        self.got.append(args)


def test_a_bound_method_is_held_weakly():
    sig = Signal()
    r = Receiver()
    sig.connect(r.on)
    sig.emit(1)
    assert r.got == [(1,)]
    del r
    gc.collect()
    sig.emit(2)  # the dead receiver is dropped, not called
    assert len(sig) == 0


def test_connect_is_idempotent_and_disconnect_removes():
    sig = Signal()
    r = Receiver()
    sig.connect(r.on)
    sig.connect(r.on)
    sig.emit("x")
    assert r.got == [("x",)]
    sig.disconnect(r.on)
    sig.emit("y")
    assert r.got == [("x",)]


def test_a_lambda_with_an_owner_ends_with_its_owner():
    sig = Signal()
    owner = Receiver()
    calls = []
    sig.connect(lambda v: calls.append(v), owner=owner)
    sig.emit(1)
    del owner
    gc.collect()
    sig.emit(2)
    assert calls == [1]
    assert len(sig) == 0


def test_disconnect_owner_removes_every_connection_it_made():
    sig, other = Signal(), Signal()
    owner = Receiver()
    calls = []
    sig.connect(lambda: calls.append("a"), owner=owner)
    other.connect(owner.on)
    sig.disconnect_owner(owner)
    other.disconnect_owner(owner)
    sig.emit()
    other.emit()
    assert calls == [] and owner.got == []


def test_a_deleted_qt_receiver_is_dropped_never_called(qtbot):
    """The bug of issue 26: a widget deleted from C++ (deleteLater) while its Python
    wrapper lives on raised 'Internal C++ object already deleted' inside emit."""
    import shiboken6
    from PySide6.QtWidgets import QCheckBox, QWidget

    class Dock(QWidget):
        def __init__(self, state):
            super().__init__()
            self.box = QCheckBox(self)
            self.seen = []
            state.flag_changed.connect(self.box.setChecked)  # a child's built-in slot
            state.flag_changed.connect(lambda v: self.seen.append(v), owner=self)
            state.flag_changed.connect(self.on_flag)

        def on_flag(self, v):
            self.setToolTip(str(v))

    class State(Evented):
        flag = EventedField(False)

    state = State()
    dock = Dock(state)
    state.flag = True
    assert dock.box.isChecked() and dock.seen == [True]
    shiboken6.delete(dock)  # what deleteLater does once the event loop runs
    assert not shiboken6.isValid(dock)
    state.flag = False  # must not raise RuntimeError
    assert dock.seen == [True]
    assert len(state.flag_changed) == 0


def test_a_session_snapshot_is_detached(qtbot):
    from spherescope.state.session import Session

    live = Session()
    live.prompt = "a"
    live.layer = 3
    calls = []
    live.layer_changed.connect(calls.append)
    copy = live.snapshot()
    assert (copy.prompt, copy.layer) == ("a", 3)
    copy.layer = 5
    assert live.layer == 3 and calls == [], "writes to the snapshot never reach the live session"
    live.layer = 4
    assert copy.layer == 5
