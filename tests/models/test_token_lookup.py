"""One token-lookup rule (issue 31): a text is a token only if the tokenizer encodes
exactly that text to exactly one token; ids are written #N; anything else is refused
with a sentence that shows the split."""

import pytest

from spherescope.core.vocab import explicit_id, make_lookup, token_id
from spherescope.models.errors import PromptError
from spherescope.models.token_lookup import TokenTable, resolve_token


def test_explicit_ids_and_no_guessing_from_digits():
    assert explicit_id("#2024") == 2024 and explicit_id(" #7 ") == 7
    assert explicit_id("2024") is None and explicit_id("#x") is None
    texts = ("a", "b", "2", "0", "#" * 64, "#" * 80)
    lookup = make_lookup(texts)
    assert token_id(lookup, len(texts), "2024") is None, "digits are text, never an id"
    assert token_id(lookup, len(texts), "#1") == 1
    assert token_id(lookup, len(texts), "#99") is None
    assert token_id(lookup, len(texts), "#" * 80) == 5, "no cut-off: 80 # is not 64 #"
    assert token_id(lookup, len(texts), "#" * 100) is None
    assert token_id(lookup, len(texts), "#" * 64) == 4


def test_the_real_tokenizer_decides(real_model):
    table = TokenTable(real_model)
    mary = real_model.tokenizer(" Mary", add_special_tokens=False)["input_ids"]
    assert len(mary) == 1
    assert table.token_id(" Mary") == mary[0] == table.token_id("␣Mary")
    assert table.token_id("2024") is None
    assert table.token_id("#2024") == 2024
    hashes = real_model.tokenizer("#" * 80, add_special_tokens=False)["input_ids"]
    if len(hashes) == 1:
        assert table.token_id("#" * 80) == hashes[0]
    assert table.token_id("#" * 100 + "zq") is None
    with pytest.raises(PromptError, match=r"'2024' is 4 tokens, not one: '2', '0', '2', '4'"):
        resolve_token(real_model, "2024", "--target")
    with pytest.raises(PromptError, match="not in this model's vocabulary"):
        resolve_token(real_model, "#999999", "--target")
