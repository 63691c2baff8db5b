"""What the GUI benchmarks share: waiting on the event loop for a condition, and timing
a change to the 3-D frame it brings on screen."""

from __future__ import annotations

import time


def wait_until(app, cond, timeout: float = 300) -> None:
    """Process events until `cond()` holds; TimeoutError after `timeout` seconds."""
    end = time.perf_counter() + timeout
    while not cond():
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError
        time.sleep(0.001)  # benchmark harness only; the app itself never sleeps


def to_frame(app, view, change) -> float:
    """Seconds from `change()` to the view's next frame on screen (frameSwapped)."""
    swapped = [None]
    slot = lambda: swapped.__setitem__(0, time.perf_counter())  # noqa: E731
    view.frameSwapped.connect(slot)
    t = time.perf_counter()
    change()
    view.update()
    while swapped[0] is None:
        app.processEvents()
    view.frameSwapped.disconnect(slot)
    return swapped[0] - t
