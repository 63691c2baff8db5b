"""The public JSON format of `spherescope trace --out` (documented in the README)."""

from __future__ import annotations

from collections.abc import Callable

from spherescope.core.trajectory import Trace


def trace_to_dict(
    trace: Trace,
    *,
    model: str,
    hidden_size: int,
    vocab_size: int,
    tied: bool,
    token_text: Callable[[int], str],
    top_k: int,
) -> dict:
    norms = trace.norms[:, trace.position]
    layers = []
    for layer, top in enumerate(trace.lens):
        layers.append(
            {
                "layer": layer,
                "norm": float(norms[layer]),
                "top": [
                    {"id": int(i), "text": token_text(int(i)), "prob": float(p), "logit": float(lg)}
                    for i, p, lg in list(zip(top.ids, top.probs, top.logits))[:top_k]
                ],
            }
        )
    return {
        "model": model,
        "num_layers": trace.num_layers,
        "hidden_size": hidden_size,
        "vocab_size": vocab_size,
        "tied_embeddings": tied,
        "tokens": [{"id": t.id, "text": t.text} for t in trace.tokens],
        "position": trace.position,
        "layers": layers,
        "next_token": {"id": trace.next_token.id, "text": trace.next_token.text, "prob": trace.next_prob},
    }
