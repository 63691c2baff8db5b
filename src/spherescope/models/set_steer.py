"""Steering over a prompt set: the dose-response of one direction added after one block,
for every prompt at once (the set's mean logit difference and accuracy at each α).

Each α is one forward pass per padded batch, the head applied to each prompt's followed
position only, the same hook and checks as a single steered run (models.patching)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from spherescope.models.errors import Cancelled
from spherescope.models.loaded import LoadedModel


@dataclass(frozen=True)
class SetSteerCurve:
    alphas: np.ndarray  # (A,)
    diffs: np.ndarray  # (A, N) each prompt's logit(target) − logit(contrast) (or the target's logit) at each α
    correct: np.ndarray  # (A, N) bool: the target beats the contrast (is the top token, without one)

    @property
    def mean(self) -> np.ndarray:
        return self.diffs.mean(axis=1)

    @property
    def quartiles(self) -> tuple[np.ndarray, np.ndarray]:
        q = np.percentile(self.diffs, [25, 75], axis=1)
        return q[0], q[1]

    @property
    def accuracy(self) -> np.ndarray:
        return self.correct.mean(axis=1)


@torch.no_grad()
def set_steer_curve(loaded: LoadedModel, items, layer: int, toward: int, away: int | None, alphas,
                    cancel: Callable[[], bool] | None = None, rows: int | None = None) -> SetSteerCurve:
    """`items`: set_trace.SetItem with a target each (prepare_set)."""
    from spherescope.core.patching import SteerSpec
    from spherescope.models.errors import PromptError
    from spherescope.models.patching import steering
    from spherescope.models.set_trace import _HeadAt, batch_rows, pad_id, padded

    if any(it.target is None for it in items):
        raise PromptError("Steering over a set needs a target for every prompt (a target column, or a target).")
    alphas = np.asarray(list(alphas), np.float64)
    longest = max(len(it.tokens) for it in items)
    diffs = np.zeros((len(alphas), len(items)))
    correct = np.zeros((len(alphas), len(items)), bool)
    order = sorted(range(len(items)), key=lambda k: len(items[k].tokens))
    device = next(loaded.model.parameters()).device
    head = loaded.model.get_output_embeddings()
    while order:
        size = rows or batch_rows(loaded, len(items[order[-1]].tokens))
        idx, order = order[-size:], order[:-size]
        batch = [items[k] for k in idx]
        kwargs, cols = padded(batch, "right", pad_id(loaded), device)
        tgt = torch.tensor([it.target for it in batch])
        con = torch.tensor([it.contrast if it.contrast is not None else it.target for it in batch])
        has_con = torch.tensor([it.contrast is not None for it in batch])
        for a, alpha in enumerate(alphas):
            if cancel is not None and cancel():
                raise Cancelled()
            with steering(loaded, SteerSpec(int(layer), int(toward), away, float(alpha), None), longest), \
                    _HeadAt(head, cols):
                logits = loaded.model(**kwargs).logits
            logits = (logits[:, 0] if logits.shape[1] == 1 else logits[torch.arange(len(batch)), cols]).float().cpu()
            r = torch.arange(len(batch))
            d = logits[r, tgt] - torch.where(has_con, logits[r, con], torch.zeros(len(batch)))
            diffs[a, idx] = d.numpy()
            correct[a, idx] = torch.where(has_con, d > 0, logits.argmax(dim=1) == tgt).numpy()
    return SetSteerCurve(alphas, diffs, correct)
