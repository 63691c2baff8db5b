"""Model work as plain functions (no Qt): see jobs.base for the protocol."""

from spherescope.jobs.base import Again, Context, JobKind, Report, run_job

__all__ = ["Again", "Context", "JobKind", "Report", "run_job"]
