"""Where weights go: the devices this machine has, the free memory there, and the
rule that turns a preference ("auto", "cuda:1", ...) into a placement.

The one place that asks torch about GPUs (`accelerators`). On the GUI thread it only
looks at a torch that is already imported: a cold `import torch` there stalls the
window for a second or more.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from spherescope.models.errors import ModelError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps", "shard")


def load_options(device: str | None = None, dtype: str | None = None, allow_pickle: bool = False,
                 ignore_memory: bool = False) -> dict:
    """The keyword arguments for `load_model` that differ from its defaults. The
    automatic device, the stored precision and no pickles add no key, so options that
    are passed on or remembered hold only what someone chose."""
    opts: dict = {}
    if device and device != "auto":
        opts["device"] = device
    if dtype:
        opts["dtype"] = dtype
    if allow_pickle:
        opts["allow_pickle"] = True
    if ignore_memory:
        opts["ignore_memory"] = True
    return opts


@dataclass(frozen=True)
class Accelerators:
    cuda: tuple[str, ...] = ()  # device names, index = CUDA ordinal
    mps: bool = False

    @property
    def n_cuda(self) -> int:
        return len(self.cuda)


def _torch(import_it: bool):
    if import_it:
        import torch

        return torch
    return sys.modules.get("torch")


def accelerators(import_torch: bool = False) -> Accelerators:
    """What torch sees. Without `import_torch`, a torch not yet imported sees nothing."""
    torch = _torch(import_torch)
    if torch is None:
        return Accelerators()
    names: tuple[str, ...] = ()
    if torch.cuda.is_available():
        names = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    return Accelerators(names, bool(mps is not None and mps.is_available()))


def cuda_free_bytes(index: int) -> int:
    return int(_torch(True).cuda.mem_get_info(index)[0])


def plan_device(requested: str, n_cuda: int, mps: bool, weight_bytes: int | None = None,
                free_first_gpu: int | None = None) -> str:
    """Where the weights go. "auto" takes CUDA, then MPS, then the CPU; with several GPUs
    and weights that do not fit the first one it shards ("shard": accelerate's
    device_map="auto"). An explicit choice the machine lacks is a ModelError."""
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        if n_cuda > 1 and weight_bytes and free_first_gpu is not None and weight_bytes > 0.9 * free_first_gpu:
            return "shard"
        return "cuda" if n_cuda else ("mps" if mps else "cpu")
    if requested == "cpu":
        return "cpu"
    if requested == "shard" or requested.startswith("cuda"):
        if not n_cuda:
            raise ModelError(f"Device {requested!r} needs a CUDA GPU and torch sees none; choose cpu or auto.")
        if requested.startswith("cuda:"):
            try:
                idx = int(requested.split(":", 1)[1])
            except ValueError:
                raise ModelError(f"{requested!r} is not a device; write cuda:0, cuda:1, ...") from None
            if not 0 <= idx < n_cuda:
                raise ModelError(f"There is no {requested}: torch sees {n_cuda} GPU(s), cuda:0..cuda:{n_cuda - 1}.")
        return requested
    if requested == "mps":
        if not mps:
            raise ModelError("Device 'mps' needs Apple silicon with PyTorch's MPS backend; choose cpu or auto.")
        return "mps"
    raise ModelError(f"Unknown device {requested!r}; choose one of auto, cpu, cuda, cuda:N, mps, shard.")


def pick_device(requested: str = "auto", weight_bytes: int | None = None) -> str:
    """The placement for a load (imports torch: the worker's side)."""
    acc = accelerators(import_torch=True)
    free0 = cuda_free_bytes(0) if acc.n_cuda > 1 and weight_bytes else None
    return plan_device(requested, acc.n_cuda, acc.mps, weight_bytes, free0)


def likely_device(requested: str | None = "auto") -> str:
    """Where "auto" will put the weights, by the loader's own rule, asking torch only
    if it is already imported: this runs on the GUI thread."""
    if requested and requested != "auto":
        return requested
    acc = accelerators()
    return plan_device("auto", acc.n_cuda, acc.mps)


def device_choices() -> list[tuple[str, str]]:
    """(label, value) for the devices this machine has, as far as an imported torch
    knows (it has by the time any model is loaded)."""
    acc = accelerators()
    items = [("Automatic", "auto"), ("CPU", "cpu")]
    for i, name in enumerate(acc.cuda):
        items.append((f"CUDA {i}: {name}", f"cuda:{i}"))
    if acc.n_cuda > 1:
        items.append((f"Shard over {acc.n_cuda} GPUs (device_map=auto)", "shard"))
    if acc.mps:
        items.append(("Apple GPU (MPS)", "mps"))
    return items


def available_memory(device: str = "cpu") -> int | None:
    """Free bytes where the weights will live: RAM for the CPU (and MPS, which shares
    it), the sum of free GPU memory for CUDA. None when it cannot be told."""
    if device.startswith("cuda") or device == "shard":
        acc = accelerators()  # never import torch on the GUI thread for this
        if not acc.n_cuda:
            return None
        if device.startswith("cuda:"):
            return cuda_free_bytes(int(device.split(":")[1]))
        ids = range(acc.n_cuda) if device == "shard" else [0]
        return int(sum(cuda_free_bytes(i) for i in ids))
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_dtype(dtype: str | None, device: str) -> None:
    """float16/bfloat16 where the device can compute in them; a sentence otherwise."""
    if dtype in (None, "float32"):
        return
    torch = _torch(True)
    if dtype == "bfloat16" and device.startswith(("cuda", "shard")) and not torch.cuda.is_bf16_supported():
        raise ModelError("This GPU cannot compute in bfloat16; choose float16 or float32.")
    if dtype == "bfloat16" and device == "mps" and not torch.backends.mps.is_macos_or_newer(14, 0):
        raise ModelError("bfloat16 on MPS needs macOS 14 or newer; choose float16 or float32.")
