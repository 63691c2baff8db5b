"""The article's lessons as docks, one module each, driven by the same session as the sphere.

Each dock reads precomputed numbers (the controller fills them in when a trace
finishes or the followed position changes), so a layer change only redraws. Hovering
or clicking a token in any of them highlights it on the sphere (session.highlight).
"""

from __future__ import annotations

from spherescope.widgets.lessons.attribution import AttributionDock
from spherescope.widgets.lessons.closest import ClosestDock
from spherescope.widgets.lessons.compare import CompareDock
from spherescope.widgets.lessons.confidence import ConfidenceDock
from spherescope.widgets.lessons.heads import HeadsDock
from spherescope.widgets.lessons.norms import NormsDock
from spherescope.widgets.lessons.plane import PlaneDock
from spherescope.widgets.lessons.roundtrip import RoundTripDock
from spherescope.widgets.lessons.sets import SetsDock
from spherescope.widgets.lessons.steer import SteerDock
from spherescope.widgets.lessons.tied import TiedDock
from spherescope.widgets.lessons.token_norms import TokenNormsDock

# (key, dock class, tab title), in tab order. Every dock takes (session, controller).
LESSONS = (
    ("closest", ClosestDock, "Closest?"),
    ("plane", PlaneDock, "Token plane"),
    ("attribution", AttributionDock, "What moved it"),
    ("heads", HeadsDock, "Heads"),
    ("confidence", ConfidenceDock, "Confidence"),
    ("norms", NormsDock, "Norms"),
    ("token_norms", TokenNormsDock, "Token norms"),
    ("roundtrip", RoundTripDock, "Embed → unembed"),
    ("tied", TiedDock, "Tied?"),
    ("compare", CompareDock, "Compare and patch"),
    ("steer", SteerDock, "Steer"),
    ("sets", SetsDock, "Prompt set"),
)
# What each tab's short title stands for (its tooltip, and the README's headings).
HEADINGS = {
    "closest": "Closest by which measure? The logit against cosine and distance",
    "plane": "The plane of two tokens: the path as the article draws it",
    "attribution": "What moved it: each block's attention and MLP writes",
    "heads": "Heads: what one attention head reads and writes",
    "confidence": "Length is confidence: scale the vector the head sees",
    "norms": "Residual norms through the layers, every position",
    "token_norms": "Token norms: the lengths of the vocabulary's directions",
    "roundtrip": "Embed → unembed: one token's round trip",
    "tied": "Tied or untied input and output embeddings",
    "compare": "Compare a second prompt, and patch activations between the two",
    "steer": "Steer: add a token direction to the residual",
    "sets": "Prompt set: many prompts at once, as a bundle of paths and as distributions",
}

__all__ = ["HEADINGS", "LESSONS", "AttributionDock", "ClosestDock", "CompareDock", "SteerDock", "ConfidenceDock", "NormsDock", "PlaneDock", "RoundTripDock", "SetsDock", "TiedDock",
           "TokenNormsDock"]
