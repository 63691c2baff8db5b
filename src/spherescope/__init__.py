"""spherescope: watch a transformer's hidden state move as a direction with a length."""

import os as _os

__version__ = "0.1.0"

# numpy's bundled OpenBLAS spins up its own thread pool per call; when the GUI thread
# and the model worker both call BLAS at once, it can deadlock inside exec_blas (seen
# here: the app froze mid-run). One BLAS thread per caller avoids that; torch keeps its
# own threads for the heavy work. Set before numpy is first imported.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def figure(*args, **kwargs):
    """Draw a view of a prompt's trace: see spherescope.api.figure (imported on first use,
    so `import spherescope` stays light)."""
    from spherescope.api import figure as _figure

    return _figure(*args, **kwargs)


def start_virtual_display(size=(1600, 1000)) -> str:
    """Start a private Xvfb (with GLX) and point DISPLAY at it, so the 3-D sphere
    renders in a notebook or on a server with no screen: see spherescope.display."""
    from spherescope.display import start_virtual_display as _start

    return _start(size)


def load(ref=None, **kwargs):
    """Load a model once for many analyses (traces, patching, figures, as arrays and
    tables): see spherescope.model_api.load."""
    from spherescope.model_api import load as _load

    return _load(ref, **kwargs)
