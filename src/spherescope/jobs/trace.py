"""Tracing a prompt, and reading the lens of another position from the finished trace."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from spherescope.jobs.base import MODEL_LOCK, Context, JobKind, Report
from spherescope.models.errors import ModelError

NO_MODEL = "No model is loaded; choose one in the Prompt panel."


@dataclass(frozen=True)
class Traced:
    trace: Any  # core.trajectory.Trace
    seconds: float


def current_model(ctx: Context, report: Report):
    """The model this job was asked for: the one loaded by the LOAD job it depends on."""
    wanted = report.deps.get(JobKind.LOAD, ctx.model_job)
    if ctx.model is None or ctx.model_job != wanted:
        raise ModelError(NO_MODEL)
    return ctx.model


def trace(ctx: Context, report: Report, prompt: str, position: int, top_k: int) -> Traced:
    """Partial results: ("tokens", tuple[Token]) first, then ("frame", layer, (T, d)
    residuals) as each layer is computed, so the window can draw the path growing."""
    from spherescope.models.trace import tokenize, trace_prompt

    model = current_model(ctx, report)
    t0 = time.perf_counter()
    with MODEL_LOCK:
        tokens = tokenize(model, prompt)
        report.partial(("tokens", tokens))
        pos = position if 0 <= position < len(tokens) else None
        result = trace_prompt(model, prompt, position=pos, top_k=top_k, tokens=tokens,
                              on_layer=lambda f: report.partial(("frame", f.layer, f.residual)),
                              cancel=report.cancelled)
    ctx.trace, ctx.trace_job = result, report.job
    return Traced(result, time.perf_counter() - t0)


def lens(ctx: Context, report: Report, position: int, top_k: int):
    """(position, lens) for another position of the last trace: one batched pass over
    the unembedding, no forward pass."""
    from spherescope.models.trace import lens_tops

    model = current_model(ctx, report)
    tr = ctx.trace
    if tr is None or not 0 <= position < tr.residuals.shape[1]:
        return None
    with MODEL_LOCK:
        return position, lens_tops(model, tr.residuals[:, position], top_k)
