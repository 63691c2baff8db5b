"""spherescope from Python: load a model once, get the numbers as arrays and tables,
draw figures without reloading.

    import spherescope
    m = spherescope.load()                      # the embedded SmolLM2-135M
    t = m.trace("John and Mary went to the bar. John bought a drink for",
                tokens=" Mary, John", attribute=" Mary", contrast=" John")
    t.norms, t.plane_x, t.attn_dla              # numpy arrays, one value per layer
    t.to_pandas()                               # one row per layer (pandas, if installed)
    t.to_json()                                 # the same dict `spherescope trace --out` writes
    g = m.patch(clean, corrupt, " Mary", " John")
    g.matrix                                    # (layers, positions) recovery
    s = m.trace_set("ioi.csv")                  # a prompt set: a file, a list or a DataFrame
    s.accuracy, s.lens_diff                     # the set's figures, (prompts, layers) arrays
    m.figure("plane", prompt, tokens=" Mary, John")   # a PIL image, shown inline in Jupyter

Every number comes from the very code the command line runs, so `m.trace(...).to_json()`
equals `spherescope trace --out` for the same inputs. Calls may come from any thread:
the model is used by one call at a time. Figures draw with Qt, on the main thread.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_LOCK = threading.RLock()  # one call at a time uses the model (torch's hooks are per model)


@dataclass(frozen=True)
class TraceResult:
    """One prompt's trace at one position, as numbers. Arrays have one entry per layer
    0..L (layer 0 is the embeddings); attribution arrays one per block 1..L."""

    data: dict = field(repr=False)  # the command line's JSON, exactly
    residuals: np.ndarray = field(repr=False)  # (L+1, T, d) float32: every layer, every position
    position: int
    tokens: tuple[str, ...]
    next_token: str
    next_prob: float

    @property
    def layers(self) -> np.ndarray:
        return np.arange(len(self.data["layers"]))

    @property
    def norms(self) -> np.ndarray:
        """|h| of the followed position at each layer."""
        return np.array([row["norm"] for row in self.data["layers"]], np.float64)

    @property
    def path(self) -> np.ndarray:
        """(L+1, d) the followed position's residual at each layer."""
        return self.residuals[:, self.position]

    def lens_top(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, probs), each (L+1, k): the logit lens's top tokens at every layer."""
        rows = [row["top"][:k] for row in self.data["layers"]]
        return (np.array([[t["id"] for t in r] for r in rows], np.int64),
                np.array([[t["prob"] for t in r] for r in rows], np.float64))

    @property
    def attention(self) -> np.ndarray | None:
        """(L, H, T) every block's heads' weights from the followed position (trace with
        attention=True), else None."""
        rows = [row.get("attention") for row in self.data["layers"][1:]]
        return None if any(r is None for r in rows) else np.array(rows, np.float64)

    @property
    def head(self) -> dict | None:
        """The chosen head's reads, write and what it raises and lowers (trace with
        head="24.3"), as the command line's JSON gives them."""
        return self.data.get("head")

    def _plane(self, key: str) -> np.ndarray | None:
        if "plane_tokens" not in self.data:
            return None
        return np.array([row["plane"][key] for row in self.data["layers"]], np.float64)

    @property
    def plane_x(self) -> np.ndarray | None:
        return self._plane("x")

    @property
    def plane_y(self) -> np.ndarray | None:
        return self._plane("y")

    @property
    def plane_kept(self) -> np.ndarray | None:
        """The share of |h| the plane of the two tokens keeps, at each layer."""
        return self._plane("kept")

    @property
    def plane_angle(self) -> np.ndarray | None:
        """Degrees from the first token within the plane (atan2(y, x))."""
        x, y = self.plane_x, self.plane_y
        return None if x is None else np.degrees(np.arctan2(y, x))

    def _attr(self, part: str, key: str = "dla") -> np.ndarray | None:
        a = self.data.get("attribution")
        return None if a is None else np.array([row[part][key] for row in a["layers"]], np.float64)

    @property
    def attn_dla(self) -> np.ndarray | None:
        """Each block's attention write's direct logit attribution (blocks 1..L)."""
        return self._attr("attn")

    @property
    def mlp_dla(self) -> np.ndarray | None:
        return self._attr("mlp")

    @property
    def head_dla(self) -> np.ndarray | None:
        """(L, heads): each head's share of its block's attention term."""
        a = self.data.get("attribution")
        if a is None or "heads" not in a["layers"][0]["attn"]:
            return None
        return np.array([row["attn"]["heads"] for row in a["layers"]], np.float64)

    def to_json(self) -> dict:
        """The dict `spherescope trace --out` writes for the same inputs."""
        import copy

        return copy.deepcopy(self.data)

    def to_pandas(self):
        """One row per layer: norm, the lens's top token and its probability, the plane's
        coordinates (when tokens were given), and each block's attribution terms."""
        pd = _pandas()
        rows = []
        for row in self.data["layers"]:
            r = {"layer": row["layer"], "norm": row["norm"], "top_id": row["top"][0]["id"],
                 "top_text": row["top"][0]["text"], "top_prob": row["top"][0]["prob"]}
            if "plane" in row:
                r.update({"plane_x": row["plane"]["x"], "plane_y": row["plane"]["y"], "plane_kept": row["plane"]["kept"]})
            rows.append(r)
        a = self.data.get("attribution")
        if a is not None:
            rows[0]["embed_dla"] = a["embed"]
            for b in a["layers"]:
                rows[b["layer"]].update({"attn_dla": b["attn"]["dla"], "mlp_dla": b["mlp"]["dla"],
                                         "attn_norm": b["attn"]["norm"], "mlp_norm": b["mlp"]["norm"]})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"TraceResult({len(self.data['layers'])} layers, position {self.position} "
                f"{self.tokens[self.position]!r}, next {self.next_token!r} p={self.next_prob:.3f})")


