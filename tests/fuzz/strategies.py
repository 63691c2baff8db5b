"""Hostile values: what the adversarial passes tried, and what Hypothesis makes of it."""

from __future__ import annotations

from hypothesis import strategies as st

EDGE_INTS = [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, -(2**63), 10**10, 10**100]
EDGE_FLOATS = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324, -0.0, -720.0]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(EDGE_INTS), st.integers(), st.sampled_from(EDGE_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)

HOSTILE_TEXT = ["", " ", "   \n\t ", "\x00", "nan", "inf", "-inf", "1e308", "-1", "0", "2147483648",
                "99999999999999999999", "é", "💥", "\u202e", "\ufeff", " Mary", " Mary, Mary", ",", ", ,",
                "a" * 300, "x" * 5000]
hostile_text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=30))
