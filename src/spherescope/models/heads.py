"""A head of a traced prompt, read from the model (core.heads.HeadView)."""

from __future__ import annotations

import numpy as np

from spherescope.core.heads import HeadView, top_contributions
from spherescope.core.trajectory import Trace
from spherescope.models.errors import PromptError
from spherescope.models.loaded import LoadedModel


def head_view(loaded: LoadedModel, trace: Trace, layer: int, head: int, k: int = 5, attribution=None) -> HeadView:
    """Block `layer`'s head `head` at the trace's followed position. The trace must have
    been run with sublayers and attention (trace_prompt(sublayers=True, attention=True));
    `attribution` (core.attribution.Attribution of the same trace): its term, if given."""
    from spherescope.models.attribution import final_norm_scale
    from spherescope.models.sublayers import head_writes, sublayer_spec

    n = loaded.info.num_layers
    if not 1 <= layer <= n:
        raise PromptError(f"Block {layer} is out of range: the model has blocks 1..{n}.")
    if trace.attention is None or trace.sublayers is None:
        raise PromptError("This trace has no attention weights or head writes: trace it with both.")
    heads = trace.attention.shape[1]
    if not 0 <= head < heads:
        raise PromptError(f"Head {head} is out of range: block {layer} has heads 0..{heads - 1}.")
    pos = trace.position
    k_pos = trace.sublayers.index(pos)
    if trace.sublayers.z is None or k_pos is None:
        raise PromptError("This model's attention write is not a sum over heads (it is normalised after the "
                          "output projection), so one head's write cannot be read apart.")
    spec = sublayer_spec(loaded.model, loaded.blocks)
    writes, _bias = head_writes(spec, layer - 1, trace.sublayers.z[layer - 1, k_pos])
    write = writes[head].astype(np.float32)
    # The attribution of the same trace computed the scale already (a pass over the head).
    scale = attribution.scale if attribution is not None else final_norm_scale(loaded, trace, pos)[0]
    u, g, _ = loaded.head_factors()
    contrib = (u @ (write * g if g is not None else write)).astype(np.float64) / scale
    dla = None
    if attribution is not None and attribution.heads is not None:
        dla = float(attribution.heads[layer - 1, head])
    lowers = tuple((i, -v) for i, v in top_contributions(-contrib, k))
    return HeadView(layer, head, pos, trace.attention[layer - 1, head].astype(np.float32), write,
                    top_contributions(contrib, k), lowers, dla)
