"""What a model is and roughly how much memory it will take, read before loading it.

Only headers are read (config.json, the safetensors JSON headers, the GGUF header),
never weights and never torch, so the model dialog can show this as the user types.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from spherescope.models.errors import ModelError
from spherescope.models.gguf_meta import GGUFFormatError, read_gguf_meta
from spherescope.models.source import Source, embedded_gguf, resolve

_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1}
_ST_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I8": "int8", "U8": "uint8"}
# What a loaded model costs beyond its weights, measured on SmolLM2 (benchmarks/):
# the torch/transformers/Qt runtime and the float32 vocabulary geometry.
RUNTIME_BYTES = 350 * 2**20
_UNTIED_HEADS = ("lm_head.weight", "embed_out.weight", "output.weight")


@dataclass(frozen=True)
class ModelSummary:
    label: str
    architecture: str
    layers: int | None
    width: int | None
    vocab: int | None
    tied: bool | None
    parameters: int | None
    stored_dtype: str  # what the files hold ("Q4_1 (GGUF)" for quantised GGUF)
    loads_as: str  # the dtype the weights get when no precision is chosen
    context: int | None = None
    license: str | None = None
    note: str = ""  # e.g. "first load converts the GGUF once (about 20 s for 135M)"
    # What the config's sizes imply (what transformers allocates before reading weights):
    # a config claiming more than its files hold is judged by the config.
    claimed_parameters: int | None = None

    def weight_bytes(self, dtype: str | None = None) -> int | None:
        params = max(self.parameters or 0, self.claimed_parameters or 0)
        if not params:
            return None
        return params * _BYTES.get(dtype or self.loads_as, 4)

    def memory_bytes(self, dtype: str | None = None) -> int | None:
        """Weights at the chosen precision, plus the float32 lens and vocabulary geometry
        (token directions centred and raw, and the embedding's for untied models),
        plus the runtime. Within ~10% of the measured peak for SmolLM2."""
        w = self.weight_bytes(dtype)
        if w is None:
            return None
        vd = (self.vocab or 0) * (self.width or 0) * 4
        geometry = vd * (2 if self.tied is not False else 4)
        lens_copy = vd if (dtype or self.loads_as) != "float32" else 0
        return w + geometry + lens_copy + RUNTIME_BYTES

    def lines(self) -> list[tuple[str, str]]:
        def num(v):
            return "?" if v is None else f"{v:,}"

        rows = [
            ("Architecture", self.architecture),
            ("Layers", num(self.layers)),
            ("Width (d)", num(self.width)),
            ("Vocabulary", num(self.vocab)),
            ("Embeddings", "?" if self.tied is None else ("tied (W_U = W_E)" if self.tied else "untied (W_U ≠ W_E)")),
            ("Parameters", "?" if self.parameters is None else human_count(self.parameters)),
            ("Stored as", self.stored_dtype),
        ]
        if self.context:
            rows.append(("Context", f"{self.context:,} tokens"))
        if self.license:
            rows.append(("Licence", self.license))
        return rows


def human_count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 2**10:.0f} kB"


# ---- reading sources -------------------------------------------------------------

def summarize(ref: str | Source | None) -> ModelSummary:
    """Describe a model from its headers. Raises ModelError with a sentence to show."""
    source = ref if isinstance(ref, Source) else resolve(ref)
    if source.kind == "embedded":
        s = _from_gguf(embedded_gguf(), label=source.label)
        return s
    if source.kind == "gguf":
        assert source.path is not None and source.gguf_file is not None
        return _from_gguf(source.path / source.gguf_file, label=source.label)
    if source.kind == "dir":
        assert source.path is not None
        return _from_dir(source.path, label=source.label)
    folder = _cached_hub_folder(source.ref)
    if folder is None:
        raise ModelError(f"{source.ref} is not in the local Hugging Face cache; it will be downloaded when loaded (needs a connection).")
    return _from_dir(folder, label=source.ref)


def _from_gguf(path: Path, label: str) -> ModelSummary:
    try:
        meta = read_gguf_meta(path)
    except GGUFFormatError as exc:
        raise ModelError(str(exc)) from None
    vocab = meta.arch_field("vocab_size") or meta.get("tokenizer.ggml.tokens")
    stored = _ggml_type_name(_dominant(meta.tensors.values())) if meta.tensors else "?"
    return ModelSummary(
        label=label,
        architecture=meta.architecture,
        layers=meta.arch_field("block_count"),
        width=meta.arch_field("embedding_length"),
        vocab=int(vocab) if isinstance(vocab, int) else None,
        tied="output.weight" not in meta.tensors,
        parameters=meta.parameter_count or None,
        stored_dtype=f"{stored} (GGUF)",
        loads_as="float32",  # transformers dequantises GGUF weights to float32
        context=meta.arch_field("context_length"),
        license=meta.get("general.license"),
        note="The first load converts the GGUF to a cached safetensors copy (about 20 s for 135M parameters).",
    )


def _dominant(tensors) -> object:
    """The storage type holding the most elements among (shape, type) pairs: what the
    weights are "stored as" (norm vectors in float32 beside quantised matrices do not count much)."""
    counts: Counter = Counter()
    for shape, kind in tensors:
        counts[kind] += math.prod(shape)
    return counts.most_common(1)[0][0]


def _ggml_type_name(t: int) -> str:
    names = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K", 11: "Q3_K",
             12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 30: "BF16"}
    return names.get(t, f"type {t}")


def _text_config(cfg: dict) -> dict:
    inner = cfg.get("text_config")
    return {**cfg, **inner} if isinstance(inner, dict) else cfg


def _first(cfg: dict, *keys):
    for k in keys:
        v = cfg.get(k)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def weight_files(folder: Path) -> list[Path]:
    """The folder's safetensors files, in order; ModelError (a sentence) for one that is
    not a readable file: a dangling or looping symlink, a folder named like one."""
    files = sorted(folder.glob("*.safetensors"))
    for f in files:
        if not f.is_file():
            raise ModelError(f"{f.name} in {folder} is not a readable file (a broken link?); remove it or fix it.")
    return files


def safetensors_headers(folder: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """name -> (shape, dtype) for every tensor in the folder's safetensors files."""
    out: dict = {}
    for f in weight_files(folder):
        try:
            with open(f, "rb") as fh:
                raw = fh.read(8)
                if len(raw) != 8:
                    raise ModelError(f"{f.name} is truncated (no safetensors header).")
                n = struct.unpack("<Q", raw)[0]
                if n > 100 * 2**20 or n > f.stat().st_size:
                    raise ModelError(f"{f.name} has an impossible header size; the file is corrupt.")
                header = json.loads(fh.read(n))
        except OSError as exc:
            raise ModelError(f"Cannot read {f.name} in {folder}: {exc.strerror or exc}.") from None
        except (ValueError, RecursionError):
            raise ModelError(f"{f.name} has an unreadable header; the file is corrupt.") from None
        if not isinstance(header, dict):
            raise ModelError(f"{f.name} has an unreadable header; the file is corrupt.")
        for name, entry in header.items():
            if name != "__metadata__" and isinstance(entry, dict):
                shape = entry.get("shape", ())
                if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                          and 0 <= d < 2**40 for d in shape):
                    raise ModelError(f"{f.name} lists a tensor {name[:60]!r} with an impossible shape; the file is corrupt.")
                dtype = entry.get("dtype", "?")
                if not isinstance(dtype, str):
                    raise ModelError(f"{f.name} lists a tensor {name[:60]!r} with an impossible type; the file is corrupt.")
                out[name] = (tuple(shape), dtype)
    return out


