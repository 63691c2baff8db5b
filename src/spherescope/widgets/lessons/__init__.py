"""The article's lessons as docks, one module each, driven by the same session as the sphere.

Each dock reads precomputed numbers (the controller fills them in when a trace
finishes or the followed position changes), so a layer change only redraws. Hovering
or clicking a token in any of them highlights it on the sphere (session.highlight).
"""

from __future__ import annotations

from spherescope.widgets.lessons.attribution import AttributionDock
from spherescope.widgets.lessons.closest import ClosestDock
from spherescope.widgets.lessons.confidence import ConfidenceDock
from spherescope.widgets.lessons.norms import NormsDock
from spherescope.widgets.lessons.plane import PlaneDock
from spherescope.widgets.lessons.roundtrip import RoundTripDock
from spherescope.widgets.lessons.tied import TiedDock
from spherescope.widgets.lessons.token_norms import TokenNormsDock

# (key, dock class, tab title), in tab order. Every dock takes (session, controller).
LESSONS = (
    ("closest", ClosestDock, "Closest by which measure?"),
    ("plane", PlaneDock, "Token plane"),
    ("attribution", AttributionDock, "What moved it"),
    ("confidence", ConfidenceDock, "Length is confidence"),
    ("norms", NormsDock, "Residual norms"),
    ("token_norms", TokenNormsDock, "Token norms"),
    ("roundtrip", RoundTripDock, "Embed → unembed"),
    ("tied", TiedDock, "Tied or untied"),
)

__all__ = ["LESSONS", "AttributionDock", "ClosestDock", "ConfidenceDock", "NormsDock", "PlaneDock", "RoundTripDock", "TiedDock",
           "TokenNormsDock"]
