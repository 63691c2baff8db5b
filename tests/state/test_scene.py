import json

import pytest

from spherescope.state.scene import SCENE_VERSION, Scene, SceneError, load_scene, save_scene, scene_from_dict


def test_round_trip(tmp_path):
    sc = Scene(model="embedded", prompt="John and Mary", position=2, layer=17, basis="token-plane",
               plane_tokens=[5099, 2322], style="slide", show_cloud=False, length_as="radius", alpha=2.5,
               plane_scale="linear")
    sc.camera["azimuth"] = 77.5
    p = tmp_path / "a.spherescope"
    save_scene(p, sc)
    data = json.loads(p.read_text())
    assert data["format"] == "spherescope-scene" and data["version"] == SCENE_VERSION
    assert load_scene(p) == sc


def test_missing_optional_keys_take_defaults():
    sc = scene_from_dict({"format": "spherescope-scene", "version": 1, "prompt": "hi"})
    assert sc.prompt == "hi" and sc.basis == "unembedding-pca" and sc.camera["distance"] > 0


@pytest.mark.parametrize(
    "content, pattern",
    [
        ('{"format": "spherescope-scene", "version": 1, "prompt": "x', "corrupt or truncated"),
        ("\x00\x01binary", "corrupt or truncated"),
        ('{"format": "spherescope-scene", "version": 99}', "newer spherescope"),
        ('{"format": "other"}', "not a spherescope scene"),
        ('[1, 2]', "not a spherescope scene"),
        ('{"format": "spherescope-scene", "version": 1, "layer": "ten"}', "whole number"),
        ('{"format": "spherescope-scene", "version": 1, "basis": "magic"}', "Unknown basis"),
        ('{"format": "spherescope-scene", "version": 1, "camera": {"distance": -1}}', "camera distance"),
        ('{"format": "spherescope-scene", "version": 1, "camera": {"azimuth": NaN}}', "not a number"),
    ],
)
def test_bad_scenes_are_refused_with_a_reason(tmp_path, content, pattern):
    p = tmp_path / "bad.spherescope"
    p.write_text(content)
    with pytest.raises(SceneError, match=pattern):
        load_scene(p)


def test_missing_file(tmp_path):
    with pytest.raises(SceneError, match="Cannot read"):
        load_scene(tmp_path / "nope.spherescope")


def test_scene_files_are_json_not_pickle(tmp_path):
    p = tmp_path / "s.spherescope"
    save_scene(p, Scene(prompt="x"))
    assert p.read_bytes().startswith(b"{")


def test_alpha_and_the_plane_scale_travel_with_the_session():
    from spherescope.state.scene import apply_view_options, scene_of
    from spherescope.state.session import Session

    s = Session()
    s.alpha, s.appearance.plane_scale, s.plane_tokens = 2.5, "linear", (5, 6)
    sc = scene_of(s, {"distance": 3.0, "elevation": 10.0, "azimuth": 0.0, "fov": 40.0, "center": [0, 0, 0]}, ["prompt"])
    assert sc.alpha == 2.5 and sc.plane_scale == "linear"
    other = Session()
    apply_view_options(scene_from_dict(json.loads(sc.to_json())), other)
    assert other.alpha == 2.5 and other.appearance.plane_scale == "linear" and other.plane_tokens == (5, 6)
    for bad in ({"alpha": 9}, {"alpha": "big"}, {"alpha": float("nan")}, {"plane_scale": "cubic"}):
        with pytest.raises(SceneError):
            scene_from_dict({"format": "spherescope-scene", "version": 1, **bad})


def test_the_second_prompt_and_the_steering_travel_in_scenes(tmp_path):
    from spherescope.core.patching import SteerSpec
    from spherescope.state.scene import scene_of
    from spherescope.state.session import Session

    s = Session()
    s.comparison.prompt = "Mary bought it"
    s.steering.spec = SteerSpec(15, 2322, 5099, 50.0, None)
    path = tmp_path / "x.spherescope"
    save_scene(path, scene_of(s, {"distance": 3.0}, []))
    back = load_scene(path)
    assert back.compare_prompt == "Mary bought it"
    assert SteerSpec(**back.steer) == s.steering.spec


@pytest.mark.parametrize("steer", [
    {"layer": 1, "toward": 2, "alpha": float("nan")}, {"layer": 1, "toward": 2, "alpha": "big"},
    {"layer": -1, "toward": 2, "alpha": 1.0}, {"toward": 2, "alpha": 1.0}, {"layer": 1, "toward": True, "alpha": 1},
    [1, 2, 3], {"layer": 1, "toward": 2, "away": -3, "alpha": 1.0},
])
def test_bad_steering_in_a_scene_is_refused(steer):
    with pytest.raises(SceneError, match="steer"):
        scene_from_dict({"format": "spherescope-scene", "version": SCENE_VERSION, "steer": steer})


@pytest.mark.parametrize("data, words", [
    ({"position": 10 ** 10}, "position"),
    ({"layer": -2 ** 40}, "layer"),
    ({"plane_tokens": [2 ** 63, 5]}, "plane tokens"),
    ({"plane_tokens": [5, 5]}, "repeat"),
    ({"camera": {"distance": 1e308}}, "camera distance"),
    ({"camera": {"fov": -720}}, "camera fov"),
    ({"camera": {"elevation": float("nan")}}, "camera elevation"),
    ({"camera": {"center": [0, 0, 1e9]}}, "camera centre"),
])
def test_scene_values_out_of_range_are_refused(data, words):
    with pytest.raises(SceneError, match=words):
        scene_from_dict({"format": "spherescope-scene", "version": SCENE_VERSION, **data})


def test_a_deeply_nested_scene_is_a_bad_file_not_a_crash(tmp_path):
    p = tmp_path / "deep.spherescope"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SceneError, match="not valid scene JSON|nests"):
        load_scene(p)
    inner = tmp_path / "inner.spherescope"
    inner.write_text('{"format": "spherescope-scene", "version": 1, "docks": ' + "[" * 50 + "]" * 50 + "}")
    with pytest.raises(SceneError, match="nests"):
        load_scene(inner)


def test_only_regular_small_files_are_read_as_scenes(tmp_path):
    import os
    import threading

    fifo = tmp_path / "pipe.spherescope"
    os.mkfifo(fifo)
    done = []
    t = threading.Thread(target=lambda: done.append(pytest.raises(SceneError, load_scene, fifo)))
    t.start()
    t.join(10)
    assert done, "reading a FIFO blocked"
    big = tmp_path / "big.spherescope"
    with open(big, "wb") as f:
        f.truncate(6_000_000)
    with pytest.raises(SceneError, match="too large"):
        load_scene(big)


def test_saving_a_scene_to_a_folder_is_refused(tmp_path):
    from spherescope.core.atomic import WriteError

    with pytest.raises(WriteError, match="folder"):
        save_scene(tmp_path, Scene())
    assert not (tmp_path / ".spherescope").exists()
