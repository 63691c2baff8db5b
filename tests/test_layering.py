"""The lower layers (core, models, state) never import Qt: checked with Qt made unimportable."""

import subprocess
import sys

CODE = r"""
import sys

class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"):
            raise ImportError(f"Qt is blocked in this test: {name}")
        return None

sys.meta_path.insert(0, BlockQt())
import spherescope.core.geometry, spherescope.core.projection, spherescope.core.trajectory
import spherescope.core.text, spherescope.core.atomic, spherescope.core.trace_json
import spherescope.models.sources, spherescope.models.lens, spherescope.models.trace, spherescope.models.cache
import spherescope.state.session, spherescope.state.events
import spherescope.cli
assert not any(m.split(".")[0] in ("PySide6", "pyqtgraph") for m in sys.modules), "Qt leaked into a lower layer"
print("ok")
"""


def test_core_models_state_import_without_qt():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_core_does_not_import_torch_or_transformers():
    code = ("import sys, spherescope.core.geometry, spherescope.core.projection, spherescope.state.session;"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_gui_module_imports_do_not_pull_torch():
    # The window must appear before torch is imported (launch time).
    code = ("import sys, spherescope.app, spherescope.widgets.main_window;"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_blas_is_single_threaded_per_caller():
    # Two threads calling numpy's threaded OpenBLAS at once deadlocked the app (exec_blas).
    code = "import spherescope, numpy, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.stdout.strip() == "1", r.stderr
