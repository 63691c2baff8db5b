"""One attention head at the followed position: what it reads (its attention weights over
the prompt), what it writes (its slice of the block's attention write, as a direction
with a length), and what that write says (the tokens whose logits it raises most)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadView:
    layer: int  # the block, 1-based (its write lands in the residual of this layer)
    head: int  # 0-based, as the attribution's heads are numbered
    position: int  # the followed (query) position
    weights: np.ndarray  # (T,) attention from `position` to every position; 0 after it
    write: np.ndarray  # (d,) the head's share of the block's attention write at `position`
    says: tuple  # ((token id, logit contribution), ...) the tokens the write raises most
    lowers: tuple = ()  # ((token id, logit contribution), ...) the tokens it lowers most, most first
    dla: float | None = None  # its term in the attribution's logit difference (target − contrast)

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.write))

    def reads(self, k: int = 3) -> list[tuple[int, float]]:
        """The k positions it attends to most, as (position, weight), largest first."""
        order = np.argsort(-self.weights, kind="stable")[:k]
        return [(int(p), float(self.weights[p])) for p in order]


def top_contributions(contrib: np.ndarray, k: int = 5) -> tuple:
    """((token id, value), ...) for the k largest entries of a (V,) logit contribution."""
    k = min(k, len(contrib))
    top = np.argpartition(-contrib, k - 1)[:k]
    top = top[np.argsort(-contrib[top], kind="stable")]
    return tuple((int(i), float(contrib[i])) for i in top)


def parse_head(text: str) -> tuple[int, int]:
    """'24.3' (block 24, head 3) -> (24, 3); ValueError (a sentence) otherwise."""
    try:
        layer, head = (int(x) for x in str(text).strip().split("."))
    except ValueError:
        raise ValueError(f"--head takes BLOCK.HEAD, e.g. 24.3 (block 24, head 3), not {text!r}") from None
    if layer < 1 or head < 0:
        raise ValueError("--head takes a block from 1 and a head from 0, e.g. 24.3")
    return layer, head