def _from_dir(folder: Path, label: str) -> ModelSummary:
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read {folder / 'config.json'}: {exc}") from None
    if not isinstance(cfg, dict):
        raise ModelError(f"{folder / 'config.json'} is not a model configuration (a JSON object of settings).")
    t = _text_config(cfg)
    tensors = safetensors_headers(folder)
    params = None
    stored = "?"
    if tensors:
        params = sum(math.prod(shape) for shape, _dt in tensors.values())
        dominant = _dominant(tensors.values())
        stored = _ST_DTYPES.get(dominant, dominant)
        tied = not any(name.endswith(_UNTIED_HEADS) for name in tensors)
    else:
        tied = t.get("tie_word_embeddings", cfg.get("tie_word_embeddings", True))
        stored = "pickled (.bin)" if any(folder.glob("*.bin")) else "?"
    declared = str(cfg.get("dtype") or cfg.get("torch_dtype") or "")
    loads_as = stored if stored in _BYTES else (declared if declared in _BYTES else "float32")
    layers = _first(t, "num_hidden_layers", "n_layer", "num_layers")
    width = _first(t, "hidden_size", "n_embd", "d_model")
    vocab = _first(t, "vocab_size")
    if isinstance(layers, int) and isinstance(width, int) and isinstance(vocab, int) and min(layers, width, vocab) > 0:
        # The usual estimate from the config (blocks 12 d^2, embeddings): an over-estimate
        # for small models, and for a hostile config the only warning before allocation.
        claimed = 12 * layers * width * width + vocab * width * (1 if tied else 2)
    else:
        claimed = None
    archs = cfg.get("architectures")
    names = [cfg.get("model_type"), *(archs if isinstance(archs, list) else [])]
    architecture = next((n for n in names if isinstance(n, str) and n), "unknown")[:60]
    return ModelSummary(
        label=label,
        architecture=architecture,
        layers=layers,
        width=width,
        vocab=vocab,
        tied=bool(tied),
        parameters=params if params is not None else claimed,
        stored_dtype=stored,
        loads_as=loads_as,
        context=_first(t, "max_position_embeddings", "n_positions", "max_sequence_length"),
        claimed_parameters=claimed,
    )


def _cached_hub_folder(repo: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return None
    try:
        hit = try_to_load_from_cache(repo, "config.json")
    except Exception:  # an invalid id is answered when loading, with its own message
        return None
    return Path(hit).parent if isinstance(hit, str) else None


def _shortfall(summary: ModelSummary, dtype: str | None, device: str, available: int | None):
    """(bytes needed, which memory) when the estimate exceeds what is free; None when it
    fits or either side is unknown (no false alarm)."""
    need = summary.memory_bytes(dtype)
    if need is None or available is None or need <= available:
        return None
    return need, "GPU memory" if device.startswith("cuda") or device == "shard" else "memory"


def memory_refusal(summary: ModelSummary, dtype: str | None, device: str, available: int | None) -> str | None:
    """A sentence refusing a load whose estimate exceeds the free memory (None: go on)."""
    short = _shortfall(summary, dtype, device, available)
    if short is None:
        return None
    need, where = short
    return (f"Not loading {summary.label}: it needs about {human_bytes(need)} but only {human_bytes(available)} of "
            f"{where} is free. Choose float16/bfloat16 or a smaller model, or load it anyway (Load anyway in the "
            "Model dialog, --ignore-memory on the command line).")


def memory_warning(summary: ModelSummary, dtype: str | None, device: str, available: int | None) -> str | None:
    short = _shortfall(summary, dtype, device, available)
    if short is None:
        return None
    need, where = short
    return (
        f"Needs about {human_bytes(need)} but only {human_bytes(available)} of {where} is free: "
        "loading may fail or swap. Choose float16/bfloat16, another device, or a smaller model."
    )
