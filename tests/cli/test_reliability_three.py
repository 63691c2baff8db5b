"""Issue 31's numbered cases that are not about the numbers themselves: writes that
would replace an input, a display that is not there, a half-built cache entry, a full
disk, and figure() called from the wrong thread."""

import os
import subprocess
import sys
import threading

import pytest

from spherescope.core.atomic import WriteError, check_writable


def test_out_never_replaces_a_file_the_command_reads(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF....")
    with pytest.raises(WriteError, match="which this command reads"):
        check_writable(model, reading=(str(model),))
    link = tmp_path / "same.gguf"
    os.link(model, link)  # another name, the same inode
    with pytest.raises(WriteError, match="which this command reads"):
        check_writable(link, reading=(str(model),))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(WriteError):
        check_writable(folder / "config.json", reading=(str(folder),))
    assert check_writable(tmp_path / "grid.json", reading=(str(model), str(folder))).name == "grid.json"


def test_patch_out_onto_its_model_is_refused_and_the_model_kept(tiny_dir, tmp_path):
    weights = next(p for p in tiny_dir.iterdir() if p.suffix == ".safetensors")
    before = weights.read_bytes()
    from spherescope.cli import main

    code = main(["patch", "--model", str(tiny_dir), "--clean", "a b", "--corrupt", "a c", "--target", "a",
                 "--contrast", "b", "--out", str(weights)])
    assert code != 0
    assert weights.read_bytes() == before


def _run_render(env_extra, view, out, model):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "spherescope", "render", "--model", str(model), "--view", view,
                           "--prompt", "John and Mary", "--size", "320x200", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("display", [None, ":87", "nohost.invalid:3"])
def test_the_sphere_without_a_display_says_so_and_never_aborts(display, tiny_dir, tmp_path):
    out = tmp_path / "sphere.png"
    r = _run_render({} if display is None else {"DISPLAY": display}, "sphere", out, tiny_dir)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "No display" in r.stderr and "start_virtual_display" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists()


def test_a_2d_view_draws_with_no_display_at_all(tiny_dir, tmp_path):
    from PIL import Image

    out = tmp_path / "norms.png"
    r = _run_render({"DISPLAY": ":87"}, "norms", out, tiny_dir)
    assert r.returncode == 0, r.stderr
    img = Image.open(out)
    assert img.size == (320, 200)
    import numpy as np

    assert np.asarray(img.convert("L")).std() > 5, "a plot, not a flat image"


def test_a_half_built_cache_entry_of_a_dead_process_is_swept_whatever_its_age(tmp_path):
    from spherescope.models import cache

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".model-key.{dead.pid}-abc123"
    orphan.mkdir()
    (orphan / "model.safetensors").write_bytes(b"half")
    mine = tmp_path / f".model-key.{os.getpid()}-def456"
    mine.mkdir()
    assert cache.sweep_stale_builds(tmp_path) == 1
    assert not orphan.exists() and mine.exists()


def test_a_full_disk_names_the_cache_the_space_and_the_variable(tmp_path):
    import errno

    from spherescope.models import cache

    def build(tmp):
        (tmp / "part").write_bytes(b"x")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(cache.CacheFull) as info:
        cache.get_or_build("k", build, root=tmp_path, need_bytes=540_000_000)
    msg = str(info.value)
    assert str(tmp_path) in msg and "540 MB" in msg and "SPHERESCOPE_CACHE" in msg
    assert [p.name for p in tmp_path.iterdir()] == [], "nothing half-built is left"


def test_figure_from_another_thread_is_refused_at_once():
    import spherescope

    got = []

    def call():
        try:
            spherescope.figure("x", view="norms")
        except Exception as exc:  # noqa: BLE001
            got.append(exc)

    t = threading.Thread(target=call)
    t.start()
    t.join(60)
    assert not t.is_alive(), "figure() from a thread must not hang"
    assert got and "main thread" in str(got[0])


def test_start_virtual_display_gives_a_reachable_display():
    code = ("import os, spherescope\n"
            "os.environ.pop('DISPLAY', None)\n"
            "name = spherescope.start_virtual_display()\n"
            "from spherescope.display import display_problem\n"
            "assert display_problem() is None, display_problem()\n"
            "assert spherescope.start_virtual_display() == name\n"
            "print(name)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(":")


CLEAN = "John and Mary went to the bar. John bought a drink for"
CORRUPT = "John and Mary went to the bar. Mary bought a drink for"


def test_a_patch_too_long_to_wait_is_refused_with_its_estimate_before_any_patched_run(tiny_loaded, monkeypatch):
    """Case 9: two long prompts once ran for over ten minutes with no word. The grid now
    plans from the two runs it has timed and refuses past the bound, before patching."""
    from spherescope.commands import patch as patch_cmd
    from spherescope.models import patching
    from spherescope.models.errors import PromptError

    ran = []
    real_put = patching._Put.__enter__
    monkeypatch.setattr(patching._Put, "__enter__", lambda self: ran.append(1) or real_put(self))
    monkeypatch.setattr(patch_cmd, "PATCH_REFUSE_S", 1e-6)  # any grid is "too long" here
    with pytest.raises(PromptError, match=r"patched runs in batches of \d+, about .* --ignore-memory"):
        patch_cmd.patch_data(tiny_loaded, CLEAN, CORRUPT,
                             "#5", "#7")
    assert ran == [], "refused before the first patched run"
    data = patch_cmd.patch_data(tiny_loaded, CLEAN, CORRUPT,
                                "#5", "#7", ignore_memory=True)
    assert len(data["matrix"]) == tiny_loaded.info.num_layers + 1


def test_plan_batches_fit_the_budget(tiny_loaded):
    from spherescope.models.patching import plan_patch
    from spherescope.models.trace import trace_prompt

    clean = trace_prompt(tiny_loaded, CLEAN)
    corrupt = trace_prompt(tiny_loaded, CORRUPT)
    roomy = plan_patch(tiny_loaded, clean, corrupt, 0.01, budget=1 << 34)
    tight = plan_patch(tiny_loaded, clean, corrupt, 0.01, budget=roomy.bytes_per_run * 2)
    assert roomy.batch == len(clean.tokens) and tight.batch == 2 and tight.fits
    assert not plan_patch(tiny_loaded, clean, corrupt, 0.01, budget=10).fits
    assert roomy.runs == sum(int((clean.residuals[i] != corrupt.residuals[i]).any(axis=1).sum())
                             for i in range(clean.residuals.shape[0]))


def test_figure_leaves_the_callers_process_as_it_was(tiny_dir):
    """Case 10: figure() once disabled the caller's garbage collector and changed its
    switch interval (the window's start-up measures)."""
    code = ("import gc, sys, os\n"
            "import spherescope\n"
            "gc.set_threshold(700, 10, 10); sys.setswitchinterval(0.005)\n"
            f"spherescope.figure('John and Mary', model={str(tiny_dir)!r}, view='norms', size=(320, 200))\n"
            "assert gc.isenabled(), 'gc disabled'\n"
            "assert gc.get_threshold() == (700, 10, 10), gc.get_threshold()\n"
            "assert sys.getswitchinterval() == 0.005, sys.getswitchinterval()\n"
            "assert gc.get_freeze_count() == 0, gc.get_freeze_count()\n"
            "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert "Warning" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def display_without_glx():
    """An X server that offers no GLX, as Xvfb started without `+extension GLX` and some
    remote desktops are."""
    import shutil

    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-extension", "GLX",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    try:
        from spherescope.display import x_has_glx

        assert x_has_glx(f":{number}") is False
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_sphere_draws_on_an_x_server_without_glx(display_without_glx, tiny_dir, tmp_path):
    """Missing GLX: Qt falls back to EGL, and PyOpenGL once stayed on GLX and failed on
    the first draw ('Attempt to retrieve context when no valid context')."""
    from PIL import Image
    import numpy as np

    out = tmp_path / "sphere.png"
    r = _run_render({"DISPLAY": display_without_glx}, "sphere", out, tiny_dir)
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(out).convert("L")).std() > 5


def test_no_opengl_at_all_is_one_sentence_for_the_figure_and_the_window(display_without_glx, tiny_dir, tmp_path):
    # glvnd finds no EGL vendor: neither GLX nor EGL can make a context.
    no_egl = {"DISPLAY": display_without_glx, "__EGL_VENDOR_LIBRARY_FILENAMES": str(tmp_path / "none.json")}
    out = tmp_path / "sphere.png"
    r = _run_render(no_egl, "sphere", out, tiny_dir)
    assert r.returncode == 1, (r.returncode, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("spherescope: error:")]
    assert len(errors) == 1 and "No OpenGL for the 3-D view" in errors[0] and "+extension GLX" in errors[0], r.stderr
    assert not out.exists()
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(no_egl, HF_HUB_OFFLINE="1")
    w = subprocess.run([sys.executable, "-m", "spherescope", "--model", str(tiny_dir), "--prompt", "John and Mary",
                        "--snapshot", str(tmp_path / "win.png")], env=env, capture_output=True, text=True, timeout=300)
    assert w.returncode == 1, (w.returncode, w.stderr)
    assert "No OpenGL for the 3-D view" in w.stderr and "Traceback" not in w.stderr, w.stderr
    r2 = _run_render(no_egl, "norms", tmp_path / "norms.png", tiny_dir)
    assert r2.returncode == 0, r2.stderr  # the 2-D views need no OpenGL
