"""The inline runner: the controller's jobs run at once in the caller's thread, with the
window runner's interface, so `render`, `figure` and tests share the window's result path."""

import pytest

from spherescope.jobs.base import Again, JobKind
from spherescope.jobs.inline import InlineRunner
from spherescope.models.errors import PromptError


def test_a_job_runs_at_once_with_its_partials_then_its_result():
    seen = []

    def job(ctx, report, x):
        report.partial(("half", x))
        return x * 2

    runner = InlineRunner()
    runner.submit(JobKind.TRACE, job, 21, on_partial=seen.append, on_done=seen.append)
    assert seen == [("half", 21), 42]


def test_again_continues_in_the_same_call():
    steps = []

    def job(ctx, report, n=0):
        steps.append(n)
        return Again(n + 1) if n < 3 else "done"

    out = []
    InlineRunner().submit(JobKind.FRACTIONS, job, on_done=out.append)
    assert steps == [0, 1, 2, 3] and out == ["done"]


def test_strict_raises_the_jobs_own_error_and_lenient_gives_its_sentence():
    def job(ctx, report):
        raise PromptError("The prompt is empty.")

    with pytest.raises(PromptError, match="empty"):
        InlineRunner(strict=True).submit(JobKind.TRACE, job, on_failed=pytest.fail)
    failed = []
    InlineRunner(strict=False).submit(JobKind.TRACE, job, on_done=pytest.fail, on_failed=failed.append)
    assert failed == ["The prompt is empty."]


def test_skipped_kinds_do_not_run_and_jobs_see_the_load_they_depend_on():
    ran = []
    runner = InlineRunner(skip=(JobKind.FRACTIONS,))
    runner.submit(JobKind.FRACTIONS, lambda ctx, report: ran.append("fractions"))
    load = runner.submit(JobKind.LOAD, lambda ctx, report: None)
    runner.submit(JobKind.TRACE, lambda ctx, report: ran.append(report.deps), depends=(JobKind.LOAD,))
    assert ran == [{JobKind.LOAD: load}]
    assert not runner.busy(JobKind.TRACE)
