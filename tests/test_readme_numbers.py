"""The README's example numbers are what the commands print today (issue 27): the
article's figure, quoted in prose and in the JSON example, from `trace --tokens`."""

import json
import math
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
ARTICLE = "John and Mary went to the bar. John bought a drink for"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from spherescope.cli import main

    out = tmp_path_factory.mktemp("readme") / "t.json"
    assert main(["trace", "--prompt", ARTICLE, "--tokens", " Mary, John", "--out", str(out)]) == 0
    return json.loads(out.read_text())


def _quoted(text):
    assert text in README, f"the README no longer says {text!r}"


def test_the_article_figures_prose(data):
    last = data["layers"][-1]
    pl = last["plane"]
    angle = math.degrees(math.atan2(pl["y"], pl["x"]))
    _quoted(f"points {angle:.1f}° from ' Mary' within the plane, which the model predicts "
            f"({100 * data['next_token']['prob']:.0f}%)")
    _quoted(f"the plane keeps {100 * pl['kept']:.0f}% of |h| at layer 30")
    _quoted(f"itself is {math.degrees(math.acos(pl['cos'])):.0f}° from ' Mary' (cos {pl['cos']:.3f})")
    kept = [row["plane"]["kept"] for row in data["layers"][1:]]
    _quoted(f"keeps: {100 * min(kept):.0f}-{100 * max(kept):.0f}%")


def test_the_plane_json_example(data):
    last = data["layers"][-1]
    pl = last["plane"]
    _quoted(f'"layers": [{{"layer": 30, "norm": {last["norm"]:.1f}, "top": [],')
    _quoted(f'"plane": {{"x": {pl["x"]:.1f}, "y": {pl["y"]:.2f}, "kept": {pl["kept"]:.3f}, "cos": {pl["cos"]:.3f}}}')
    _quoted(f'"next_token": {{"id": {data["next_token"]["id"]}, "text": " Mary", "prob": {data["next_token"]["prob"]:.2f}}}')


def test_the_steer_example(tmp_path, capsys):
    """The steer figure's line and its α = 0 / marked-α predictions, as the README quotes them."""
    import spherescope
    from spherescope.cli import main

    assert main(["render", "--view", "steer", "--prompt", ARTICLE, "--tokens", " Mary, John", "--steer-alpha", "60",
                 "--style", "slide", "--out", str(tmp_path / "steer.png")]) == 0
    said = capsys.readouterr().out.strip().split(": ", 1)[1].split(", ", 1)[1]
    head, changes = said.split(" changes ")
    _quoted(f"prints `{head}\nchanges {changes}`")  # the README breaks the line there
    sweep = spherescope.load().steer_sweep(ARTICLE, 15, " John", [0, 60], away=" Mary")
    (t0, t1), (p0, p1) = sweep.next_texts, sweep.next_probs
    _quoted(f"α = 0 gives {t0!r} {100 * p0:.0f}% and the marked α = 60\n{t1!r} {100 * p1:.0f}%")


def test_the_heads_example(capsys):
    """What block 24's head 3 reads, writes and lowers, and its patching recovery, as the
    README quotes the commands' output."""
    from spherescope.cli import main

    assert main(["trace", "--prompt", ARTICLE, "--attribute", " Mary", "--contrast", " John", "--head", "24.3"]) == 0
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    for line in lines[-4:]:
        _quoted(line)
    corrupt = ARTICLE.replace("John bought", "Mary bought")
    assert main(["patch", "--clean", ARTICLE, "--corrupt", corrupt, "--target", " Mary", "--contrast", " John",
                 "--heads"]) == 0
    last = capsys.readouterr().out.rstrip("\n").split("\n")[-1]
    flat = " ".join(README.split())
    assert last in flat, f"the README no longer says {last!r}"


def test_the_prompt_set_example(capsys):
    """The set's accuracy, block 24's mean term and the pairs' recovery, as the README
    quotes `trace --prompts` and `patch --pairs` on examples/ioi.csv."""
    from spherescope.cli import main

    ioi = str(Path(__file__).resolve().parents[1] / "examples" / "ioi.csv")
    flat = " ".join(README.split())
    assert main(["trace", "--prompts", ioi]) == 0
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    said = [line for line in lines if line.startswith("accuracy") or line.startswith("   24   +")]
    assert len(said) == 2
    for line in said:
        assert " ".join(line.split()) in flat, f"the README no longer says {line!r}"
    assert main(["patch", "--pairs", ioi, "--heads"]) == 0  # the positions grid as without --heads, and the heads
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    said = [line for line in lines if line.startswith("recovery") or line.startswith("layer")
            or line.startswith("   21 ") or line.startswith("   24 ") or line.startswith("heads that recover")]
    assert len(said) == 5
    for line in said:
        assert " ".join(line.split()) in flat, f"the README no longer says {line!r}"
