"""One attention head of the last trace (models.heads), with its block's weights."""

from __future__ import annotations

from spherescope.jobs.base import MODEL_LOCK, Context, Report
from spherescope.jobs.trace import current_model
from spherescope.models.errors import PromptError


def head(ctx: Context, report: Report, position: int, layer: int, head: int, target: int | None,
         contrast: int | None):
    """(layer, head, the block's (H, T) weights, HeadView). `head` -1: the block's head
    with the largest attribution term (head 0 without a target). The last trace is
    traced again with its attention and writes when it was run without them."""
    from spherescope.models.attribution import attribute_trace
    from spherescope.models.heads import head_view

    model = current_model(ctx, report)
    tr = ctx.trace
    if tr is None:
        raise PromptError("Run a prompt first: the Heads view reads its trace.")
    with MODEL_LOCK:
        tr = retrace_with_writes(ctx, report, model, position, attention=True)
        at = attribute_trace(model, tr, position, target, contrast, steer=ctx.trace_steer) if target is not None else None
        if head < 0:
            head = 0 if at is None or at.heads is None else at.top_heads(layer, 1)[0][0]
        return layer, head, tr.attention[layer - 1], head_view(model, tr, layer, head, attribution=at)


def retrace_with_writes(ctx: Context, report: Report, model, position: int, attention: bool = False):
    """The last trace, with its sublayers at `position` (and its attention weights, if
    asked): the same run traced again when it lacks them, steered as it was."""
    from spherescope.models.patching import steering
    from spherescope.models.trace import trace_prompt

    tr = ctx.trace
    if not 0 <= position < tr.residuals.shape[1]:
        raise PromptError(f"Position {position} is out of range: the prompt has {tr.residuals.shape[1]} tokens.")
    lacks = tr.sublayers is None or tr.sublayers.index(position) is None
    if lacks or (attention and (tr.attention is None or tr.position != position)):
        report.progress("Tracing attention and MLP writes", None)
        with steering(model, ctx.trace_steer, len(tr.tokens)):  # the same run: steered as it was
            tr = trace_prompt(model, "", position=position, top_k=len(tr.lens[0].ids), tokens=tr.tokens,
                              cancel=report.cancelled, sublayers=True, attention=attention)
        ctx.trace = tr
    report.check()
    return tr
