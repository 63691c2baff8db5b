"""Loading a model: hub snapshots, local folders, GGUF files converted once and cached,
read-ahead of weights, and the one `load_model` that wraps the result with a lens.

Runs off the GUI thread (the model worker, or the command line); torch and
transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from spherescope.models import cache, devices, tokenizer_prefetch
from spherescope.models.devices import accelerators, check_dtype, pick_device
from spherescope.models.errors import Cancelled, ModelError
from spherescope.models.loaded import LoadedModel
from spherescope.models.source import Source, embedded_gguf, resolve
from spherescope.models.summary import summarize, weight_files

# Encoder-only and encoder-decoder families: transformers will happily build an
# "LM head" for some of them, but there is no left-to-right residual stream to follow.
_NOT_CAUSAL = {
    "bert", "roberta", "distilbert", "albert", "electra", "deberta", "deberta-v2",
    "xlm-roberta", "camembert", "mpnet", "modernbert", "t5", "mt5", "bart", "mbart",
    "pegasus", "marian", "longformer", "big_bird", "funnel", "layoutlm", "ernie",
}

Progress = Callable[[str, float | None], None]


def _hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _hub_snapshot(repo: str) -> Path:
    """A local snapshot of a hub model, without ever hanging on a dead network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.bin", "*.tiktoken"]
    try:
        return Path(snapshot_download(repo, local_files_only=True, allow_patterns=patterns))
    except HFValidationError:
        raise ModelError(f"{repo!r} is neither an existing path nor a valid hub model id.") from None
    except Exception:
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if offline or not _hub_reachable():
        raise ModelError(
            f"{repo} is not in the local Hugging Face cache and the hub cannot be reached "
            "(offline); download it on a connected machine or open a local directory instead."
        )
    try:
        return Path(snapshot_download(repo, allow_patterns=patterns))
    except Exception as exc:  # network and auth errors arrive in many types
        raise ModelError(f"Could not download {repo}: {str(exc).splitlines()[0]}") from None


def _check_weights_safe(folder: Path, allow_pickle: bool) -> bool:
    """True when the folder has safetensors; refuse pickle-only checkpoints unless allowed."""
    has_st = any(folder.glob("*.safetensors"))
    has_pickle = any(folder.glob("*.bin")) or any(folder.glob("*.pt")) or any(folder.glob("*.pth"))
    if not has_st and has_pickle and not allow_pickle:
        raise ModelError(
            f"{folder.name} holds only pickled (.bin) weights, which can run arbitrary code when "
            "loaded; convert it to safetensors, or pass --allow-pickle if you trust its source."
        )
    if not has_st and not has_pickle:
        raise ModelError(f"{folder} holds no model weights (.safetensors).")
    return has_st


def check_causal(config) -> None:
    mt = getattr(config, "model_type", "")
    if mt in _NOT_CAUSAL or getattr(config, "is_encoder_decoder", False):
        raise ModelError(
            f"This is a {mt or 'non-causal'} model, which is not a left-to-right (causal) "
            "language model; open a decoder such as GPT-2, Llama, Qwen or SmolLM2."
        )
    from transformers import MODEL_FOR_CAUSAL_LM_MAPPING

    try:
        MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]
    except KeyError:
        raise ModelError(
            f"transformers has no causal language model for model type {mt!r}; "
            "open a decoder such as GPT-2, Llama, Qwen or SmolLM2."
        ) from None


def _cause(exc: BaseException) -> str:
    """The line of a library error that says what is wrong: validation errors wrap the
    reason ("The hidden size (1) is not a multiple of ...") in a line naming a validator."""
    text = str(exc.__cause__ or exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]


def _load_pretrained(folder: Path, *, gguf_file: str | None, dtype, device: str, allow_pickle: bool,
                     progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                     read_span: tuple[float, float] = (0.1, 0.9)):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as tf_logging

    tf_logging.disable_progress_bar()  # the app shows its own progress; keep stderr clean
    kw: dict = {"trust_remote_code": False}
    if gguf_file:
        kw["gguf_file"] = gguf_file
    config = _read_config(folder, gguf_file, kw)
    check_causal(config)
    if not gguf_file:
        use_st = _check_weights_safe(folder, allow_pickle)
        kw["use_safetensors"] = use_st
    if dtype is not None:
        kw["dtype"] = dtype
    if device == "shard":
        # accelerate spreads the blocks over every visible GPU (and CPU if they are full);
        # the trace moves each layer's residual to the CPU, so placement does not matter to it.
        kw["device_map"] = "auto"
    tok_kw = _tokenizer_options(folder, gguf_file, kw)
    if not gguf_file:
        read_ahead(weight_files(folder), progress=progress, cancel=cancel, span=read_span)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **tok_kw)
        parsed = tok_kw.get("tokenizer_object")
        if parsed is not None and not isinstance(getattr(tokenizer, "_tokenizer", None), type(parsed.tokenizer)):
            # A transformers that no longer copies the handover would keep the wrapper.
            tok_kw.pop("tokenizer_object")
            tokenizer = AutoTokenizer.from_pretrained(folder, **tok_kw)
        model = AutoModelForCausalLM.from_pretrained(folder, config=config, **kw)
    except (ModelError, Cancelled):
        raise
    except Exception as exc:
        text = str(exc)
        if "Weights only load failed" in text or "weights_only" in text:
            # torch's safe unpickler refused objects it does not know: no code ran.
            raise ModelError(f"The pickled checkpoint in {folder} holds Python objects beyond plain tensors, which "
                             "the safe loader refuses even with --allow-pickle (it never runs code from a checkpoint). "
                             "Convert it to safetensors with the tool that made it.") from None
        first = (text.strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"Cannot load the model from {folder}: {first[:300]}") from None
    model.eval()
    if device not in ("cpu", "shard"):
        model.to(device)
    return model, tokenizer


