"""Prompt sets from Python: what `Model.trace_set` and `Model.patch_set` return.

    s = m.trace_set("ioi.csv")                         # or a list of dicts, or a DataFrame
    s.accuracy, s.final_diff_mean                      # the set's figures
    s.lens_diff                                        # (prompts, layers) numpy array
    s.to_json()                                        # what `trace --prompts --out` writes
    g = m.patch_set(pairs, heads=True)                 # the recovery of the mean difference
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def as_prompt_set(prompts, name: str = "prompt set"):
    """core.prompt_set.as_prompt_set, a bad set a PromptError sentence."""
    from spherescope.core.prompt_set import SetError
    from spherescope.core.prompt_set import as_prompt_set as coerce
    from spherescope.models.errors import PromptError

    try:
        return coerce(prompts, name)
    except SetError as exc:
        raise PromptError(str(exc)) from None


@dataclass(frozen=True)
class SetResult:
    """A prompt set traced: the set's figures, and each prompt's trace."""

    data: dict = field(repr=False)  # {"set": ..., "prompts": [...]}, as `trace --prompts --out` writes it
    paths: np.ndarray = field(repr=False)  # (N, L+1, d) each prompt's residual at its followed position

    @property
    def n(self) -> int:
        return int(self.data["set"]["n"])

    @property
    def accuracy(self) -> float | None:
        return self.data["set"]["accuracy"]

    @property
    def final_diff_mean(self) -> float | None:
        return self.data["set"]["final_diff_mean"]

    @property
    def final_diff(self) -> np.ndarray | None:
        """(N,) the model's logit(target) − logit(contrast) for each prompt."""
        v = [p["final_diff"] for p in self.data["prompts"]]
        return None if None in v else np.array(v, np.float64)

    @property
    def lens_diff(self) -> np.ndarray | None:
        """(N, L+1) the same difference through the lens at every layer."""
        if self.final_diff is None:
            return None
        return np.array([[row["lens_diff"] for row in p["layers"]] for p in self.data["prompts"]], np.float64)

    @property
    def norms(self) -> np.ndarray:
        """(N, L+1) |h| of each prompt at each layer."""
        return np.linalg.norm(self.paths, axis=2)

    def _dla(self, part: str) -> np.ndarray | None:
        ps = self.data["prompts"]
        if any("attribution" not in p for p in ps):
            return None
        return np.array([[row[part]["dla"] for row in p["attribution"]["layers"]] for p in ps], np.float64)

    @property
    def attn_dla(self) -> np.ndarray | None:
        """(N, L) each block's attention term for each prompt."""
        return self._dla("attn")

    @property
    def mlp_dla(self) -> np.ndarray | None:
        return self._dla("mlp")

    @property
    def head_dla(self) -> np.ndarray | None:
        """(N, L, H) each head's term for each prompt, where heads are linear."""
        ps = self.data["prompts"]
        if any("attribution" not in p or "heads" not in p["attribution"]["layers"][0]["attn"] for p in ps):
            return None
        return np.array([[row["attn"]["heads"] for row in p["attribution"]["layers"]] for p in ps], np.float64)

    def to_json(self) -> dict:
        import copy

        return copy.deepcopy(self.data)

    def to_pandas(self):
        """Tidy: one row per (prompt, layer)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas (pip install pandas); to_json() and the arrays do not") from None
        rows = []
        for p in self.data["prompts"]:
            for row in p["layers"]:
                rows.append({"prompt": p["index"], "text": p["prompt"], "layer": row["layer"], "norm": row["norm"],
                             "lens_diff": row.get("lens_diff"), "top": row["top"][0]["text"] if row["top"] else None})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        acc = "" if self.accuracy is None else f", accuracy {self.accuracy:.0%}, mean diff {self.final_diff_mean:+.3f}"
        return f"SetResult({self.n} prompts{acc})"


@dataclass(frozen=True)
class PairsResult:
    """Patching over a set of pairs: the recovery of the mean difference."""

    data: dict = field(repr=False)  # what `patch --pairs --out` writes

    @property
    def n(self) -> int:
        return int(self.data["n"])

    @property
    def matrix(self) -> np.ndarray:
        """(L+1, m) recovery of the mean; column j is position n − m + j (from the end)."""
        return np.array(self.data["matrix"], np.float64)

    @property
    def heads_matrix(self) -> np.ndarray | None:
        m = self.data.get("heads_matrix")
        return None if m is None else np.array(m, np.float64)

    @property
    def clean_diff_mean(self) -> float:
        return float(self.data["clean_diff_mean"])

    @property
    def corrupt_diff_mean(self) -> float:
        return float(self.data["corrupt_diff_mean"])

    def to_json(self) -> dict:
        import copy

        return copy.deepcopy(self.data)

    def __repr__(self) -> str:
        m = self.matrix
        return (f"PairsResult({self.n} pairs, {m.shape[0]} layers x {m.shape[1]} positions from the end, "
                f"clean {self.clean_diff_mean:+.3f}, corrupt {self.corrupt_diff_mean:+.3f})")


def trace_set_result(loaded, prompts, *, target=None, contrast=None, position=-1, top_k=5) -> SetResult:
    from spherescope.commands.trace_set import prompt_json, set_json, trace_set

    prompt_set = as_prompt_set(prompts)
    written, paths = [], []

    def keep(t, line):
        written.append(prompt_json(t, line, loaded.token_text, top_k))
        paths.append(t.path)

    summary, _items = trace_set(loaded, prompt_set, position=position, top_k=top_k, target=target,
                                contrast=contrast, on_prompt=keep)
    return SetResult({"set": set_json(summary, loaded.info.name), "prompts": written}, np.stack(paths))


def patch_set_result(loaded, pairs, *, target=None, contrast=None, heads=False) -> PairsResult:
    from spherescope.commands.trace_set import patch_pairs_data

    return PairsResult(patch_pairs_data(loaded, as_prompt_set(pairs), target=target, contrast=contrast, heads=heads))


@dataclass(frozen=True)
class SetSteerSweep:
    """Steering's dose-response over a set: at each α, the prompts' logit differences."""

    alphas: np.ndarray  # (A,)
    diffs: np.ndarray = field(repr=False)  # (A, N) each prompt's difference at each α
    accuracy: np.ndarray = field(repr=False)  # (A,) the share of prompts whose target wins

    @property
    def diff_mean(self) -> np.ndarray:
        return self.diffs.mean(axis=1)

    def to_json(self) -> dict:
        q25, q75 = np.percentile(self.diffs, [25, 75], axis=1)
        return {"alphas": self.alphas.tolist(), "diff_mean": self.diff_mean.tolist(), "diff_q25": q25.tolist(),
                "diff_q75": q75.tolist(), "accuracy": self.accuracy.tolist(), "n": int(self.diffs.shape[1])}

    def to_pandas(self):
        """One row per α."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas (pip install pandas); to_json() and the arrays do not") from None
        return pd.DataFrame(self.to_json()).drop(columns="n")


def steer_set_result(loaded, prompts, layer: int, toward: str | None, alphas, away: str | None = None,
                     target: str | None = None, contrast: str | None = None) -> SetSteerSweep:
    from spherescope.models.set_steer import set_steer_curve
    from spherescope.models.set_trace import prepare_set
    from spherescope.models.token_lookup import resolve_token

    items = prepare_set(loaded, as_prompt_set(prompts), -1, target, contrast)
    tw = None if toward is None else resolve_token(loaded, toward, "toward")
    aw = None if away is None or toward is None else resolve_token(loaded, away, "away")
    c = set_steer_curve(loaded, items, layer, tw, aw, alphas)
    return SetSteerSweep(c.alphas, c.diffs, c.accuracy)
