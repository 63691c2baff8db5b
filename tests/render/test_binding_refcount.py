"""Guard against a Qt-binding bug that would crash long sessions.

PySide6 6.12.0 decrements None's reference count on every call of a Python override
of a void virtual (paintGL, paintEvent, resizeEvent). On Python 3.11, where None is
not immortal, the app then aborts after a few thousand frames.
"""

import gc
import sys

from PySide6.QtCore import QCoreApplication


def test_paint_overrides_do_not_leak_none_references(qtbot):
    from spherescope.render.sphere_view import SphereView

    view = SphereView()
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    frames = []
    view.frameSwapped.connect(lambda: frames.append(1))
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(200):
        view.orbit(2, 0)
        n = len(frames)
        qtbot.waitUntil(lambda: len(frames) > n, timeout=5000)
    QCoreApplication.processEvents()
    gc.collect()
    after = sys.getrefcount(None)
    assert len(frames) >= 200
    # Other objects come and go (worker threads of earlier tests finishing), so allow
    # some noise; the bug costs two references per frame, 400 here.
    assert after - before > -100, f"None lost {before - after} references over 200 frames"