def _read_config(folder: Path, gguf_file: str | None, kw: dict):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(folder, **kw)
    except OSError as exc:
        raise ModelError(f"Cannot read the model configuration: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # ValueError, and the hub's validation errors for impossible sizes
        msg = _cause(exc)
        if gguf_file and "architecture" in msg.lower():
            raise ModelError(
                f"transformers cannot read this GGUF architecture ({msg}); use a safetensors "
                "copy of the model instead."
            ) from None
        raise ModelError(f"The model's configuration is not valid: {msg}") from None


def _tokenizer_options(folder: Path, gguf_file: str | None, kw: dict) -> dict:
    """The tokenizer's keyword arguments, with the tokenizer the warm-up already parsed
    (models.tokenizer_prefetch) handed over when there is one."""
    tok_kw = {k: v for k, v in kw.items() if k in ("gguf_file", "trust_remote_code")}
    parsed = None if gguf_file else tokenizer_prefetch.take(folder / "tokenizer.json")
    if parsed is not None:
        tok_kw["tokenizer_object"] = tokenizer_prefetch.Handover(parsed)
        # Without this, transformers re-reads the whole tokenizer.json through json.load
        # (one long GIL-holding call) only to find the added tokens the parsed
        # tokenizer already knows, whenever tokenizer_config.json does not list them.
        tok_kw["added_tokens_decoder"] = parsed.get_added_tokens_decoder()
    return tok_kw


def read_ahead(paths: list[Path], chunk: int = 8 << 20, progress: Progress | None = None,
               cancel: Callable[[], bool] | None = None, span: tuple[float, float] = (0.1, 0.9)) -> int:
    """Read weight files once, so they are in the page cache before they are loaded.

    safetensors maps the file and copies tensors out of it while holding the GIL, so on
    a cold start (after a reboot, or once the kernel has dropped the file) every page
    fault is disk time with the window frozen: 0.4-2.7 s of stalls measured here for the
    540 MB default model. Python's reads release the GIL while the disk works. When the
    file is already cached this costs a memory copy (~0.1 s for 540 MB). Skipped when
    the files would not fit in free memory: reading them would only evict each other.
    Reports progress by bytes (across `span` of the whole load) and checks `cancel`
    between reads, since a large model takes a while to read from disk. Returns the
    bytes read."""
    total = sum(p.stat().st_size for p in paths)
    free = devices.available_memory("cpu")
    if not paths or free is None or total > free // 2:
        return 0
    buf = bytearray(chunk)
    done = 0
    for p in paths:
        try:
            with open(p, "rb", buffering=0) as fh:
                if hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
                while n := fh.readinto(buf):
                    done += n
                    if cancel is not None and cancel():
                        raise Cancelled()
                    if progress is not None and done % (16 * chunk) < n:
                        progress("Reading weights", span[0] + (span[1] - span[0]) * done / total)
        except OSError:
            # Only a head start: a file that cannot be read is the loader's to report,
            # in its own words, a moment later.
            continue
    return done


@contextmanager
def _gguf_progress(progress: Progress | None, cancel: Callable[[], bool] | None):
    """Report real progress (and allow cancelling) while transformers dequantises a GGUF.

    transformers walks the GGUF's tensors through a module-level `tqdm`; for the length
    of one conversion that name is pointed at a generator that reports each step to the
    caller instead of drawing a terminal bar. Conversions run one at a time (the worker
    holds the model lock), so the swap cannot race.
    """
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - a transformers without GGUF support
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return

    def tracked(iterable, *args, **kwargs):
        items = list(iterable)
        n = max(len(items), 1)
        for i, item in enumerate(items):
            if cancel is not None and cancel():
                raise Cancelled()
            if progress is not None and i % 4 == 0:
                progress("Converting GGUF (first time only)", 0.1 + 0.75 * i / n)
            yield item

    gguf_utils.tqdm = tracked
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _convert_gguf(path: Path, target: Path, progress: Progress | None, cancel: Callable[[], bool] | None = None) -> None:
    """Dequantise a GGUF once and save it as safetensors plus tokenizer."""
    if progress:
        progress("Converting GGUF (first time only)", 0.1)
    with _gguf_progress(progress, cancel):
        model, tokenizer = _load_pretrained(path.parent, gguf_file=path.name, dtype=None, device="cpu", allow_pickle=False)
    # The config remembers it came from a GGUF; the saved copy is plain safetensors.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    if progress:
        progress("Saving converted copy", 0.9)
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)


