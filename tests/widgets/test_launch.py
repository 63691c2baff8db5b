"""The window as `spherescope` launches it (app.launch_main_window): its frame maps at
once, the rest is imported on a thread and assembled in steps while the window keeps
answering, lessons are made when their tab first comes to the front, and what was
asked for before it was complete (start, a prompt) happens once it is."""

from PySide6.QtCore import QElapsedTimer, QTimer

from gui_support import ARTICLE, LOAD_TIMEOUT, RUN_TIMEOUT, type_and_run


def test_the_frame_maps_first_and_the_window_assembles_while_answering(qtbot, settings):
    from spherescope.app import launch_main_window

    win = launch_main_window(settings=settings)
    qtbot.addWidget(win)
    assert not win.built and win.centralWidget().text() == "Starting spherescope…"
    win.start(prompt=ARTICLE)  # waits for the window (and its view's shaders) before loading
    win.show()
    qtbot.waitExposed(win)
    # A 5 ms timer keeps ticking while the window is put together: no step holds the loop for long.
    clock, gaps, last = QElapsedTimer(), [], [0]
    clock.start()

    def tick():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    qtbot.waitUntil(lambda: win.built, timeout=LOAD_TIMEOUT)
    timer.stop()
    assert len(gaps) > 3 and max(gaps) < 2000, gaps  # (the timer ran throughout)
    # Only the tab in front was made; the others wait for their tab.
    made = [k for k in win.lessons if dict.__getitem__(win.lessons, k)[0] is not None]
    assert made == ["closest"]
    # The prompt asked for before the window was complete is traced once the model is in.
    qtbot.waitUntil(lambda: win.session.trace is not None and not win.session.busy, timeout=LOAD_TIMEOUT)
    assert win.session.prompt == ARTICLE and win.session.trace.next_token.text == " Mary"
    # A lesson made after the trace catches up with the session: the steering dock knows
    # the model's layers, the plane dock shows the trace.
    win.docks["steer"].raise_()
    steer = dict.__getitem__(win.lessons, "steer")[0]
    assert steer is not None and steer.layer.maximum() == 30
    win.docks["plane"].raise_()
    plane = win.lessons["plane"][0]
    qtbot.waitUntil(lambda: "from ' Mary'" in plane.readout.text(), timeout=RUN_TIMEOUT)
    _whole_at_first_launch(qtbot, win, plane)
    type_and_run(qtbot, win, "The capital of France is")
    assert win.session.trace.next_token.text == " Paris"
    win.close()


def _whole_at_first_launch(qtbot, win, plane):
    """At the first launch's size nothing of the opening figure is cut: the plane's plot
    (title and bottom label inside it, not over the readout), every token chip, the
    Basis dock's controls. The plot was a 165 px sliver with both cut, and the Basis
    dock lost its first and last lines."""
    from PySide6.QtCore import QPoint

    assert (win.width(), win.height()) == (1480, 920)
    pi, plot = plane.plot.getPlotItem(), plane.plot
    qtbot.waitUntil(lambda: pi.titleLabel.item.toPlainText().startswith("Plane of ' Mary' and ' John'"))
    for item in (pi.titleLabel.item, pi.getAxis("bottom").label):
        # (a text item's box has a 4 px margin around its glyphs)
        box = item.mapRectToScene(item.boundingRect()).adjusted(4, 4, -4, -4)
        assert box.left() >= 0 and box.right() <= plot.width(), (item, box, plot.width())
        assert box.bottom() <= plot.height(), (item, box, plot.height())
    bottom = plot.mapTo(plane, QPoint(0, plot.height())).y()
    assert bottom <= plane.readout.geometry().top() + 1, "the plot runs under the readout"
    assert not win.prompt_dock.chips.verticalScrollBar().isVisible(), "the token chips scroll"
    assert win.basis_dock.height() >= win.basis_dock.minimumSizeHint().height()


def test_closing_before_the_window_is_complete_is_clean(qtbot, settings):
    from spherescope.app import launch_main_window

    win = launch_main_window(settings=settings)
    win.show()
    qtbot.waitExposed(win)
    win.close()  # before assembly: nothing to shut down yet, nothing raised
    assert not win.built


def test_closing_while_it_assembles_stops_the_worker(qtbot, settings):
    from spherescope.app import launch_main_window

    win = launch_main_window(settings=settings)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: getattr(win, "controller", None) is not None, timeout=LOAD_TIMEOUT)
    runner = win.controller.runner
    win.close()
    qtbot.waitUntil(lambda: not runner.thread.isRunning(), timeout=RUN_TIMEOUT)
