"""Desktop integration files validate, the icon comes in every size, and an installed
wheel finds its resources through importlib.resources."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/setup.sh installs it on Debian)")
    return path


def test_desktop_file_validates():
    r = subprocess.run([_tool("desktop-file-validate"), str(LINUX / "io.github.spherescope.desktop")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr


def test_metainfo_validates():
    r = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", str(LINUX / "io.github.spherescope.metainfo.xml")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mime_type_matches_scene_suffix():
    import xml.etree.ElementTree as ET

    from spherescope.state.scene import SUFFIX

    root = ET.parse(LINUX / "spherescope-mime.xml").getroot()
    globs = [g.get("pattern") for g in root.iter("{http://www.freedesktop.org/standards/shared-mime-info}glob")]
    assert globs == [f"*{SUFFIX}"]
    assert "application/x-spherescope-scene" in (LINUX / "io.github.spherescope.desktop").read_text()


def test_icon_sizes():
    from PySide6.QtGui import QImage

    icons = ROOT / "src" / "spherescope" / "resources" / "icons"
    for size in (16, 32, 48, 64, 128, 256):
        img = QImage(str(icons / f"spherescope-{size}.png"))
        assert (img.width(), img.height()) == (size, size)
    assert (icons / "spherescope.svg").read_text().lstrip().startswith("<svg")


def test_installed_wheel_finds_its_resources(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    wheel = next(dist.glob("spherescope-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("spherescope/resources/style.qss", "spherescope/resources/icons/spherescope.svg",
                   "spherescope/resources/icons/spherescope-256.png"):
        assert needed in names
    # A fresh environment with only the wheel (no dependencies): resources resolve from
    # the installed package, not from this source tree.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    code = ("import importlib.resources as r, spherescope; f = r.files('spherescope.resources');"
            "print(f.joinpath('style.qss').is_file(), 'site' in str(f), spherescope.__version__)")
    out = subprocess.run([str(tmp_path / "venv" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(target)}, cwd=tmp_path)
    assert out.stdout.split() == ["True", "True", spherescope_version()], out.stderr


def spherescope_version():
    import spherescope

    return spherescope.__version__