def load_gguf_cached(path: Path, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                     dtype=None, device: str = "cpu"):
    """Convert once, then load the cached safetensors copy like any model directory, so
    precision, device and sharding work the same for GGUF files."""
    from spherescope.models.gguf_meta import GGUFFormatError, read_gguf_meta

    try:
        meta = read_gguf_meta(path)  # our bounded reader first: a corrupt header gets a sentence, not gguf's struct error
    except GGUFFormatError as exc:
        raise ModelError(str(exc)) from None
    need = 4 * meta.parameter_count + (64 << 20)  # float32 weights and the tokenizer
    try:
        folder, built_now = cache.get_or_build(cache.gguf_cache_key(path),
                                               lambda tmp: _convert_gguf(path, tmp, progress, cancel), need_bytes=need)
    except cache.CacheFull as exc:
        raise ModelError(str(exc)) from None
    if built_now:
        cache.prune_date_keyed_entries(path, folder.parent)
    span = (0.92, 0.95) if built_now else (0.1, 0.9)  # after a conversion the bar is near its end
    if progress:
        progress("Loading cached weights", span[0])
    try:
        return _load_pretrained(folder, gguf_file=None, dtype=dtype, device=device, allow_pickle=False,
                                progress=progress, cancel=cancel, read_span=span)
    except ModelError:
        # A cache that validated but does not load is rebuilt once, never used half-way.
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        folder, _ = cache.get_or_build(cache.gguf_cache_key(path), lambda tmp: _convert_gguf(path, tmp, progress, cancel))
        return _load_pretrained(folder, gguf_file=None, dtype=dtype, device=device, allow_pickle=False,
                                progress=progress, cancel=cancel, read_span=(0.92, 0.95))


def _refuse_if_too_big(source: Source, dtype: str | None, device: str | None) -> None:
    """ModelError before any allocation when the estimate (from headers and the config,
    models.summary) exceeds the free memory where the weights will go."""
    from spherescope.models import devices, summary

    try:
        s = summary.summarize(source)
    except ModelError:
        return  # the load itself says what is wrong with it
    where = devices.likely_device(device)
    refusal = summary.memory_refusal(s, dtype, where, devices.available_memory(where))
    if refusal:
        raise ModelError(refusal)


def load_model(
    ref: str | Source | None = None,
    *,
    device: str = "auto",
    dtype: str | None = None,
    allow_pickle: bool = False,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    ignore_memory: bool = False,
):
    """Load a causal LM and its tokenizer, and wrap them with a lens. Runs off the GUI
    thread. A model whose estimated memory exceeds what is free is refused before
    anything is allocated, unless `ignore_memory`."""
    source = ref if isinstance(ref, Source) else resolve(ref)
    if not ignore_memory:
        _refuse_if_too_big(source, dtype, device)
    if progress:
        progress(f"Importing torch for {source.label}", 0.05)
    import torch

    torch_dtype = {None: None, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    weight_bytes = None
    if device in ("auto", None) and accelerators(import_torch=True).n_cuda > 1:
        try:
            weight_bytes = summarize(source).weight_bytes(dtype)
        except ModelError:
            pass
    dev = pick_device(device, weight_bytes)
    check_dtype(dtype, dev)
    if cancel and cancel():
        raise Cancelled()
    if progress:
        progress(f"Loading {source.label}", 0.1)
    if source.kind == "embedded":
        model, tok = load_gguf_cached(embedded_gguf(), progress, cancel, torch_dtype, dev)
    elif source.kind == "gguf":
        assert source.path is not None and source.gguf_file is not None
        model, tok = load_gguf_cached(source.path / source.gguf_file, progress, cancel, torch_dtype, dev)
    elif source.kind == "dir":
        assert source.path is not None
        model, tok = _load_pretrained(source.path, gguf_file=None, dtype=torch_dtype, device=dev,
                                      allow_pickle=allow_pickle, progress=progress, cancel=cancel)
    else:
        folder = _hub_snapshot(source.ref)
        model, tok = _load_pretrained(folder, gguf_file=None, dtype=torch_dtype, device=dev,
                                      allow_pickle=allow_pickle, progress=progress, cancel=cancel)
    if cancel and cancel():
        raise Cancelled()
    if progress:
        progress("Preparing the lens", 0.98)
    loaded = LoadedModel.wrap(model, tok, source)
    if progress:
        progress("Ready", 1.0)
    return loaded
