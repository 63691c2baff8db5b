"""Bugs between features: every lesson dock's export, then the same window keeps
working (issue 26). A throwaway export dock once stayed subscribed to the live session
after its deletion, so every later Run raised inside the session's signals and an
animation export never started."""

import pytest
from PySide6.QtCore import QPoint, Qt, QtMsgType, qInstallMessageHandler

from spherescope.widgets.export_dialog import ExportOptions
from spherescope.widgets.figures import view_for_dock
from gui_support import RUN_TIMEOUT, type_and_run

EXPORTED = ("closest", "plane", "attribution", "confidence", "norms", "token_norms", "roundtrip", "tied")


@pytest.fixture
def qt_messages():
    seen = []

    def handler(kind, _context, message):
        if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            seen.append(message)

    previous = qInstallMessageHandler(handler)
    yield seen
    qInstallMessageHandler(previous)


def test_export_every_lesson_then_run_follow_drag_and_animate(qtbot, window, tmp_path, qt_messages, caplog):
    errors = []

    def hook(exc_type, exc, tb):  # slots' exceptions reach sys.excepthook under pytest-qt
        errors.append(f"{exc_type.__name__}: {exc}")

    import sys

    old_hook, sys.excepthook = sys.excepthook, hook
    try:
        type_and_run(qtbot, window)
        s = window.session
        for key in EXPORTED:
            assert view_for_dock(key, s) is not None, key
            path = tmp_path / f"{key}.png"
            assert window.export_figure(key, ExportOptions(str(path), 640, 360, "slide", False)), key
            if key in ("roundtrip", "attribution"):  # computed on demand, then written
                qtbot.waitUntil(path.exists, timeout=RUN_TIMEOUT)
            assert path.stat().st_size > 1000, key
        qtbot.waitUntil(lambda: not s.busy, timeout=RUN_TIMEOUT)
        # The exported docks are gone (deleteLater); the live session must not call them.
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        lens_events = []
        s.lens_changed.connect(lambda: lens_events.append(s.position))
        # Run another prompt: the trace streams in and finishes.
        type_and_run(qtbot, window, "Alice and Bob went to the park. Alice gave a ball to")
        assert s.trace is not None and s.trace.tokens[0].text == "Alice"
        assert lens_events, "lens_changed fired for the new trace"
        qtbot.waitUntil(lambda: bool(s.lessons_by_position), timeout=RUN_TIMEOUT)
        # Follow another position by clicking its chip.
        chips = window.prompt_dock.chips
        qtbot.mouseClick(chips.viewport(), Qt.MouseButton.LeftButton, pos=chips.visualItemRect(chips.item(3)).center())
        assert s.position == 3
        qtbot.waitUntil(lambda: 3 in s.lens_by_position, timeout=RUN_TIMEOUT)
        # Drag the slider.
        slider = window.layer_dock.slider
        y = slider.height() // 2
        qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 8, y))
        qtbot.mouseMove(slider, QPoint(slider.width() // 3, y))
        qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() // 3, y))
        assert 3 <= s.layer <= 16
        assert window.layer_dock.layer_label.text() == f"Layer {s.layer} / 30"
        # And an animation export runs to its end and writes its file.
        out = tmp_path / "sweep.mp4"
        sweep = window.export_animation(ExportOptions(str(out), 160, 120, "dark", False, fps=5, seconds_per_layer=0.1))
        assert sweep is not None
        with qtbot.waitSignal(sweep.done, timeout=RUN_TIMEOUT * 2):
            pass
        assert out.stat().st_size > 1000
        assert window.view.style.name == s.appearance.style, "the view returns to the window's style"
    finally:
        sys.excepthook = old_hook
    assert errors == [], errors
    assert not [m for m in qt_messages if "already deleted" in m or "QPainter" in m], qt_messages
    assert "already deleted" not in caplog.text
