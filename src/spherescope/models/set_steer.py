"""Steering over a prompt set: the dose-response of one direction added after one block,
for every prompt at once (the set's mean logit difference and accuracy at each α). The
direction is one token's (minus another's) for every prompt, or each prompt's own: toward
its contrast, away from its target (the set's version of the Steer tab's "Toward the
contrast").

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
    layer: int = -1  # the residual after this block is steered
    toward: str | None = None  # the token steered toward (None: each prompt's own contrast, away from its target)
    away: str | None = None

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


def _batches(loaded, items, rows: int | None) -> list[list[int]]:
    """The prompts' indices in padded batches, the longest prompts first (a batch's size
    follows its longest prompt's length, set_trace.batch_rows)."""
    from spherescope.models.set_trace import batch_rows

    order, out = sorted(range(len(items)), key=lambda k: len(items[k].tokens)), []
    while order:
        size = rows or batch_rows(loaded, len(items[order[-1]].tokens))
        out.append(order[-size:])
        order = order[:-size]
    return out


@torch.no_grad()
def set_steer_curve(loaded: LoadedModel, items, layer: int, toward: int | None, away: int | None, alphas,
                    cancel: Callable[[], bool] | None = None, rows: int | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> SetSteerCurve:
    """`items`: set_trace.SetItem with a target each (prepare_set). `toward` None: each
    prompt toward its own contrast and away from its own target."""
    from spherescope.core.patching import SteerSpec
    from spherescope.models.errors import PromptError
    from spherescope.models.patching import Steer, check_alpha, steer_vector
    from spherescope.models.set_trace import _HeadAt, pad_id, padded

    if any(it.target is None for it in items):
        raise PromptError("Steering over a set needs a target for every prompt (a target column, or a target).")
    if toward is None and any(it.contrast is None for it in items):
        raise PromptError("Steering each prompt toward its own contrast needs a contrast for every prompt "
                          "(a contrast column).")
    alphas = np.asarray(list(alphas), np.float64)
    for alpha in alphas:
        check_alpha(loaded, alpha)
    longest = max(len(it.tokens) for it in items)
    diffs = np.zeros((len(alphas), len(items)))
    correct = np.zeros((len(alphas), len(items)), bool)
    device = next(loaded.model.parameters()).device
    head = loaded.model.get_output_embeddings()
    batches = _batches(loaded, items, rows)
    passes, total = 0, len(alphas) * len(batches)
    # A token's direction is one vector for every prompt, (1, 1, d); each prompt's own
    # is a row per prompt, (B, 1, d). Unit length: α scales them.
    shared = None if toward is None else steer_vector(loaded, SteerSpec(int(layer), int(toward), away, 1.0, None),
                                                      longest)[None, None, :]
    for idx in batches:
        batch = [items[k] for k in idx]
        kwargs, cols = padded(batch, "right", pad_id(loaded), device)
        tgt = torch.tensor([it.target for it in batch])
        con = torch.tensor([it.contrast if it.contrast is not None else it.target for it in batch])
        has_con = torch.tensor([it.contrast is not None for it in batch])
        units = shared if shared is not None else np.stack(
            [steer_vector(loaded, SteerSpec(int(layer), it.contrast, it.target, 1.0, None), longest)
             for it in batch])[:, None, :]
        for a, alpha in enumerate(alphas):
            if cancel is not None and cancel():
                raise Cancelled()
            with Steer(loaded, int(layer), (float(alpha) * units).astype(np.float32)), _HeadAt(head, cols):
                logits = loaded.model(**kwargs).logits
            logits = (logits[:, 0] if logits.shape[1] == 1 else logits[torch.arange(len(batch)), cols]).float().cpu()
            r = torch.arange(len(batch))
            d = logits[r, tgt] - torch.where(has_con, logits[r, con], torch.zeros(len(batch)))
            diffs[a, idx] = d.numpy()
            correct[a, idx] = torch.where(has_con, d > 0, logits.argmax(dim=1) == tgt).numpy()
            passes += 1
            if on_progress is not None:
                on_progress(passes, total)
    text = loaded.token_text
    return SetSteerCurve(alphas, diffs, correct, int(layer), None if toward is None else text(int(toward)),
                         None if toward is None or away is None else text(int(away)))
