"""`spherescope render`: figures and animations from the command line, with no visible window.

It runs the same jobs as the window (jobs.load, jobs.trace, called in this thread),
and draws with the same session, view binding and 3-D scene, on a view that is never
shown on screen, so a scripted figure is exactly what the window would export. Needs
an X display (Xvfb here) or a desktop session for OpenGL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from spherescope.core.atomic import WriteError, check_writable
from spherescope.models.errors import PromptError


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 1920x1080, not {text!r}") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise ValueError("--size must be between 16 and 16384 pixels a side")
    return w, h


def cmd_render(args) -> int:
    from spherescope.state.scene import Scene, SceneError, load_scene

    out = Path(args.out)
    suffix = out.suffix.lower()
    view_kind = getattr(args, "view", "sphere") or "sphere"
    if view_kind == "sphere" and suffix not in (".png", ".jpg", ".jpeg", ".mp4", ".gif"):
        raise ValueError("--out must end in .png, .jpg, .mp4 or .gif")
    if view_kind != "sphere" and suffix not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"--view {view_kind} writes a picture: --out must end in .png or .jpg")
    animation = suffix in (".mp4", ".gif")
    size = parse_size(args.size)
    if suffix == ".mp4" and (size[0] % 2 or size[1] % 2):
        raise ValueError("MP4 video needs an even width and height in --size")
    if args.layer not in (None, "all") and not str(args.layer).lstrip("-").isdigit():
        raise ValueError("--layer must be a layer number or 'all'")
    if animation and args.layer not in (None, "all"):
        raise ValueError("an animation sweeps all layers: drop --layer or use a .png")
    check_writable(out)
    scene = Scene()
    if args.scene:
        try:
            scene = load_scene(args.scene)
        except SceneError as exc:
            raise WriteError(str(exc)) from None
    for key in ("model", "prompt", "position", "basis", "style"):
        value = getattr(args, key, None)
        if value is not None:
            setattr(scene, key, value)
    if args.tokens:
        scene.plane_tokens = []
    if view_kind == "plane" and not args.tokens and len(scene.plane_tokens) < 2:
        raise ValueError("--view plane needs two tokens: --tokens ' Mary, John' (or a scene with plane tokens)")
    if not scene.prompt:
        raise PromptError("The prompt is empty: pass --prompt or a --scene that has one.")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        raise RuntimeError("no display for OpenGL: run under xvfb-run or in a desktop session")

    from PySide6.QtCore import Qt

    from spherescope.app import make_app

    app = make_app()
    from spherescope.jobs import load as load_jobs
    from spherescope.jobs import trace as trace_jobs
    from spherescope.jobs.base import Context, inline_report
    from spherescope.models.devices import load_options
    from spherescope.render.animation import LayerSweep
    from spherescope.render.binding import ViewBinding
    from spherescope.render.export import save_image
    from spherescope.render.sphere_view import SphereView
    from spherescope.state.scene import apply_view_options
    from spherescope.state.session import Session

    ctx, report = Context(), inline_report()
    loaded = load_jobs.load(ctx, report, scene.model, load_options(args.device, args.dtype, args.allow_pickle))
    vocab = loaded.vocab
    if args.tokens:
        try:
            ids = vocab_tokens(vocab, args.tokens, 2 if view_kind == "plane" else None)
        except ValueError as exc:
            raise PromptError(str(exc)) from None
        scene.plane_tokens = ids[:3]
        if args.basis is None:
            scene.basis = "token-plane"
    trace = trace_jobs.trace(ctx, report, scene.prompt, scene.position, 10).trace
    session = Session()
    view = SphereView()
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # a GL context, never a window on screen
    view.resize(800, 800)
    view.show()
    app.processEvents()
    binding = ViewBinding(session, view)
    session.model_ref = scene.model
    session.model_info = loaded.info
    apply_view_options(scene, session)
    session.vocab = vocab
    session.prompt = scene.prompt
    session.position = trace.position
    session.begin_trace(trace.tokens)
    for layer in range(trace.num_layers + 1):
        session.add_frame(layer, trace.residuals[layer])
    session.finish_trace(trace)
    view.set_camera(scene.camera)
    if view_kind == "plane":
        return _render_plane(session, out, size, args)
    if animation:
        sweep = LayerSweep(view, session, out, size, args.fps, args.orbit)
        path = sweep.run_blocking()
        print(f"wrote {path}: {sweep.total} frames at {size[0]}x{size[1]}")
    else:
        layer = trace.num_layers if args.layer in (None, "all") else int(args.layer)
        if not 0 <= layer <= trace.num_layers:
            raise PromptError(f"--layer {layer} is out of range: the model has layers 0..{trace.num_layers}.")
        session.layer = layer
        img = view.render_image(size[0], size[1], transparent=args.transparent)
        save_image(img, out)
        print(f"wrote {out}: {size[0]}x{size[1]}, layer {layer}, next token {trace.next_token.text!r}")
    view.close()
    del binding
    return 0


def vocab_tokens(vocab, text: str, count: int | None = None) -> list[int]:
    """Token ids for --tokens ' Mary, John' (the leading space belongs to the token)."""
    from spherescope.core.vocab import parse_tokens

    return parse_tokens(vocab, text, count=count, what="--tokens")


def _render_plane(session, out: Path, size: tuple[int, int], args) -> int:
    """The article's plane of two tokens, the plot alone, at the requested size."""
    from PySide6.QtGui import QColor

    from spherescope.render.export import save_image
    from spherescope.render.plots import plot_image
    from spherescope.widgets.lessons.common import THEME
    from spherescope.widgets.lessons.plane import PlaneDock

    plane, why = session.plane_path()
    if plane is None:
        raise PromptError(why)
    dock = PlaneDock(session)
    last = session.available_layers() - 1
    layer = last if args.layer in (None, "all") else int(args.layer)
    if not 0 <= layer <= last:
        raise PromptError(f"--layer {layer} is out of range: the model has layers 0..{last}.")
    session.layer = layer
    dock.refresh()
    plot = dock.plot
    plot.setParent(None)  # the plot alone, out of its dock's layout (the dock is thrown away)
    img = plot_image(plot, size[0], size[1], None if args.transparent else QColor(THEME.background))
    save_image(img, out)
    a, b = (session.vocab.texts[int(i)] for i in session.plane_tokens[:2])
    print(f"wrote {out}: {size[0]}x{size[1]}, plane of {a!r} and {b!r}, layer {session.layer}")
    dock.deleteLater()
    return 0
