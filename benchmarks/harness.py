"""What the GUI benchmarks share: waiting on the event loop for a condition."""

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
