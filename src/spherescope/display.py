"""Is there a screen for Qt to open? One sentence when there is none, before Qt is
asked: Qt's xcb platform aborts the whole process (qFatal) when DISPLAY names no X
server, which a script or a notebook cannot catch."""

from __future__ import annotations

import os
import socket
import sys

HOW = ("run on a desktop, under `xvfb-run -a -s \"-screen 0 1600x1000x24 +extension GLX\"`, or, inside Python or a "
       "notebook, call spherescope.start_virtual_display() first (it needs Debian's xvfb package)")


def display_problem() -> str | None:
    """None when a display can be reached (or this is not Linux, or Qt was told to use
    another platform); else why not, and what to do, in one sentence."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return f"No display: DISPLAY is not set; {HOW}."
    if not x_server_reachable(display):
        return f"No display: DISPLAY={display} names no running X server; {HOW}."
    return None


def x_server_reachable(display: str, timeout: float = 2.0) -> bool:
    """Whether something accepts connections where an X server for `display` listens
    (host:N.S; an empty host or 'unix' is the local socket)."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix") or host.startswith("/"):
        path = host if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):  # the file, then Linux's abstract namespace
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(timeout)
                    s.connect(address)
                    return True
            except OSError:
                continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=timeout):
            return True
    except OSError:
        return False


def x_has_glx(display: str) -> bool | None:
    """Whether the X server at `display` offers GLX (asked through libX11, as glxinfo
    would); None when it cannot be asked."""
    import ctypes

    try:
        x11 = ctypes.CDLL("libX11.so.6")
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XQueryExtension.argtypes = [ctypes.c_void_p, ctypes.c_char_p] + [ctypes.POINTER(ctypes.c_int)] * 3
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return None
    try:
        codes = [ctypes.c_int() for _ in range(3)]
        return bool(x11.XQueryExtension(dpy, b"GLX", *(ctypes.byref(c) for c in codes)))
    finally:
        x11.XCloseDisplay(dpy)


def choose_gl_binding() -> None:
    """Bind PyOpenGL to the API Qt will draw with. On an X server without GLX (Xvfb
    started without `+extension GLX`, some remote desktops) Qt's xcb platform falls back
    to EGL, but PyOpenGL binds to GLX on X11 unless told, finds no current context and
    fails on the first draw. Must run before OpenGL is first imported."""
    if not sys.platform.startswith("linux") or os.environ.get("PYOPENGL_PLATFORM") or "OpenGL" in sys.modules:
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return
    display = os.environ.get("DISPLAY", "")
    if display and x_has_glx(display) is False:
        os.environ["PYOPENGL_PLATFORM"] = "egl"


_XVFB = None  # the Xvfb this process started (start_virtual_display), kept until exit


def start_virtual_display(size: tuple[int, int] = (1600, 1000)) -> str:
    """Start a private Xvfb with OpenGL (GLX) for this process and point DISPLAY at it,
    so the 3-D sphere renders inside a notebook or a server with no screen. Returns the
    display name. Needs Debian's `xvfb` package; a clear RuntimeError without it. Call
    it before the first figure; calling it again reuses the same server."""
    import atexit
    import shutil
    import subprocess

    global _XVFB
    if _XVFB is not None and _XVFB[0].poll() is None:
        return _XVFB[1]
    exe = shutil.which("Xvfb")
    if exe is None:
        raise RuntimeError("Xvfb is not installed: install Debian's xvfb package (apt-get install xvfb), or run on "
                           "a desktop.")
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it to the pipe when ready.
    proc = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24",
                             "+extension", "GLX", "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number.isdigit():
        proc.kill()
        raise RuntimeError("Xvfb did not start (it printed no display number).")
    name = f":{number}"
    os.environ["DISPLAY"] = name
    os.environ.pop("WAYLAND_DISPLAY", None)
    _XVFB = (proc, name)
    atexit.register(proc.terminate)
    return name
