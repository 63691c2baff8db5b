"""The job protocol itself, with plain functions: no Qt, no thread, no model."""

import pytest

from spherescope.jobs.payloads import Progress

from spherescope.core.atomic import WriteError
from spherescope.jobs.base import Again, Context, Report, describe_error, inline_report, run_job
from spherescope.models.errors import Cancelled, PromptError


def test_outcomes_of_a_job_step():
    ctx = Context()
    assert run_job(lambda c, r, x: x * 2, ctx, inline_report(), (21,)) == ("done", 42)
    outcome, again = run_job(lambda c, r: Again(1, "b"), ctx, inline_report(), ())
    assert outcome == "again" and again.args == (1, "b")

    def cancelled(c, r):
        raise Cancelled()

    assert run_job(cancelled, ctx, inline_report(), ()) == ("cancelled", None)

    def refused(c, r):
        raise PromptError("The prompt is empty; type some text to trace.")

    assert run_job(refused, ctx, inline_report(), ()) == ("failed", "The prompt is empty; type some text to trace.")


def test_unexpected_errors_become_one_sentence(capsys):
    def broken(c, r):
        {}["missing"]

    outcome, text = run_job(broken, Context(), inline_report(), ())
    assert outcome == "failed" and text == "Unexpected KeyError: 'missing'"
    assert "Traceback" in capsys.readouterr().err, "the traceback goes to stderr for a bug report"
    assert describe_error(WriteError("Cannot write /x: it is a directory.")) == "Cannot write /x: it is a directory."
    assert describe_error(MemoryError()).startswith("Out of memory")


def test_report_channels_partial_results_and_cancellation():
    seen, wanted = [], [True]
    report = Report(7, lambda: not wanted[0], seen.append)
    report.partial(("frame", 0))
    report.progress("Loading", 0.5)
    report.progress("Converting", None)
    report.check()  # still wanted: no exception
    wanted[0] = False
    assert report.cancelled()
    with pytest.raises(Cancelled):
        report.check()
    assert seen == [("frame", 0), Progress("Loading", 0.5), Progress("Converting", -1.0)]


def test_context_caches_per_key():
    ctx = Context()
    made = []
    assert ctx.cache("k", lambda: made.append(1) or "v") == "v"
    assert ctx.cache("k", lambda: made.append(1) or "w") == "v"
    assert made == [1]