@dataclass(frozen=True)
class PatchResult:
    """Activation patching's recovery for every (layer, position)."""

    data: dict = field(repr=False)  # the command line's JSON, exactly

    @property
    def matrix(self) -> np.ndarray:
        """(L+1, T) recovery: 0 nothing came back, 1 all of the clean difference."""
        return np.array(self.data["matrix"], np.float64)

    @property
    def heads_matrix(self) -> np.ndarray | None:
        """(L, H) recovery of each head patched at the last position (patch with
        heads=True; row b - 1 is block b), else None."""
        m = self.data.get("heads_matrix")
        return None if m is None else np.array(m, np.float64)

    @property
    def clean_diff(self) -> float:
        return float(self.data["clean_diff"])

    @property
    def corrupt_diff(self) -> float:
        return float(self.data["corrupt_diff"])

    def to_json(self) -> dict:
        import copy

        return copy.deepcopy(self.data)

    def to_pandas(self):
        """Tidy: one row per (layer, position)."""
        pd = _pandas()
        toks = [t["text"] for t in self.data["tokens"]]
        return pd.DataFrame([{"layer": i, "position": p, "token": toks[p], "recovery": v}
                             for i, row in enumerate(self.data["matrix"]) for p, v in enumerate(row)])

    def __repr__(self) -> str:
        m = self.matrix
        return f"PatchResult({m.shape[0]} layers x {m.shape[1]} positions, clean {self.clean_diff:+.3f}, corrupt {self.corrupt_diff:+.3f})"


@dataclass(frozen=True)
class SteerSweep:
    """The dose-response of steering: the model's answer at each α."""

    alphas: np.ndarray
    next_ids: np.ndarray
    next_texts: tuple[str, ...]
    next_probs: np.ndarray
    diffs: np.ndarray | None  # logit(target) − logit(contrast) at each α, when asked for

    def to_pandas(self):
        pd = _pandas()
        d = {"alpha": self.alphas, "next_id": self.next_ids, "next_text": list(self.next_texts),
             "next_prob": self.next_probs}
        if self.diffs is not None:
            d["logit_diff"] = self.diffs
        return pd.DataFrame(d)

    def to_json(self) -> dict:
        return {"alphas": self.alphas.tolist(), "next": [{"id": int(i), "text": t, "prob": float(p)} for i, t, p in
                                                         zip(self.next_ids, self.next_texts, self.next_probs)],
                **({"logit_diff": self.diffs.tolist()} if self.diffs is not None else {})}


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_pandas() needs pandas (pip install pandas); to_json() and the arrays do not") from None
    return pd


