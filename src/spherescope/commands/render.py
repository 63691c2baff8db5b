"""`spherescope render`: any view as a figure or an animation, with no visible window.

`make_figure` is the one engine behind the command and the Python API
(`spherescope.figure`): the window's own controller, on a runner that does each job at
once in this thread (jobs.inline), fills the session exactly as in the window, and the
same binding, 3-D scene and lesson docks draw it on widgets never shown on screen, so
a scripted figure is exactly what the window would export. Needs an X display (Xvfb here) or a desktop
session for OpenGL.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from spherescope.commands.figure_request import (
    ANIMATION_SUFFIXES, FigureRequest, NoDisplay, WrongThread, parse_size, validate,
)
from spherescope.core.atomic import WriteError
from spherescope.models.errors import PromptError

_FIGURE_LOCK = threading.Lock()


def make_figure(req: FigureRequest):
    """Draw the request; returns (QImage or the written Path, a one-line description).
    Qt draws on the thread that made its application, the main one: a call from any
    other thread, or while another call is drawing, is refused at once with a sentence
    (it would otherwise wait for ever on an event loop that thread does not run)."""
    from spherescope import runtime

    if threading.current_thread() is not threading.main_thread():
        raise WrongThread("spherescope draws figures with Qt, which works on the main thread only: call figure() "
                          "from the main thread (in a notebook, from a cell, not a background thread).")
    if not _FIGURE_LOCK.acquire(blocking=False):
        raise WrongThread("Another figure is being drawn in this process: draw one at a time.")
    try:
        with runtime.in_callers_process():
            return _make_figure(req)
    finally:
        _FIGURE_LOCK.release()
        _delete_now()


def _delete_now() -> None:
    """Run the deletions a figure asked for (deleteLater): a script or notebook runs no
    Qt event loop, so they would wait, with everything they hold, until the process ends."""
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _needs_gl(req: FigureRequest) -> bool:
    """The 3-D sphere (a picture or a sweep) draws with OpenGL; every other view is a 2-D
    plot that Qt draws with no display at all."""
    suffix = req.out.suffix.lower() if req.out is not None else ""
    return req.view == "sphere" or suffix in ANIMATION_SUFFIXES


def _platform_for(gl: bool) -> list[str] | None:
    """The QApplication's arguments: Qt's offscreen platform for 2-D figures when there
    is no display (and no application yet); NoDisplay for the sphere without one."""
    from spherescope.display import display_problem

    problem = display_problem()
    if problem is None:
        return None
    if gl:
        raise NoDisplay(problem)
    return ["spherescope", "-platform", "offscreen"]


def _make_figure(req: FigureRequest):
    from spherescope.state.scene import Scene

    validate(req)
    gl = _needs_gl(req)
    # The request's own settings over the scene's (or the defaults').
    prompt = req.prompt
    if prompt is None and req.prompts is not None and not (req.scene is not None and req.scene.prompt.strip()):
        prompt = req.prompts.rows[0].prompt  # a set's figure needs no prompt of its own: its first one
    given = {"prompt": prompt, "compare_prompt": req.compare, "position": req.position, "basis": req.basis,
             "style": req.style, "alpha": req.alpha, "model": req.model if isinstance(req.model, str) else None}
    scene = replace(req.scene or Scene(), **{k: v for k, v in given.items() if v is not None})
    app = _application(gl)
    session, ctl, errors = _figure_session(req)
    view, binding = _sphere_view(app, session) if gl else (None, None)
    try:
        _fill(req, scene, session, ctl, errors)
        if view is not None:
            view.set_camera(scene.camera)
        last = session.trace.num_layers
        layer = req.layer if req.layer is not None else (min(max(scene.layer, 0), last) if req.scene is not None else last)
        if not 0 <= layer <= last:
            raise PromptError(f"--layer {layer} is out of range: the model has layers 0..{last}.")
        session.layer = layer
        from spherescope.render.annotations import default_annotations

        notes = req.annotations
        if notes is None:
            notes = frozenset(scene.annotations) if scene.annotations is not None else default_annotations(scene.style)
        return _draw(req, session, binding, scene.style, notes, session.trace, session.steering.sweep)
    finally:
        ctl.shutdown()
        if view is not None:
            view.close()
            view.deleteLater()
        del binding


def _application(gl: bool):
    """The QApplication, on a display with OpenGL for the sphere (NoDisplay says why not)."""
    from spherescope.app import gl_problem, make_app

    app = make_app(_platform_for(gl), window=False)
    if gl and app.platformName() == "offscreen":
        raise NoDisplay("This process draws its figures without a display (Qt's offscreen platform, chosen when a "
                        "2-D figure came first with no display), and the 3-D sphere needs OpenGL on one: call "
                        "spherescope.start_virtual_display() before the first figure of a process.")
    problem = gl_problem() if gl else None
    if problem is not None:
        raise NoDisplay(problem)
    return app


def _fill(req: FigureRequest, scene, session, ctl, errors: list[str]) -> None:
    """What the figure shows, asked of the controller as the window's docks ask it."""
    from spherescope.state.scene import apply_view_options

    _load(req, ctl, scene, errors)
    ctx = ctl.runner.context
    _choose_tokens(req, scene, ctx, session)
    apply_view_options(scene, session)
    session.attribution_wanted = req.view == "attribution"
    session.roundtrip.wanted = req.view == "roundtrip"
    if req.view == "heads":  # asked before the run, so the run records the weights and writes at once
        from spherescope.core.heads import parse_head

        session.layer, session.heads.head = parse_head(req.head)
        session.heads.wanted = True
    ctl.run_at(scene.prompt, _position(scene.position, ctx, scene.prompt), quiet=True)
    _check(errors)
    if scene.compare_prompt.strip():
        if req.view in ("patching", "head-patching") and len(session.plane_tokens) < 2:
            raise PromptError(f"--view {req.view} needs a target and a contrast: --tokens ' Mary, John'")
        ctl.compare(scene.compare_prompt)
        if req.view == "patching":
            ctl.run_patching()
        elif req.view == "head-patching":
            ctl.run_head_patching()
    if req.view == "steer":
        spec, mark = _steer_spec(req, ctx, scene, session)
        ctl.request_steer_sweep(spec, req.alphas, mark)
    if req.prompts is not None:
        session.sets.in_plane = req.view == "plane"  # each prompt in its own plane, not the first prompt's
        ctl.run_set(req.prompts)
    elif scene.prompt_set is not None:
        from spherescope.core.prompt_set import PromptSet

        session.sets.shown = scene.prompt_set.get("shown", True)
        ctl.run_set(PromptSet.from_json(scene.prompt_set))
    _check(errors)


