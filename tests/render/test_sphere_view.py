"""The 3-D view's items through state changes that arrive faster than frames."""

import numpy as np


def _frame(qtbot, view):
    frames = []
    view.frameSwapped.connect(lambda: frames.append(1))
    view.update()
    qtbot.waitUntil(lambda: len(frames) > 0, timeout=5000)


def test_trajectory_cleared_before_it_was_ever_drawn(qtbot):
    """A model switch clears a trajectory that may not have been painted yet: the
    cleared items must still paint (pyqtgraph keeps a pending per-vertex colour
    upload across a switch to a single colour, which used to raise in paintGL)."""
    from spherescope.render.sphere_view import SphereView

    view = SphereView()
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    _frame(qtbot, view)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5, 3))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    view.set_trajectory(pts, np.linspace(1, 50, 5), np.full(5, 0.5), 4)
    view.set_trajectory(np.zeros((0, 3)), np.zeros(0), np.zeros(0), 4)  # before any paint
    _frame(qtbot, view)  # an exception in paintGL fails the test (pytest-qt)
    assert view.marker_position() is None
    view.set_trajectory(pts, np.linspace(1, 50, 5), np.full(5, 0.5), 4)
    view.set_trajectory(pts[:1], np.ones(1), np.ones(1), 4)  # one node: no arc
    _frame(qtbot, view)
    assert np.allclose(view.marker_position(), pts[0], atol=1e-6)


def test_the_cloud_is_drawn_whole_when_still_and_in_part_while_moving(qtbot):
    """Level of detail: while the camera moves, a stable subset of the cloud; once it
    rests, the whole cloud in the cached layer (over several frames when it is large);
    back where it started, the very same picture."""
    import numpy as np

    from spherescope.render import static_layer as sv
    from spherescope.render.sphere_view import SphereView

    view = SphereView()
    qtbot.addWidget(view)
    view.resize(480, 360)
    view.show()
    qtbot.waitExposed(view)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(3 * sv.CLOUD_PER_FRAME, 3)).astype(np.float32)
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    view.set_cloud(pts, np.full((len(pts), 4), 0.8, np.float32))
    n = view._n_chunks
    assert n == -(-len(pts) // sv.CLOUD_MOVING)
    assert sum(len(c.pos) for c in view._chunks[:n]) == len(pts), "the chunks hold every point once"
    painted = []
    for chunk in view._chunks:
        orig = chunk.paint
        chunk.paint = lambda orig=orig, chunk=chunk: (painted.append(chunk), orig())
    qtbot.waitUntil(lambda: view._cache_done == n, timeout=20000)
    assert len(set(painted)) == n
    still = view.grabFramebuffer()
    painted.clear()
    view.orbit(30, 0)
    with qtbot.waitSignal(view.frameSwapped, timeout=5000):
        view.update()
    assert set(painted) == {view._chunks[0]}, "moving: the subset only"
    view.orbit(-30, 0)
    qtbot.waitUntil(lambda: view._cache_done == n and not view._settle.isActive(), timeout=20000)
    with qtbot.waitSignal(view.frameSwapped, timeout=5000):
        view.update()
    assert view.grabFramebuffer() == still


def test_the_warm_up_waits_while_held_and_the_first_frames_are_the_background(qtbot):
    """A launch holds the view's warm-up while the window around it is assembled: until
    then its frames are the background alone (no compiling); once released, the sphere
    appears and the warm-up runs to its end (gl_ready)."""
    from spherescope.render.sphere_view import SphereView

    view = SphereView()
    view.hold_warm_up(True)
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    for _ in range(3):
        _frame(qtbot, view)
    assert not view.gl_warm and view._warming[0] == "shapes", "the warm-up went on while held"
    held = view.grabFramebuffer()
    background = held.pixelColor(5, 5)
    assert held.pixelColor(160, 120) == background, "a held view drew the scene"
    with qtbot.waitSignal(view.gl_ready, timeout=10_000):
        view.hold_warm_up(False)
    assert view.gl_warm
    drawn = view.grabFramebuffer()
    assert drawn.pixelColor(160, 120) != drawn.pixelColor(5, 5), "the sphere is not drawn after the warm-up"


def test_a_sets_paths_join_the_cached_layer_and_a_subset_draws_while_moving(qtbot):
    """The thin paths do not move with the layer, so they are drawn once into the static
    layer (a slider step with 1,000 of them took 10x a bare step): they must still show
    after a step, leave with the set (no stale paths in the cache), and a moving camera
    draws a subset of them (MOVING_PATHS) as it draws a subset of the cloud."""
    from gui_support import changed_fraction, image_pixels
    from spherescope.render.bundle_items import MOVING_PATHS
    from spherescope.render.sphere_view import SphereView

    view = SphereView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    with qtbot.waitSignal(view.gl_ready, timeout=20_000):  # the warm-up's frames draw everything directly
        view.show()
    _frame(qtbot, view)
    grab = lambda: image_pixels(view.grabFramebuffer())  # noqa: E731
    base = grab()
    rng = np.random.default_rng(1)
    n = 2 * MOVING_PATHS
    pts = np.cumsum(rng.normal(scale=0.2, size=(n, 31, 3)) + [1.0, 0.3, 0.2], axis=1)
    pts = (pts / np.linalg.norm(pts, axis=2, keepdims=True)).astype(np.float32)
    empty = (np.zeros((0, 1, 3), np.float32), np.zeros((0, 3), np.float32))
    view.set_bundle(pts, pts.mean(axis=0))
    for dots in (view.bundle.dots, view.bundle.median_dot):  # the paths alone, which stay put
        dots.setVisible(False)
    drawn = grab()
    assert view._layer_done and changed_fraction(base, drawn) > 0.02
    view.set_current(20)  # a slider step: the paths come from the cache
    step = grab()
    assert changed_fraction(drawn, step) < 0.001, "the set's paths changed with the layer"
    view.set_bundle(*empty)
    assert changed_fraction(base, grab()) < 0.002, "the set's paths stayed in the cached layer"
    view.set_bundle(pts, pts.mean(axis=0))
    grab()
    view.orbit(40, 0)
    moving = grab()  # the camera moved since the last frame: the subset
    still = grab()  # and at rest: every path
    view.set_bundle(*empty)
    none = grab()
    assert changed_fraction(none, moving) > 0.01, "no paths while the camera moves"
    assert changed_fraction(moving, still) > 0.001, "the moving frame drew every path"