class Model:
    """A loaded model for many analyses: see spherescope.load."""

    def __init__(self, ctx, loaded_job, ref: str | None, options: dict) -> None:
        self._ctx = ctx
        self._job = loaded_job
        self.ref = ref
        self.options = dict(options)

    @property
    def loaded(self):
        """The models.loaded.LoadedModel (the transformers model is `.model`)."""
        return self._ctx.model

    @property
    def info(self):
        return self._job.info

    def __repr__(self) -> str:
        i = self.info
        return f"spherescope.Model({i.name!r}, {i.architecture}, {i.num_layers} layers, d={i.hidden_size}, {i.device} {i.dtype})"

    def token(self, text: str) -> int:
        """The id of one token (' Mary', '␣Mary' or '#5099'); a PromptError sentence otherwise."""
        from spherescope.models.token_lookup import resolve_token

        return resolve_token(self.loaded, text, "token")

    def trace(self, prompt: str, position: int = -1, tokens: str | None = None, attribute: str | None = None,
              contrast: str | None = None, steer: dict | None = None, top_k: int = 10, attention: bool = False,
              head: str | None = None) -> TraceResult:
        """The logit lens and norms at every layer for one position (the last by default);
        with `tokens=" Mary, John"` the plane's coordinates, with `attribute`/`contrast`
        each block's (and head's) direct logit attribution, with `steer=dict(layer=,
        toward=, alpha=, away=None, position=None)` a steered run; `attention`: every
        head's weights (.attention); `head="24.3"`: what that head reads and writes (.head)."""
        from spherescope.commands.trace import trace_data

        with _LOCK:
            data, trace = trace_data(self.loaded, prompt, position=None if position in (None, -1) else position,
                                     top_k=top_k, tokens=tokens, attribute=attribute, contrast=contrast,
                                     steer=_steer_args(steer), attention=attention, head=head)
        return TraceResult(data, trace.residuals, trace.position, tuple(t.text for t in trace.tokens),
                           trace.next_token.text, float(trace.next_prob))

    def patch(self, clean: str, corrupt: str, target: str, contrast: str, ignore_memory: bool = False,
              heads: bool = False) -> PatchResult:
        """Activation patching of the clean run into the corrupt one at every layer and
        position: the recovery of logit(target) − logit(contrast). A grid that would not
        fit in memory or take hours is refused with its estimate, unless `ignore_memory`.
        `heads`: also each head patched at the last position (.heads_matrix)."""
        from spherescope.commands.patch import patch_data

        with _LOCK:
            return PatchResult(patch_data(self.loaded, clean, corrupt, target, contrast, ignore_memory=ignore_memory,
                                          heads=heads))

    def trace_set(self, prompts, target: str | None = None, contrast: str | None = None, position: int = -1,
                  top_k: int = 5):
        """A prompt set (a .csv/.jsonl path, a list of prompts or dicts, a DataFrame) traced in
        batches: the set's figures and each prompt's trace (set_api.SetResult). `target`,
        `contrast`: for rows that give none. The same numbers as `trace --prompts`."""
        from spherescope.set_api import trace_set_result

        with _LOCK:
            return trace_set_result(self.loaded, prompts, target=target, contrast=contrast, position=position,
                                    top_k=top_k)

    def patch_set(self, pairs, target: str | None = None, contrast: str | None = None, heads: bool = False):
        """Patching over clean/corrupt pairs (columns prompt, corrupt, target, contrast): the
        recovery of the mean logit difference (set_api.PairsResult), as `patch --pairs`."""
        from spherescope.set_api import patch_set_result

        with _LOCK:
            return patch_set_result(self.loaded, pairs, target=target, contrast=contrast, heads=heads)

    def steer_set(self, prompts, layer: int, toward: str | None, alphas, away: str | None = None,
                  target: str | None = None, contrast: str | None = None):
        """Steering's dose-response over a prompt set: at each α, every prompt's
        logit(target) − logit(contrast) and the share whose target wins (set_api.SetSteerSweep).
        `toward=None`: each prompt toward its own contrast, away from its own target."""
        from spherescope.set_api import steer_set_result

        with _LOCK:
            return steer_set_result(self.loaded, prompts, layer, toward, alphas, away, target, contrast)

    def steer_sweep(self, prompt: str, layer: int, toward: str, alphas, away: str | None = None,
                    position: int | None = None, target: str | None = None, contrast: str | None = None) -> SteerSweep:
        """The model's next token at each α of a steering vector (one forward pass each)."""
        from spherescope.core.patching import SteerSpec
        from spherescope.models.patching import steer_sweep, top_probs
        from spherescope.models.token_lookup import resolve_token
        from spherescope.models.trace import tokenize

        lm = self.loaded
        with _LOCK:
            toks = tokenize(lm, prompt)
            tw = resolve_token(lm, toward, "toward")
            aw = None if away is None else resolve_token(lm, away, "away")
            t_id = None if target is None else resolve_token(lm, target, "target")
            c_id = None if contrast is None else resolve_token(lm, contrast, "contrast")
            alphas = np.asarray(list(alphas), np.float64)
            logits = steer_sweep(lm, [t.id for t in toks], SteerSpec(int(layer), tw, aw, 0.0, position), alphas)
        out_ids, probs = top_probs(logits)
        diffs = None
        if t_id is not None:
            diffs = (logits[:, t_id] - (logits[:, c_id] if c_id is not None else 0.0)).astype(np.float64)
        return SteerSweep(alphas, out_ids.astype(np.int64), tuple(lm.token_text(int(i)) for i in out_ids),
                          probs.astype(np.float64), diffs)

    def figure(self, view: str = "sphere", prompt: str | None = None, **kwargs):
        """spherescope.figure with this model, without loading it again."""
        from spherescope.api import figure

        if self.ref is None:
            kwargs.setdefault("model_name", self.info.name)
            return figure(prompt, model=self.loaded.model, tokenizer=self.loaded.tokenizer, view=view, **kwargs)
        return figure(prompt, model=self.ref, view=view, **{**_figure_options(self.options), **kwargs})


