"""Reading prompt sets: CSV, JSONL, templates; whatever is wrong is one sentence."""

import json
import math

import numpy as np
import pytest

from spherescope.core.prompt_set import (PromptSet, SetError, expand_template, from_records, parse_slot_lists,
                                         read_prompt_set)
from spherescope.core.set_results import interval, median_path, quartile_band


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_csv_with_quotes_commas_and_blank_lines(tmp_path):
    p = _write(tmp_path, "s.csv", 'prompt,target,contrast\n"When Mary and John, late, went to", Mary, John\n\n'
                                  '"Ünïcödé → ok",x,y\n')
    s = read_prompt_set(p)
    assert len(s) == 2 and s.name == "s.csv"
    assert s.rows[0].prompt == "When Mary and John, late, went to" and s.rows[0].target == " Mary"
    assert s.rows[1].line == 4 and s.rows[1].prompt == "Ünïcödé → ok"
    assert s.has_targets and not s.has_pairs


def test_jsonl_and_json_and_a_bom(tmp_path):
    lines = [{"prompt": "a b", "corrupt": "a c"}, {}, {"prompt": "d e", "corrupt": "d f"}]
    p = _write(tmp_path, "s.jsonl", "\ufeff" + "\n".join(json.dumps(x) for x in lines) + "\n\n")
    s = read_prompt_set(p)
    assert [r.prompt for r in s.rows] == ["a b", "d e"] and [r.line for r in s.rows] == [1, 3] and s.has_pairs
    q = _write(tmp_path, "s.json", json.dumps(["one", "two"]))
    assert [r.prompt for r in read_prompt_set(q).rows] == ["one", "two"]
    assert [(r.prompt, r.corrupt) for r in PromptSet.from_json(s.to_json()).rows] == [(r.prompt, r.corrupt) for r in s.rows]


@pytest.mark.parametrize("name, text, sentence", [
    ("a.csv", "text,answer\nhello,x\n", r"no 'prompt' column \(its header: text, answer\)"),
    ("b.csv", "prompt,target\nhello, x\n,y\n,z\n", r"no prompt in rows 3, 4"),
    ("c.csv", "prompt,target\nhello, x\nbye,\n", r"gives a target in some rows but not in row 3"),
    ("d.csv", "prompt\n\n\n", r"has no prompts"),
    ("e.csv", "", r"is empty"),
    ("f.jsonl", '{"prompt": "a"}\n{oops\n', r"line 2 is not a JSON object"),
    ("g.jsonl", '{"text": "a"}\n', r"no 'prompt' column"),
    ("h.xlsx", "prompt\nx\n", r"is a \.csv, \.tsv or \.jsonl file"),
    ("i.csv", "prompt,target,contrast\nhi,,x\n", r"contrast but no target"),
    ("j.csv", "prompt\na,b,c\n", r"line 2 has 3 fields but the header names 1"),
])
def test_bad_sets_get_one_sentence(tmp_path, name, text, sentence):
    with pytest.raises(SetError, match=sentence) as info:
        read_prompt_set(_write(tmp_path, name, text))
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(SetError, match="There is no prompt set at"):
        read_prompt_set(tmp_path / "missing.csv")
    with pytest.raises(SetError, match="is a folder"):
        read_prompt_set(tmp_path)
    with pytest.raises(SetError, match="not UTF-8"):
        read_prompt_set(_write(tmp_path, "l.csv", "prompt\ncafé\n", "latin-1"))


def test_records_from_a_dataframe_like_source():
    s = from_records([{"prompt": "x", "target": float("nan")}, {"prompt": "y", "target": math.nan}])
    assert s.rows[0].target is None and not s.has_targets
    with pytest.raises(SetError, match="Row 2 is not a prompt"):
        from_records(["x", 3.5j])


def test_templates_fill_distinct_values_and_give_targets_their_space():
    s = expand_template("When {A} and {B} went to the store, {B} gave a drink to",
                        {"A": ["Mary", "John", "Tom"], "B": ["Mary", "John", "Tom"]}, target="{A}", contrast="{B}",
                        corrupt="When {A} and {B} went to the store, {A} gave a drink to")
    assert len(s) == 6 and s.name == "template"
    r = s.rows[0]
    assert r.prompt == "When Mary and John went to the store, John gave a drink to"
    assert (r.target, r.contrast) == (" Mary", " John")
    assert r.corrupt == "When Mary and John went to the store, Mary gave a drink to"
    sample = expand_template("{A} {B} {C}", {k: [str(i) for i in range(10)] for k in "ABC"}, limit=50)
    again = expand_template("{A} {B} {C}", {k: [str(i) for i in range(10)] for k in "ABC"}, limit=50)
    assert len(sample) == 50 and sample == again
    with pytest.raises(SetError, match=r"slot \{B\} has no values"):
        expand_template("{A} and {B}", {"A": ["x"]})
    with pytest.raises(SetError, match="one value in two slots"):
        expand_template("{A} and {B}", {"A": ["x"], "B": ["x"]})


def test_slot_lists_parse_a_slot_a_line():
    assert parse_slot_lists("A: John, Mary\n\nplace: the store , the park,\n") == {
        "A": ["John", "Mary"], "place": ["the store", "the park"]}
    with pytest.raises(SetError, match="Slot line 1 should read"):
        parse_slot_lists("John, Mary")


def test_median_path_keeps_the_median_length_and_resists_an_outlier():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 8))
    paths = np.stack([base * (1 + 0.01 * k) for k in range(6)] + [-base * 50])
    med = median_path(paths)
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    got = med / np.linalg.norm(med, axis=1, keepdims=True)
    np.testing.assert_allclose((got * unit).sum(1), 1, atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(med, axis=1), np.linalg.norm(base, axis=1) * 1.03, rtol=1e-3)


def test_interval_and_quartiles():
    v = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    lo, hi = interval(v)
    np.testing.assert_allclose((lo + hi) / 2, [3, 4])
    np.testing.assert_allclose(hi - lo, 2 * 1.96 * 2 / np.sqrt(3))
    q25, med, q75 = quartile_band(v)
    np.testing.assert_allclose(med, [3, 4])
