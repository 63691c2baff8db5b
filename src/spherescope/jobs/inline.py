"""A runner with no thread: each job runs at once, in the caller's thread.

It has the submit/cancel/busy interface of workers.JobRunner, so the controller that
serves the window serves `spherescope render`, `spherescope.figure` and tests too: the
same code turns results into session fields everywhere (one result path). A job asked
for from inside another's callback runs there and then, so by the time `submit`
returns, everything it led to is in the session.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from spherescope.jobs.base import Again, Context, JobKind, Report, run_job
from spherescope.state.events import Signal


class InlineRunner:
    """`strict`: a job's exception propagates to the caller (a script wants the error
    itself, with its type); otherwise it becomes the `on_failed` sentence, as in the window.
    `skip`: kinds this runner does not run (background extras nobody here will look at)."""

    def __init__(self, ctx: Context | None = None, strict: bool = True, skip: Iterable[JobKind] = ()) -> None:
        self.ctx = ctx if ctx is not None else Context()
        self.strict = strict
        self.skip = frozenset(skip)
        self.cancelled = Signal()  # (kind, job): never emitted, nothing runs long enough to cancel
        self._ids = itertools.count(1)
        self.latest: dict[JobKind, int] = {k: 0 for k in JobKind}

    @property
    def context(self) -> Context:
        return self.ctx

    def submit(self, kind: JobKind, fn: Callable, *args, depends: Iterable[JobKind] = (),
               on_partial: Callable | None = None, on_done: Callable | None = None,
               on_failed: Callable | None = None, on_cancelled: Callable | None = None) -> int:
        job = next(self._ids)
        self.latest[kind] = job
        if kind in self.skip:
            return job
        deps = {d: self.latest[d] for d in depends}
        report = Report(job, lambda: False, on_partial or (lambda payload: None), deps)
        while True:
            if self.strict:
                result = fn(self.ctx, report, *args)
                outcome = "again" if isinstance(result, Again) else "done"
            else:
                outcome, result = run_job(fn, self.ctx, report, args)
            if outcome != "again":
                break
            args = result.args
        if outcome == "done" and on_done is not None:
            on_done(result)
        elif outcome == "failed" and on_failed is not None:
            on_failed(result)
        return job

    def cancel(self, kind: JobKind) -> None:
        pass  # every job has finished by the time anyone could ask

    def busy(self, kind: JobKind) -> bool:
        return False

    def is_current(self, job: int) -> bool:
        return True

    def shutdown(self, wait_ms: int = 0) -> None:
        pass