def _figure_session(req: FigureRequest):
    """A session filled by the window's own controller, on a runner that does each job
    at once in this thread: the figure's numbers come through the one result path.
    The controller's refusals (sentences for the message bar) are collected as errors."""
    from spherescope.controller import Controller
    from spherescope.jobs.base import JobKind
    from spherescope.jobs.inline import InlineRunner
    from spherescope.state.session import Session

    session = Session()
    # The round-trip count runs for tens of seconds in the window's background, and no
    # figure shows it.
    runner = InlineRunner(strict=True, skip=(JobKind.WARM, JobKind.FRACTIONS))
    ctl = Controller(session, dict(req.load_options), warm=False, runner=runner)
    errors: list[str] = []
    ctl.message.connect(lambda text, is_error: errors.append(text) if is_error else None)
    return session, ctl, errors


def _check(errors: list[str]) -> None:
    if errors:
        raise PromptError(errors[0])


def _sphere_view(app, session):
    from PySide6.QtCore import Qt

    from spherescope.render.binding import ViewBinding
    from spherescope.render.sphere_view import SphereView

    view = SphereView()
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # a GL context, never a window on screen
    view.resize(800, 800)
    view.show()
    app.processEvents()
    return view, ViewBinding(session, view)


def _load(req: FigureRequest, ctl, scene, errors: list[str]) -> None:
    if req.model is not None and not isinstance(req.model, str):
        if req.tokenizer is None:
            raise ValueError("an in-memory model needs its tokenizer: figure(model=model, tokenizer=tokenizer)")
        ctl.adopt(req.model, req.tokenizer, req.model_name)
    else:
        ctl.load(scene.model)
    _check(errors)


def _choose_tokens(req: FigureRequest, scene, ctx, session) -> None:
    """--tokens (the plane's pair), and the camera that goes with them."""
    from spherescope.state.scene import parse_camera

    if req.tokens is not None:
        from spherescope.core.vocab import parse_tokens
        from spherescope.models.token_lookup import TokenTable

        try:
            ids = parse_tokens(TokenTable(ctx.model), req.tokens, count=2 if req.view == "plane" else None, what="--tokens")
        except ValueError as exc:
            raise PromptError(str(exc)) from None
        scene.plane_tokens = ids[:3]
        if req.basis is None and req.scene is None:
            scene.basis = "token-plane"
    if req.camera is not None:
        scene.camera = parse_camera(req.camera, scene.camera)
    elif req.scene is None and scene.basis == "token-plane":
        # The article's turn is seen from above the plane; an oblique camera hides it.
        scene.camera = parse_camera("plane", scene.camera)
    else:
        from spherescope.core.vocab import check_token_ids

        try:
            check_token_ids(scene.plane_tokens, len(session.vocab.texts))
        except ValueError as exc:
            raise PromptError(f"The scene's plane tokens: {exc}") from None


def _position(position: int, ctx, prompt: str) -> int:
    """A scene's or the command line's position, checked against the prompt's tokens."""
    if position is None or position == -1:
        return -1
    from spherescope.models.trace import tokenize

    n = len(tokenize(ctx.model, prompt))
    if not -n <= position < n:
        raise PromptError(f"Position {position} is out of range: the prompt has {n} tokens (0..{n - 1}).")
    return position % n


