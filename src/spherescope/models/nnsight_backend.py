"""The same trace through nnsight, locally or on NDIF (`remote=True`), for models
too big for this machine. Optional: `pip install spherescope[remote]`.

Only what the views need crosses the wire, computed where the model runs:
  * the residual norm of every position at every layer, (L+1, T);
  * the followed position's vector at every layer, (L+1, d): the trajectory itself
    (81 x 8192 floats = 2.6 MB for a 70B Llama, against T x 81 x 8192 for full states);
  * its coordinates in a 3-D basis, when one is given, (L+1, 3);
  * the logit lens top-k at every layer, (L+1, k) ids and probabilities.
The lens runs the model's own final norm and head on the server; softmax and top-k
are float32. With a float32 model that is exactly the direct backend's lens (tested).

The API key comes from NDIF_API_KEY or is passed in (the app's settings); it is set
on nnsight's in-memory config only, never saved by us, never logged, never written
into a scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spherescope.core.trajectory import LensTop, Token
from spherescope.models.errors import ModelError, PromptError

_INSTALL = "The nnsight backend needs the remote extra: pip install 'spherescope[remote]'."


@dataclass(frozen=True)
class RemoteTrace:
    tokens: tuple[Token, ...]
    position: int
    norms: np.ndarray  # (L+1, T) float32
    path: np.ndarray  # (L+1, d) float32, the followed position
    coords: np.ndarray | None  # (L+1, 3) float32 in the given basis
    lens: tuple[LensTop, ...]
    remote: bool


def _import_nnsight():
    try:
        import nnsight  # noqa: F401
        from nnsight import LanguageModel
    except ImportError:
        raise ModelError(_INSTALL) from None
    return LanguageModel


def configure_api_key(key: str | None) -> bool:
    """Use `key` (or NDIF_API_KEY) for remote runs without persisting it. True if a key is set."""
    try:
        from nnsight import CONFIG
    except ImportError:
        raise ModelError(_INSTALL) from None
    if key:
        CONFIG.API.APIKEY = key  # in memory only: CONFIG.save() would write it to disk
    return bool(CONFIG.API.APIKEY)


def wrap(model_or_repo, tokenizer=None):
    """An nnsight model around an already-loaded transformers model (local), or a hub
    id (built on the meta device: no weights are downloaded for a remote run)."""
    LanguageModel = _import_nnsight()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LanguageModel's rename notice; its API is what NDIF documents
        if isinstance(model_or_repo, str):
            try:
                return LanguageModel(model_or_repo, trust_remote_code=False)
            except OSError as exc:  # the config and tokenizer come from the hub, even for a remote run
                first = (str(exc).strip().splitlines() or ["no detail"])[0]
                raise ModelError(f"Cannot get {model_or_repo}'s configuration and tokenizer from the hub "
                                 f"(needed even for a remote run): {first}") from None
        return LanguageModel(model_or_repo, tokenizer=tokenizer)


def _envoy(root, path: str):
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def module_paths(model) -> tuple[str, str | None, str, str | None]:
    """(blocks, final norm or None, head, OPT's project_out or None) attribute paths."""
    from spherescope.models.lens import BLOCK_PATHS, FINAL_NORM_PATHS, get_path, MISSING, find_blocks, find_final_norm

    blocks = find_blocks(model)
    bpath = next(p for p in BLOCK_PATHS if get_path(model, p) is blocks)
    norm = find_final_norm(model)
    npath = None if norm is None else next(p for p in FINAL_NORM_PATHS if get_path(model, p) is norm)
    head = model.get_output_embeddings()
    hpath = next((n for n, m in model.named_modules() if m is head), None)
    if hpath is None or get_path(model, hpath) is MISSING:
        raise ModelError(f"{type(model).__name__} has no output embedding to read a lens from.")
    ppath = "model.decoder.project_out" if get_path(model, "model.decoder.project_out") not in (MISSING, None) else None
    return bpath, npath, hpath, ppath


def trace_nnsight(lm, prompt: str, *, position: int | None = None, top_k: int = 10, basis: np.ndarray | None = None,
                  remote: bool = False, token_text=None) -> RemoteTrace:
    """Trace one prompt through an nnsight LanguageModel (see module docstring)."""
    import torch

    ids, pos = _checked_ids(lm, prompt, position)
    blocks, norm, head, project_out, softcap = _modules(lm)
    n_blocks = len(blocks)
    b = None if basis is None else torch.as_tensor(np.ascontiguousarray(basis, dtype=np.float32))
    k = int(top_k)

    with lm.trace(torch.tensor([ids]), remote=remote):
        # The body runs interleaved with the forward (on the server when remote), so
        # each module's value is read once, in forward order, and reduced at once.
        rows = []
        vecs = []
        h = blocks[0].input
        rows.append(h[0].float().norm(dim=-1))
        vecs.append(h[0, pos].float())
        for i in range(n_blocks):
            if i + 1 == n_blocks and norm is not None:
                h = norm.input  # the residual itself (hidden_states[-1] is already normed)
            else:
                out = blocks[i].output
                h = out[0] if isinstance(out, tuple) else out
            rows.append(h[0].float().norm(dim=-1))
            vecs.append(h[0, pos].float())
        path = torch.stack(vecs)
        w = head.weight
        x = path.to(w.dtype)
        if norm is not None:
            x = norm(x)
        if project_out is not None:
            x = project_out(x)
        logits = head(x).float()
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        logp = torch.log_softmax(logits, dim=-1)
        vals, top = torch.topk(logits, k, dim=-1)
        probs = torch.gather(logp, -1, top).exp()
        ent = -(logp.exp() * logp).nansum(dim=-1)
        result = {
            "norms": torch.stack(rows).cpu(),
            "path": path.cpu(),
            "top": top.cpu(),
            "probs": probs.cpu(),
            "vals": vals.cpu(),
            "entropy": ent.cpu(),
        }
        if b is not None:
            result["coords"] = (path @ b.to(path.device).T).cpu()
        saved = result.save() if hasattr(result, "save") else __import__("nnsight").save(result)

    out = {key: val.detach().numpy() for key, val in saved.items()}
    text = token_text or (lambda i: lm.tokenizer.decode([i]))
    return _remote_trace(out, tuple(Token(int(i), text(int(i))) for i in ids), pos, remote)


def _checked_ids(lm, prompt: str, position: int | None) -> tuple[list[int], int]:
    """The prompt's token ids and the followed position, refused with a sentence before
    any model work."""
    if not prompt:
        raise PromptError("The prompt is empty; type some text to trace.")
    ids = lm.tokenizer(prompt)["input_ids"]
    if not ids:
        raise PromptError("The prompt produced no tokens; type some visible text.")
    n = len(ids)
    # The same rule as the direct backend (models.trace.tokenize), before any model work:
    # a prompt over the context was run here for minutes and tens of GB.
    from spherescope.models.loaded import context_length

    ctx = context_length(lm._module.config)
    if ctx is not None and n > ctx:
        raise PromptError(f"The prompt is {n:,} tokens but the model reads at most {ctx:,}; it was refused, not "
                          "truncated: shorten it.")
    pos = n - 1 if position is None else position
    if not -n <= pos < n:
        raise PromptError(f"Position {pos} is out of range: the prompt has {n} tokens (0..{n - 1}).")
    return ids, pos % n


def _modules(lm):
    """(blocks, final norm or None, head, output projection or None, logit soft-cap or None)."""
    bpath, npath, hpath, ppath = module_paths(lm._module)
    cfg = lm._module.config
    softcap = getattr(cfg, "final_logit_softcapping", None)
    if softcap is None and hasattr(cfg, "get_text_config"):
        softcap = getattr(cfg.get_text_config(), "final_logit_softcapping", None)
    return (_envoy(lm, bpath), None if npath is None else _envoy(lm, npath), _envoy(lm, hpath),
            None if ppath is None else _envoy(lm, ppath), softcap)


def _remote_trace(out: dict, tokens: tuple, pos: int, remote: bool) -> RemoteTrace:
    lens = tuple(
        LensTop(out["top"][layer].astype(np.int64), out["probs"][layer].astype(np.float32),
                out["vals"][layer].astype(np.float32), float(out["entropy"][layer]))
        for layer in range(out["top"].shape[0])
    )
    return RemoteTrace(tokens, pos, out["norms"].astype(np.float32), out["path"].astype(np.float32),
                       out.get("coords"), lens, remote)
