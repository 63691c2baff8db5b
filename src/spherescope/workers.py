"""The one place that moves model work off the GUI thread: a generic job runner.

`JobRunner.submit(kind, fn, *args)` queues a job (a plain function, see jobs.base) to
one worker thread and returns its id. The latest request of each kind wins: a job is
stale once a newer job of its kind, or of a kind it depends on, has been submitted
(`depends=`), or once its kind is cancelled. A running job sees that through
`report.cancelled()` and stops; its results arrive back on the GUI thread through
queued signals, and stale ones are dropped there before any callback or signal sees
them, so a superseded request never reaches a view.
"""

from __future__ import annotations

import atexit
import itertools
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from spherescope.jobs.base import Context, JobKind, Report, run_job

# Threads (and their workers) still finishing a job after their window closed: held
# here so Python does not destroy a running QThread, which would abort the process.
_ORPHANS: dict[QThread, QObject] = {}
_LIVE: weakref.WeakSet = weakref.WeakSet()  # every JobRunner not yet collected


@dataclass
class _Job:
    kind: JobKind
    deps: dict  # JobKind -> the job id it had when this job was submitted
    on_partial: Callable | None = None
    on_done: Callable | None = None
    on_failed: Callable | None = None
    on_cancelled: Callable | None = None


class _Worker(QObject):
    """Lives in the worker thread and runs what the runner sends, one job at a time."""

    result = Signal(object)  # (job, outcome, payload), outcome: partial | done | failed | cancelled | dropped
    run = Signal(object)  # (job, fn, args, stale)

    def __init__(self) -> None:
        super().__init__()
        self.ctx = Context()
        # Queued even when emitted from the worker thread itself: a job that asks to
        # run again (jobs.base.Again) goes behind whatever was queued meanwhile.
        self.run.connect(self._execute, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _execute(self, request) -> None:
        job, fn, args, stale, deps = request
        if stale():
            # Superseded before it started: no outcome to report, but the runner must
            # forget the job (and the callbacks, with whatever they captured).
            self.result.emit((job, "dropped", None))
            return
        report = Report(job, stale, lambda payload: self.result.emit((job, "partial", payload)), deps)
        outcome, payload = run_job(fn, self.ctx, report, args)
        if outcome == "again":
            self.run.emit((job, fn, payload.args, stale, deps))
        else:
            self.result.emit((job, outcome, payload))


class JobRunner(QObject):
    """GUI-side: owns the worker thread, numbers the jobs, filters stale results.

    Public signals carry (kind, job, payload) for every result that is still current;
    per-job callbacks given to `submit` are called first. `cancelled` is emitted for
    every job stopped part-way, current or not: the requester already moved on, and
    only wants to know."""

    partial = Signal(object, int, object)
    done = Signal(object, int, object)
    failed = Signal(object, int, str)
    cancelled = Signal(object, int)

    def __init__(self, parent: QObject | None = None, name: str = "spherescope-model-worker") -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self.latest: dict[JobKind, int] = {k: 0 for k in JobKind}
        self.closed = False
        self._jobs: dict[int, _Job] = {}
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = _Worker()
        self.worker.moveToThread(self.thread)
        self.worker.result.connect(self._on_result)  # queued: the worker lives in another thread
        self.thread.start()
        _LIVE.add(self)

    @property
    def context(self) -> Context:
        """The worker's shared state; read it only when no job is running (tests)."""
        return self.worker.ctx

    def submit(self, kind: JobKind, fn: Callable, *args, depends: Iterable[JobKind] = (),
               on_partial: Callable | None = None, on_done: Callable | None = None,
               on_failed: Callable | None = None, on_cancelled: Callable | None = None) -> int:
        job = next(self._ids)
        self.latest[kind] = job
        deps = {d: self.latest[d] for d in depends}
        self._jobs[job] = _Job(kind, deps, on_partial, on_done, on_failed, on_cancelled)
        latest = self.latest

        def stale() -> bool:
            # Read from the worker thread: plain dict reads are atomic under the GIL,
            # which is all a "has a newer request arrived?" check needs.
            return self.closed or latest[kind] != job or any(latest[d] != v for d, v in deps.items())

        self.worker.run.emit((job, fn, args, stale, deps))
        return job

    def cancel(self, kind: JobKind) -> None:
        """Make the current job of this kind (and every job depending on it) stale."""
        self.latest[kind] = next(self._ids)

    def is_current(self, job: int) -> bool:
        meta = self._jobs.get(job)
        return meta is not None and self._current(job, meta)

    def _current(self, job: int, meta: _Job) -> bool:
        return (not self.closed and self.latest[meta.kind] == job
                and all(self.latest[d] == v for d, v in meta.deps.items()))

    def busy(self, kind: JobKind) -> bool:
        """Whether a current job of this kind is still queued or running."""
        return self.is_current(self.latest[kind])

    @Slot(object)
    def _on_result(self, message) -> None:
        job, outcome, payload = message
        meta = self._jobs.get(job)
        if meta is None:
            return
        if outcome != "partial":
            self._jobs.pop(job, None)
        if outcome == "dropped":
            return
        if outcome == "cancelled":
            if meta.on_cancelled is not None:
                meta.on_cancelled()
            self.cancelled.emit(meta.kind, job)
            return
        if not self._current(job, meta):
            return  # stale: dropped on arrival
        callback, signal = {"partial": (meta.on_partial, self.partial), "done": (meta.on_done, self.done),
                            "failed": (meta.on_failed, self.failed)}[outcome]
        if callback is not None:
            callback(payload)
        signal.emit(meta.kind, job, payload)

    def shutdown(self, wait_ms: int = 0) -> None:
        """Cancel everything; let the thread finish its current job without blocking the GUI."""
        self.closed = True
        self.thread.quit()
        if wait_ms and self.thread.wait(wait_ms):
            return
        # Pruned here and at exit, never from the thread's own `finished` signal: that
        # runs in the worker thread, and dropping the last reference to a QThread from
        # inside itself destroys it from the wrong thread.
        for t in [t for t in _ORPHANS if not t.isRunning()]:
            _ORPHANS.pop(t, None)
        if self.thread.isRunning():
            _ORPHANS[self.thread] = self.worker


def wait_for_orphans(ms: int = 30000) -> None:
    """At application exit: let workers of closed windows end before Python tears down."""
    for t in list(_ORPHANS):
        t.wait(ms)
        _ORPHANS.pop(t, None)


def _at_exit() -> None:
    """At interpreter exit, for scripts and tests that end without the app's quit (an
    uncaught error, a window never closed): a QThread destroyed while it runs aborts
    the process, so every worker still running is stopped in order first."""
    for runner in list(_LIVE):
        if not runner.closed:
            runner.shutdown()
    wait_for_orphans()


atexit.register(_at_exit)

