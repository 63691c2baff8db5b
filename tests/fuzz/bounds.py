"""The properties every hostile input must keep: a bounded time, and for a command a
one-line answer with no traceback."""

from __future__ import annotations

import contextlib
import signal


class TookTooLong(BaseException):
    """BaseException: no `except Exception` in the code under test can swallow it."""


@contextlib.contextmanager
def within(seconds: float):
    """Fails the example when the code runs past `seconds` (a hang would otherwise never
    end the test). SIGALRM: these tests run on the main thread."""
    def on_alarm(signum, frame):
        raise TookTooLong(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def assert_one_sentence(err: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err and "unexpected" not in err, err
