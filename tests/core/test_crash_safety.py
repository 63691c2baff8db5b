"""kill -9 in the middle of every kind of write (trace JSON, patch JSON, scene, PNG, SVG,
MP4): the target is the previous complete file or absent, never partial.

Each child process runs the real command; its os.replace is wrapped so that, when the
finished temporary file is about to become the target, it says so on stdout and waits.
The parent checks the target is still the old file, then kills the child there: the
last moment a write could be caught half-done. A writer that wrote to the target itself
would never reach that point, and the test would fail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from spherescope.core.atomic import TEMP_PREFIX, sweep_stale
from tests.cli.test_cli import ARTICLE

_CHILD = textwrap.dedent("""
    import os, sys
    real = os.replace
    target = os.path.realpath(sys.argv[1])

    def replace(src, dst, *a, **k):
        if os.path.realpath(dst) == target:
            print("REPLACING", src, flush=True)
            sys.stdin.read()  # until killed
        return real(src, dst, *a, **k)

    os.replace = replace
    from spherescope.cli import main
    sys.exit(main(sys.argv[2:]))
""")
OLD = b"the previous complete file\n"


def _kill_at_replace(target, args: list[str], timeout: float = 240) -> str:
    """Run `spherescope ARGS` writing `target`; kill -9 it as it is about to replace
    `target`. Returns the temporary file it had written."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    with subprocess.Popen([sys.executable, "-c", _CHILD, str(target), *args], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as child:
        try:
            for line in child.stdout:  # blocks on the pipe; communicate()'s timeout bounds a hang
                if line.startswith("REPLACING"):
                    tmp = line.split(" ", 1)[1].strip()
                    assert target.read_bytes() == OLD  # not touched while the new file was written
                    assert os.path.getsize(tmp) > 0
                    child.send_signal(signal.SIGKILL)
                    child.communicate(timeout=30)
                    return tmp
            _, err = child.communicate(timeout=timeout)
            pytest.fail(f"the command ended without replacing {target} through a temporary file: {err}")
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()


def _check_after_kill(target, tmp: str) -> None:
    assert target.read_bytes() == OLD  # the previous complete file, never partial
    assert os.path.basename(tmp).startswith(TEMP_PREFIX)
    assert sweep_stale(target.parent, older_than_s=0) >= 1  # the next start sweeps what the kill left
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


@pytest.mark.parametrize("kind", ["trace", "patch"])
def test_kill_during_a_json_write_leaves_the_old_file(tiny_dir, tmp_path, kind):
    target = tmp_path / "out.json"
    target.write_bytes(OLD)
    args = (["trace", "--model", str(tiny_dir), "--prompt", "John and Mary went to the bar."] if kind == "trace" else
            ["patch", "--model", str(tiny_dir), "--clean", "The cat and Mary", "--corrupt", "The cat and John",
             "--target", " Mary", "--contrast", " John"])
    tmp = _kill_at_replace(target, [*args, "--out", str(target)])
    _check_after_kill(target, tmp)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".mp4"])
def test_kill_during_a_picture_or_video_write_leaves_the_old_file(tiny_dir, tmp_path, suffix):
    target = tmp_path / f"figure{suffix}"
    target.write_bytes(OLD)
    args = ["render", "--model", str(tiny_dir), "--prompt", "John and Mary went to the bar.", "--size", "320x240",
            "--out", str(target)]
    tmp = _kill_at_replace(target, args)
    _check_after_kill(target, tmp)


def test_kill_during_a_scene_save_leaves_the_old_file(tmp_path):
    target = tmp_path / "talk.spherescope"
    target.write_bytes(OLD)
    code = _CHILD.replace("from spherescope.cli import main\nsys.exit(main(sys.argv[2:]))", textwrap.dedent("""
        from spherescope.state.scene import Scene, save_scene
        save_scene(sys.argv[1], Scene(prompt="x" * 1_000_000))
    """))
    assert "save_scene" in code
    with subprocess.Popen([sys.executable, "-c", code, str(target)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as child:
        line = child.stdout.readline()
        assert line.startswith("REPLACING") and target.read_bytes() == OLD
        child.kill()
        child.communicate(timeout=30)
    _check_after_kill(target, line.split(" ", 1)[1].strip())


_SAVER = textwrap.dedent("""
    import sys
    from spherescope.core.atomic import atomic_write_text
    from spherescope.state.scene import Scene, save_scene
    big = sys.argv[2] == "json"
    for i in range(10**9):
        if big:  # a 40 MB trace-like JSON
            atomic_write_text(sys.argv[1], '{"layers": [' + ",".join(["[%d, 1.5, 2.5]" % i] * 1_500_000) + "]}")
        else:
            save_scene(sys.argv[1], Scene(prompt="save %d " % i * 2000))
        print("saved", i, flush=True)
""")


@pytest.mark.parametrize("kind", ["scene", "json"])
def test_kills_at_arbitrary_moments_of_repeated_saves_never_leave_a_partial_file(tmp_path, kind):
    """The adversarial pass's 25 kills mid-save, at whatever moment the kill lands."""
    target = tmp_path / ("talk.spherescope" if kind == "scene" else "trace.json")
    for round_ in range(6):
        with subprocess.Popen([sys.executable, "-c", _SAVER, str(target), kind], stdout=subprocess.PIPE,
                              text=True) as child:
            for _ in range(round_ % 3 + 1):  # kill after 1-3 complete saves, during the next
                assert child.stdout.readline().startswith("saved")
            child.kill()
            child.communicate(timeout=30)
        data = json.loads(target.read_text())  # complete, whichever save it is
        assert data
    sweep_stale(tmp_path, older_than_s=0)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
