"""Inside the layer: each block's attention and MLP writes, and what they did to the logit
difference between a target and a contrast (direct logit attribution)."""

from __future__ import annotations

from spherescope.jobs.base import MODEL_LOCK, Context, Report
from spherescope.jobs.trace import current_model
from spherescope.models.errors import PromptError


def attribute(ctx: Context, report: Report, position: int, target: int, contrast: int | None):
    """(Sublayers of the last trace, Attribution, the lens after each block's attention).
    The last trace is traced again with its sublayers when it was run without them (one
    more forward pass, announced as a Progress partial); the residuals are the same."""
    from spherescope.models.attribution import attribute_trace

    model = current_model(ctx, report)
    if ctx.trace is None:
        raise PromptError("Run a prompt first: attribution reads its trace.")
    from spherescope.jobs.heads import retrace_with_writes
    from spherescope.models.trace import lens_tops

    with MODEL_LOCK:
        tr = retrace_with_writes(ctx, report, model, position)
        k = tr.sublayers.index(position)
        after_attention = tr.residuals[:-1, position] + tr.sublayers.attn[:, k]
        mid_lens = lens_tops(model, after_attention, len(tr.lens[0].ids))
        return tr.sublayers, attribute_trace(model, tr, position, target, contrast, steer=ctx.trace_steer), mid_lens