def _figure_options(options: dict) -> dict:
    out = {}
    if "device" in options:
        out["device"] = options["device"]
    if "dtype" in options:
        out["dtype"] = options["dtype"]
    return out


def _steer_args(steer) -> dict | None:
    if steer is None:
        return None
    if not isinstance(steer, dict):
        raise TypeError("steer= takes a dict: dict(layer=12, toward=' Mary', alpha=8, away=None, position=None)")
    unknown = set(steer) - {"layer", "toward", "alpha", "away", "position"}
    if unknown or not {"layer", "toward", "alpha"} <= set(steer):
        raise ValueError("steer= needs layer, toward and alpha (and takes away and position): "
                         "dict(layer=12, toward=' Mary', alpha=8)")
    return dict(steer)


def load(ref: str | os.PathLike | None = None, *, device: str = "auto", dtype: str | None = None,
         model: Any = None, tokenizer: Any = None, allow_pickle: bool = False, ignore_memory: bool = False,
         name: str = "in-memory model") -> Model:
    """Load a model once for many analyses: the embedded SmolLM2-135M by default, any
    reference the command line takes (a folder, a .gguf file, a hub id), or a
    transformers `model=` and `tokenizer=` already in memory. Loading the same
    reference again, here or through spherescope.figure, reuses the loaded model."""
    from spherescope import runtime
    from spherescope.jobs import load as load_jobs
    from spherescope.jobs.base import Context, inline_report
    from spherescope.models.devices import load_options

    ctx = Context()
    with _LOCK, runtime.in_callers_process():
        if model is not None:
            if tokenizer is None:
                raise ValueError("an in-memory model needs its tokenizer: load(model=model, tokenizer=tokenizer)")
            job = load_jobs.adopt(ctx, inline_report(), model, tokenizer, name)
            return Model(ctx, job, None, {})
        ref = "embedded" if ref is None else str(ref)
        options = load_options(device, dtype, allow_pickle, ignore_memory)
        job = load_jobs.load(ctx, inline_report(), ref, options)
        return Model(ctx, job, ref, options)
