"""Where the controller's load-and-run sequence stands: one object the use cases share,
instead of loose flags on the controller."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Flow:
    loading: bool = False  # a load is in flight
    tracing: bool = False  # a run is in flight
    rerun: str | None = None  # the prompt to trace again once the model in flight has loaded
    restoring: bool = False  # this load goes back to the last model that loaded, after a failure
    last_traced: str | None = None  # the prompt on screen before the load (traced again on a fallback)
    pending_layer: int | None = None  # the layer a scene asks for, once its run is done
    loaded_name: str = ""  # the name of the last model that loaded
