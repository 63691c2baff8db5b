"""Scene files from a hostile world: random JSON, wrong types, extreme numbers, deep
nesting, random bytes. A scene is opened or refused with a SceneError sentence, in
bounded time, and what is opened is in range and saves again."""

import json
import math

from hypothesis import example, given
from hypothesis import strategies as st

from spherescope.core.atomic import WriteError
from spherescope.state.scene import INT32, Scene, SceneError, load_scene, save_scene, scene_from_dict
from tests.fuzz.bounds import within
from tests.fuzz.strategies import json_values

# Surrogates included: JSON escapes can spell them, though Qt and terminals can not.
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=50)
_VALID = json.loads(Scene(prompt="John and Mary", plane_tokens=[5, 7], steer={
    "layer": 3, "toward": 5, "away": None, "alpha": 2.0, "position": None}).to_json())


def _in_range(sc: Scene) -> None:
    assert all(isinstance(v, int) and -INT32 <= v < INT32 for v in (sc.position, sc.layer))
    assert all(0 <= t < INT32 for t in sc.plane_tokens) and len(set(sc.plane_tokens)) == len(sc.plane_tokens)
    cam = sc.camera
    assert 0.01 <= cam["distance"] <= 1000 and -90 <= cam["elevation"] <= 90 and 1 <= cam["fov"] <= 179
    assert all(math.isfinite(v) for v in (cam["azimuth"], *cam["center"]))
    assert 0 <= sc.alpha <= 4
    if sc.steer is not None:
        assert math.isfinite(sc.steer["alpha"])


def _open_or_refuse(path):
    try:
        with within(20):
            sc = load_scene(path)
    except SceneError as exc:
        assert str(exc) and "\n" not in str(exc) and len(str(exc)) < 300
        return None
    _in_range(sc)
    return sc


def _saves_again(sc: Scene, tmp_path) -> None:
    out = tmp_path / "again.spherescope"
    try:
        save_scene(out, sc)
    except WriteError as exc:  # e.g. text that cannot be written as UTF-8; said, not raised raw
        assert str(exc)
        return
    again = load_scene(out)
    assert again.to_json() == sc.to_json()


@given(field=st.sampled_from(sorted(_VALID)), value=json_values | _ANY_TEXT)
def test_one_field_replaced_by_anything(tmp_path_factory, field, value):
    data = dict(_VALID, **{field: value})
    path = tmp_path_factory.mktemp("scene") / "s.spherescope"
    path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8", errors="surrogatepass")
    sc = _open_or_refuse(path)
    if sc is not None:
        _saves_again(sc, path.parent)


@given(fields=st.dictionaries(st.sampled_from(sorted(_VALID)), json_values, max_size=6))
def test_many_fields_replaced(fields):
    try:
        sc = scene_from_dict(dict(_VALID, **fields))
    except SceneError:
        return
    _in_range(sc)


@given(data=json_values)
def test_any_json_at_all(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("scene") / "s.spherescope"
    path.write_text(json.dumps(data, allow_nan=True))
    _open_or_refuse(path)


@given(raw=st.binary(max_size=2000))
def test_random_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("scene") / "s.spherescope"
    path.write_bytes(raw)
    _open_or_refuse(path)


@given(depth=st.integers(1, 300_000), where=st.sampled_from(["top", "prompt", "camera", "steer"]),
       kind=st.sampled_from(["[", "{\"a\":"]))
def test_deep_nesting_anywhere(tmp_path_factory, depth, where, kind):
    close = "]" if kind == "[" else "}"
    inner = kind * depth + ("0" if kind != "[" else "") + close * depth
    text = inner if where == "top" else json.dumps(dict(_VALID, **{where: 0})).replace(
        f'"{where}": 0', f'"{where}": {inner}')
    path = tmp_path_factory.mktemp("scene") / "s.spherescope"
    path.write_text(text)
    _open_or_refuse(path)


@given(cut=st.integers(0, len(json.dumps(_VALID)) - 1))
def test_truncated_scene(tmp_path_factory, cut):
    path = tmp_path_factory.mktemp("scene") / "s.spherescope"
    path.write_text(json.dumps(_VALID)[:cut])
    _open_or_refuse(path)


@example(text="a\ud800b")
@given(text=_ANY_TEXT)
def test_any_prompt_text_round_trips_or_is_refused_with_a_sentence(tmp_path_factory, text):
    sc = Scene(prompt=text, compare_prompt=text[::-1])
    _saves_again(sc, tmp_path_factory.mktemp("scene"))
