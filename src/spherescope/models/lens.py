"""The logit lens, architecture by architecture, always computed in float32.

A lens turns a residual vector h (before the final norm) into logits exactly the way
the model's own head does: final norm, then OPT's project_out, then the unembedding
(with its bias where there is one), then Gemma2-style soft-capping.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from spherescope.models.errors import ModelError

FINAL_NORM_PATHS = (
    "model.norm",  # llama, mistral, qwen2, gemma*, phi3, smollm
    "transformer.ln_f",  # gpt2
    "model.decoder.final_layer_norm",  # opt
    "gpt_neox.final_layer_norm",  # gpt-neox / pythia
    "model.final_layernorm",  # phi-1/2
    "model.language_model.norm",
)
BLOCK_PATHS = (
    "model.layers",
    "transformer.h",
    "model.decoder.layers",
    "gpt_neox.layers",
    "model.language_model.layers",
)
MISSING = object()


def get_path(root: nn.Module, path: str):
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part, MISSING)
        if obj is MISSING:
            return MISSING
    return obj


def find_blocks(model: nn.Module) -> nn.ModuleList:
    for path in BLOCK_PATHS:
        obj = get_path(model, path)
        if isinstance(obj, nn.ModuleList) and len(obj) > 0:
            return obj
    raise ModelError(
        f"spherescope does not know where the decoder blocks of {type(model).__name__} are; "
        "use a supported architecture (GPT-2, OPT, GPT-NeoX, Llama, Mistral, Qwen2, Gemma, Phi)."
    )


def find_final_norm(model: nn.Module) -> nn.Module | None:
    """The final norm module, or None for models that have none (OPT-350m)."""
    for path in FINAL_NORM_PATHS:
        obj = get_path(model, path)
        if obj is MISSING:
            continue
        if obj is None:
            return None  # the attribute exists and is deliberately empty
        if isinstance(obj, nn.Module):
            return obj
    raise ModelError(
        f"spherescope does not know the final norm of {type(model).__name__}, so its logit lens "
        "would be wrong; use a supported architecture (GPT-2, OPT, GPT-NeoX, Llama, Qwen2, Gemma, Phi)."
    )


def _as_float32(module: nn.Module | None) -> nn.Module | None:
    """A float32 version of a module, sharing storage when it already is float32."""
    if module is None:
        return None
    params = list(module.parameters())
    if all(p.dtype == torch.float32 for p in params):
        return module
    return copy.deepcopy(module).float()


def _on(module: nn.Module | None, device: torch.device) -> nn.Module | None:
    if module is None:
        return None
    p = next(module.parameters(), None)
    if p is None or p.device == device:
        return module
    return copy.deepcopy(module).to(device)  # a copy: the model's own module stays put


@dataclass
class Lens:
    final_norm: nn.Module | None
    project_out: nn.Module | None
    head: nn.Module
    softcap: float | None
    device: torch.device

    @classmethod
    def for_model(cls, model: nn.Module) -> "Lens":
        norm = find_final_norm(model)
        project_out = get_path(model, "model.decoder.project_out")
        if project_out is MISSING:
            project_out = None
        head = model.get_output_embeddings()
        if head is None:
            raise ModelError(f"{type(model).__name__} has no output embedding (unembedding) to read a lens from.")
        softcap = getattr(model.config, "final_logit_softcapping", None)
        if softcap is None and hasattr(model.config, "get_text_config"):
            softcap = getattr(model.config.get_text_config(), "final_logit_softcapping", None)
        device = next(head.parameters()).device
        # A sharded model may keep the final norm on another GPU than the head; the
        # lens keeps its float32 pieces together where the head is.
        return cls(_on(_as_float32(norm), device), _on(_as_float32(project_out), device), _as_float32(head), softcap, device)

    @torch.no_grad()
    def normed(self, h: torch.Tensor) -> torch.Tensor:
        x = h.to(self.device, torch.float32)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return x

    @torch.no_grad()
    def logits_from_normed(self, x: torch.Tensor) -> torch.Tensor:
        if self.project_out is not None:
            x = self.project_out(x)
        logits = self.head(x).float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    @torch.no_grad()
    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """(..., d) residuals before the final norm -> (..., V) float32 logits."""
        return self.logits_from_normed(self.normed(h))

    def logits_np(self, h: np.ndarray) -> np.ndarray:
        return self.logits(torch.from_numpy(np.ascontiguousarray(h, dtype=np.float32))).cpu().numpy()

    @torch.no_grad()
    def effective_factors(self, hidden_size: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(U, g, b): the effective unembedding W = U * g (per column; W = U when g is
        None) and bias b, with logit(h) = (W @ h) / s(h) + b before soft-capping, s(h) > 0
        a scalar.

        The final norm's gain (and LayerNorm's centring) and OPT's project_out are folded
        into W's rows, so they are the directions that the *raw* residual must point along
        to raise each token: the honest "token directions" for a picture of h. Behind an
        RMSNorm with no project_out (the Llama family, Gemma), on the CPU, U is the head's
        own float32 rows, shared with the model: no V x d copy (113 MB for SmolLM2, 671 MB
        for a 262k vocabulary). Otherwise U is W itself, made here."""
        head_w = self.head.weight.detach()
        bias = torch.zeros(head_w.shape[0], device=head_w.device)
        head_bias = getattr(self.head, "bias", None)
        if head_bias is not None:
            bias = bias + head_bias.detach().float()
        norm = self.final_norm
        if self.project_out is None and not isinstance(norm, nn.LayerNorm) and head_w.device.type == "cpu" \
                and head_w.dtype == torch.float32:
            u = head_w.numpy()
            u.flags.writeable = False  # the model's own weights
            gain = None
            if norm is not None:
                # Every RMSNorm variant (Llama's w, Gemma's 1 + w) maps a constant vector
                # to its gain, so probing with ones reads the gain without knowing the class.
                gain = norm(torch.ones(1, hidden_size, device=head_w.device))[0].float().cpu().numpy()
            return u, gain, np.ascontiguousarray(bias.cpu().numpy(), dtype=np.float32)
        w = head_w.float()
        if self.project_out is not None:
            w = w @ self.project_out.weight.detach().float()
        if isinstance(norm, nn.LayerNorm):
            if norm.bias is not None:
                beta = norm.bias.detach().float()
                b_out = self.project_out(beta) if self.project_out is not None else beta
                bias = bias + head_w.float() @ b_out
            if norm.weight is not None:
                w = w * norm.weight.detach().float()
            w = w - w.mean(dim=1, keepdim=True)
        elif norm is not None:
            ones = torch.ones(1, hidden_size, device=w.device)
            w = w * norm(ones)[0].float()
        return (
            np.ascontiguousarray(w.cpu().numpy(), dtype=np.float32),
            None,
            np.ascontiguousarray(bias.cpu().numpy(), dtype=np.float32),
        )
