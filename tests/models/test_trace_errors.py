import pytest

from spherescope.models.errors import Cancelled, PromptError
from spherescope.models.trace import tokenize, trace_prompt


def test_empty_prompt_is_refused(tiny_loaded):
    with pytest.raises(PromptError, match="empty"):
        trace_prompt(tiny_loaded, "")


def test_prompt_longer_than_context_is_refused_not_truncated(tiny_loaded):
    with pytest.raises(PromptError, match="refused, not truncated"):
        trace_prompt(tiny_loaded, "the cat " * 200)


def test_position_out_of_range(tiny_loaded):
    n = len(tokenize(tiny_loaded, "John and Mary"))
    with pytest.raises(PromptError, match="out of range"):
        trace_prompt(tiny_loaded, "John and Mary", position=n)
    assert trace_prompt(tiny_loaded, "John and Mary", position=-1).position == n - 1


def test_odd_unicode_and_control_characters_trace(tiny_loaded):
    trace = trace_prompt(tiny_loaded, "héllo 🌍\x07\t\n日本")
    assert len(trace.tokens) > 3
    ids = [t.id for t in trace.tokens]
    assert tiny_loaded.tokenizer.decode(ids, clean_up_tokenization_spaces=False) == "héllo 🌍\x07\t\n日本"
    assert all(t.text for t in trace.tokens)


def test_cancel_stops_part_way(tiny_loaded):
    seen = []

    def on_layer(frame):
        seen.append(frame.layer)

    with pytest.raises(Cancelled):
        trace_prompt(tiny_loaded, "John and Mary", on_layer=on_layer, cancel=lambda: len(seen) >= 2)
    assert seen == [0, 1]
