"""What widgets may know about models without loading one: a model's summary from its
headers, memory estimates, the devices there are. Widgets reach the model layer only
through the controller package (an import-linter contract checks it)."""

from __future__ import annotations

from dataclasses import dataclass

from spherescope.models import devices
from spherescope.models.errors import ModelError
from spherescope.models.source import EMBEDDED, EMBEDDED_LABEL, resolve
from spherescope.models.summary import ModelSummary, human_bytes, memory_warning, summarize


@dataclass(frozen=True)
class ModelDescription:
    """What the model dialog shows about a reference before anything is loaded."""

    ref: str
    kind: str | None  # "embedded" | "hub" | "dir" | "gguf", None when it cannot be resolved
    summary: ModelSummary | None
    error: str = ""


class ModelCatalog:
    """Facts about models that widgets may ask for on the GUI thread: headers only,
    never weights, never a cold torch import."""

    embedded = EMBEDDED
    embedded_label = EMBEDDED_LABEL

    def describe(self, ref: str) -> ModelDescription:
        try:
            kind = resolve(ref).kind
        except ModelError as exc:
            return ModelDescription(ref, None, None, str(exc))
        try:
            return ModelDescription(ref, kind, summarize(ref))
        except ModelError as exc:
            return ModelDescription(ref, kind, None, str(exc))

    # Looked up through the module on every call, so a test can stand in for the machine.
    def likely_device(self, requested: str | None) -> str:
        return devices.likely_device(requested)

    def available_memory(self, device: str) -> int | None:
        return devices.available_memory(device)

    def device_choices(self) -> list[tuple[str, str]]:
        return devices.device_choices()

    @staticmethod
    def load_options(device: str | None = None, dtype: str | None = None, allow_pickle: bool = False,
                     ignore_memory: bool = False) -> dict:
        return devices.load_options(device, dtype, allow_pickle, ignore_memory)

    @staticmethod
    def memory_warning(summary: ModelSummary, dtype: str | None, device: str, free: int | None) -> str | None:
        return memory_warning(summary, dtype, device, free)

    @staticmethod
    def human_bytes(n: int | None) -> str:
        return human_bytes(n)
