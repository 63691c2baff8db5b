"""The layering, at run time. The import contracts in pyproject.toml (checked by
`lint-imports` in scripts/test.sh) see every import statically; these tests check what
only running code shows: the lower layers work with Qt absent, the window comes up
without torch, and the contracts themselves hold and can fail."""

import pkgutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def _modules(*packages: str) -> list[str]:
    """Every module of these packages, found on disk (no hand-kept list to go stale)."""
    out = []
    for name in packages:
        pkg = __import__(name, fromlist=["_"])
        out.append(name)
        out += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=name + ".")]
    return out


LOWER = ["spherescope.core", "spherescope.models", "spherescope.state", "spherescope.jobs"]

CODE = r"""
import sys

class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "OpenGL"):
            raise ImportError(f"Qt is blocked in this test: {name}")
        return None

sys.meta_path.insert(0, BlockQt())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
assert not any(m.split(".")[0] in ("PySide6", "pyqtgraph") for m in sys.modules), "Qt leaked into a lower layer"
print("ok", len(sys.argv) - 1)
"""


def test_every_lower_module_imports_and_runs_with_qt_absent():
    names = _modules(*LOWER) + ["spherescope.runtime", "spherescope.cli", "spherescope.commands.trace"]
    assert "spherescope.jobs.trace" in names and "spherescope.models.loader" in names
    r = subprocess.run([sys.executable, "-c", CODE, *names], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"ok {len(names)}"


def test_core_and_state_do_not_import_torch_or_transformers():
    names = _modules("spherescope.core", "spherescope.state")
    code = ("import sys, importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
            + "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_gui_module_imports_do_not_pull_torch():
    # The window must appear before torch is imported (launch time): the controller and
    # the jobs it names import torch only inside the functions that run in the worker.
    code = ("import sys, spherescope.app, spherescope.widgets.main_window, spherescope.controller;"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_import_contracts_hold_and_catch_an_upward_import(tmp_path):
    """lint-imports passes on the tree, and fails on a copy where a model module
    imports the loader back (a cycle) and a render module imports a widget."""
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "0 broken" in r.stdout

    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "spherescope", copy / "spherescope", ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "spherescope" / "models" / "source.py", "a") as f:
        f.write("\nimport spherescope.models.loader  # a cycle\n")
    with open(copy / "spherescope" / "render" / "labels.py", "a") as f:
        f.write("\nfrom spherescope.widgets import main_window  # upward\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert r.returncode != 0
    assert "No import cycles among sibling modules or packages BROKEN" in " ".join(r.stdout.split())
    assert "render draws numpy arrays" in r.stdout and "BROKEN" in r.stdout


def test_blas_is_single_threaded_per_caller():
    # Two threads calling numpy's threaded OpenBLAS at once deadlocked the app (exec_blas).
    code = "import spherescope, numpy, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.stdout.strip() == "1", r.stderr

