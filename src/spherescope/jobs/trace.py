"""Tracing a prompt, and reading the lens of another position from the finished trace."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from spherescope import runtime
from spherescope.jobs.base import MODEL_LOCK, Context, JobKind, Report
from spherescope.jobs.payloads import TraceFrame, TraceTokens
from spherescope.models.errors import ModelError

NO_MODEL = "No model is loaded; choose one in the Prompt panel."


@dataclass(frozen=True)
class Traced:
    trace: Any  # core.trajectory.Trace
    seconds: float
    steer: Any = None  # the core.patching.SteerSpec this trace was run with


def current_model(ctx: Context, report: Report):
    """The model this job was asked for: the one loaded by the LOAD job it depends on."""
    wanted = report.deps.get(JobKind.LOAD, ctx.model_job)
    if ctx.model is None or ctx.model_job != wanted:
        raise ModelError(NO_MODEL)
    return ctx.model


def trace(ctx: Context, report: Report, prompt: str, position: int, top_k: int, steer=None,
          sublayers: bool = False, attention: bool = False) -> Traced:
    """Partial results: TraceTokens first, then a TraceFrame (every position's residual)
    as each layer is computed, so the window can draw the path growing.
    `steer` (core.patching.SteerSpec): the run with a direction added (models.patching).
    `sublayers`: record each block's attention and MLP writes in the same pass, when a
    view will ask for attribution (it would otherwise trace the prompt a second time);
    `attention`, every head's weights from the followed position (the Heads view)."""
    from spherescope.models.patching import steering
    from spherescope.models.trace import tokenize, trace_prompt

    model = current_model(ctx, report)
    t0 = time.perf_counter()
    with MODEL_LOCK:
        tokens = tokenize(model, prompt)
        report.partial(TraceTokens(tokens))
        pos = position if 0 <= position < len(tokens) else None
        with steering(model, steer, len(tokens)):
            result = trace_prompt(model, prompt, position=pos, top_k=top_k, tokens=tokens,
                                  on_layer=lambda f: report.partial(TraceFrame(f.layer, f.residual, f.norms)),
                                  cancel=report.cancelled, sublayers=sublayers,
                                  attention=attention)
    ctx.trace, ctx.trace_job, ctx.trace_steer = result, report.job, steer
    seconds = time.perf_counter() - t0
    # A run's temporaries (the lens's logits, the forward's activations) are freed by
    # now; glibc would keep them (bench_gui, window RSS after six runs: 1,206 MB
    # before, 1,179 MB with this).
    runtime.release_free_memory()
    return Traced(result, seconds, steer)


@dataclass(frozen=True)
class Compared:
    trace: Any  # the second prompt's Trace
    diffs: tuple | None  # (first, second): the lens's logit(target) − logit(contrast) per layer, at each last position


def compare(ctx: Context, report: Report, prompt: str, position: int, top_k: int, target: int | None = None,
            contrast: int | None = None) -> Compared:
    """The trace of a second prompt on the same model, following the same position as
    the first (its last when the first follows its own last, or when it is shorter), and
    both prompts' logit difference for the target and contrast at every layer, at their
    last positions (where the next token is predicted)."""
    from spherescope.models.trace import lens_logit_diff, tokenize, trace_prompt

    model = current_model(ctx, report)
    with MODEL_LOCK:
        tokens = tokenize(model, prompt)
        first = ctx.trace
        last = first is None or position < 0 or position >= len(first.tokens) - 1
        pos = None if last or position >= len(tokens) else position
        second = trace_prompt(model, prompt, position=pos, top_k=top_k, tokens=tokens, cancel=report.cancelled)
        diffs = None
        if target is not None and ctx.trace is not None:
            diffs = (lens_logit_diff(model, ctx.trace.residuals[:, -1], target, contrast),
                     lens_logit_diff(model, second.residuals[:, -1], target, contrast))
    return Compared(second, diffs)


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