def _steer_spec(req: FigureRequest, ctx, scene, session):
    """--view steer's direction: the flags, then the scene's steering, then the plane's
    pair (toward the second, away from the first, as the window's "Toward the
    contrast"), after the middle block. Returns (SteerSpec, whether its α is marked)."""
    from spherescope.core.patching import SteerSpec
    from spherescope.models.token_lookup import resolve_token

    lm = ctx.model
    flags = req.steer or {}
    saved = scene.steer or {}
    n = lm.info.num_layers
    layer = flags.get("layer", saved.get("layer"))
    layer = n // 2 if layer is None else int(layer)
    if not 0 <= layer <= n:
        raise PromptError(f"--steer-layer {layer} is out of range: the model has layers 0..{n}.")
    if flags.get("toward") is not None:
        toward = resolve_token(lm, flags["toward"], "--steer-toward")
        away = resolve_token(lm, flags["away"], "--steer-away") if flags.get("away") is not None else None
    elif saved.get("toward") is not None and req.tokens is None:
        toward, away = int(saved["toward"]), saved.get("away")
    elif len(session.plane_tokens) >= 2:
        away, toward = (int(i) for i in session.plane_tokens[:2])
    else:
        raise PromptError("--view steer needs a direction: --steer-toward ' John' or --tokens ' Mary, John'.")
    position = flags.get("position", saved.get("position"))
    alpha = flags.get("alpha", saved.get("alpha"))
    return SteerSpec(layer, toward, away, 0.0 if alpha is None else float(alpha), position), alpha is not None


def _draw(req: FigureRequest, session, binding, style: str, notes: frozenset, trace, curve=None):
    from spherescope.render.figure import save_figure, sphere_image
    from spherescope.widgets.figures import describe, lesson_image, save_lesson_figure

    w, h = req.size
    suffix = req.out.suffix.lower() if req.out is not None else ""
    if suffix in ANIMATION_SUFFIXES:
        from spherescope.render.animation import LayerSweep

        binding.on_style(style)
        sweep = LayerSweep(binding, req.out, (w, h), req.fps, req.orbit, req.seconds_per_layer, style_name=style,
                           annotations=notes, apply_alpha=req.apply_alpha)
        path = sweep.run_blocking()
        from spherescope.render.export import animation_size_note

        return Path(path), f"{sweep.total} frames at {w}x{h}, {req.fps:g} frames/s, {animation_size_note(path)}"
    if req.view == "sphere":
        img = sphere_image(binding, w, h, style, req.transparent, notes, req.apply_alpha, whole_path=req.whole_path)
        what = f"layer {session.layer}, next token {trace.next_token.text!r}"
        if req.out is None:
            return img, what
        return save_figure(img, req.out), f"{w}x{h}, {what}"
    if req.out is None:
        return (lesson_image(session, req.view, w, h, style, req.transparent, notes, steer=curve),
                describe(session, req.view, curve))
    path = save_lesson_figure(session, req.view, req.out, w, h, style, req.transparent, notes, steer=curve)
    return path, f"{w}x{h}, {describe(session, req.view, curve)}"


def cmd_render(args) -> int:
    from spherescope.render.annotations import parse_annotations
    from spherescope.state.scene import SceneError, load_scene

    out = Path(args.out)
    scene = None
    if args.scene:
        try:
            scene = load_scene(args.scene)
        except SceneError as exc:
            raise WriteError(str(exc)) from None
    style = args.style or (scene.style if scene is not None else "dark")
    if args.layer not in (None, "all") and not str(args.layer).lstrip("-").isdigit():
        raise ValueError("--layer must be a layer number or 'all'")
    from spherescope.models.devices import load_options

    req = FigureRequest(
        prompt=args.prompt, model=args.model, view=args.view, scene=scene, position=args.position,
        layer=None if args.layer in (None, "all") else int(args.layer), basis=args.basis, tokens=args.tokens,
        compare=args.compare,
        size=parse_size(args.size), style=args.style, transparent=args.transparent,
        annotations=None if args.annotate is None else parse_annotations(args.annotate, style),
        apply_alpha=args.apply_alpha, alpha=args.alpha, fps=args.fps, orbit=args.orbit,
        seconds_per_layer=args.speed, out=out,
        load_options=load_options(args.device, args.dtype, args.allow_pickle, args.ignore_memory),
        reading=(args.scene,) if args.scene else (), camera=args.camera, whole_path=args.whole_path,
        steer={k: getattr(args, f"steer_{k}") for k in ("layer", "toward", "away", "alpha", "position")},
        alphas=args.alphas, head=args.head, prompts=args.prompts,
    )
    path, what = make_figure(req)
    print(f"wrote {path}: {what}")
    return 0
