"""The session's features, one small evented state object each (as napari's ViewerModel
holds dims, camera and cursor): each holds the choices its widgets write and the
results only the controller writes (EventedField(computed=True))."""

from __future__ import annotations

from spherescope.state.events import Evented, EventedField


class Appearance(Evented):
    """How the views draw what they show: choices only, none of them asks for model work."""

    style = EventedField("dark")  # "dark" | "slide" | "paper"
    show_cloud = EventedField(True)
    color_by_length = EventedField(False)
    length_as = EventedField("size")  # "size" | "radius"
    show_labels = EventedField(True)
    prompt_labels = EventedField("labels")  # the prompt's tokens on the sphere: "labels" | "dots" | "hidden"
    plane_scale = EventedField("log")  # the plane view's radius: "log" (log10(1 + r)) or "linear"


class RoundTrip(Evented):
    """The embed -> unembed lesson: one token's round trip, and how many tokens return."""

    token = EventedField(-1)  # the token whose round trip is shown (-1: none yet)
    mode = EventedField("transpose")  # "transpose" | "normalised" | "pinv"
    wanted = EventedField(False)  # the view has been shown: start its background work
    scores = EventedField(None, computed=True)  # (V,) scores of the current round trip
    row = EventedField(None, computed=True)  # (d,) the embedding row the round trip's one-hot selects
    fractions = EventedField({}, computed=True)  # mode -> fraction of tokens that return themselves


class Comparison(Evented):
    """A second prompt beside the first, and activation patching between the two."""

    prompt = EventedField("")  # the second prompt ("": none)
    trace = EventedField(None, computed=True)  # its Trace, or a patched run's
    label = EventedField("", computed=True)  # "second prompt" or "patched at layer i, position p"
    diffs = EventedField(None, computed=True)  # (first, second) lens logit differences per layer, at each last position
    grid = EventedField(None, computed=True)  # core.patching.PatchGrid, filling in row by row
    running = EventedField(False, computed=True)  # a patching grid is being computed
    head_grid = EventedField(None, computed=True)  # core.patching.HeadGrid: each head patched at the last position
    heads_running = EventedField(False, computed=True)  # a head grid is being computed


class Steering(Evented):
    """A token direction added to the residual, and its dose-response."""

    spec = EventedField(None)  # core.patching.SteerSpec while steering, else None
    traced = EventedField(None, computed=True)  # the SteerSpec the trace on screen was run with (None: not steered)
    sweep = EventedField(None, computed=True)  # core.patching.SteerCurve: the α sweep asked for


class Heads(Evented):
    """One attention head of the block at the current layer: what it reads and writes."""

    head = EventedField(-1)  # the head shown (-1: the block's head with the largest attribution term)
    wanted = EventedField(False)  # the Heads view is open: compute it
    view = EventedField(None, computed=True)  # core.heads.HeadView of (layer, head) at the followed position
    weights = EventedField(None, computed=True)  # (H, T) the block's every head's weights from the followed position


SET_PAGES = ("positions", "heads", "steer")  # the Prompt set tab's third plot, in its tabs' order


class PromptSets(Evented):
    """A prompt set run as one: the bundle of its trajectories and its figures."""

    source = EventedField(None)  # core.prompt_set.PromptSet chosen in the Prompt set view (None: none)
    shown = EventedField(True)  # the sphere draws the bundle
    hovered = EventedField(-1)  # the prompt (row index) pointed at on the sphere (-1: none)
    in_plane = EventedField(False)  # the Plane view draws the set (each prompt in its own plane), not one prompt
    page = EventedField("positions")  # the Prompt set tab's third plot: "positions" | "heads" | "steer"
    traces = EventedField((), computed=True)  # tuple[core.set_results.PromptTrace], growing batch by batch
    summary = EventedField(None, computed=True)  # core.set_results.SetSummary of the finished set
    done = EventedField((0, 0), computed=True)  # (prompts traced, prompts in the set)
    running = EventedField(False, computed=True)
    patch = EventedField(None, computed=True)  # models.set_patching.SetPatchGrid over the set's pairs
    patch_running = EventedField(False, computed=True)
    steer = EventedField(None, computed=True)  # models.set_steer.SetSteerCurve: a direction's dose-response
    steer_running = EventedField(False, computed=True)


FEATURES = {"appearance": Appearance, "roundtrip": RoundTrip, "comparison": Comparison, "steering": Steering,
            "heads": Heads, "sets": PromptSets}
