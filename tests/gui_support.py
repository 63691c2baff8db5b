import numpy as np
import pytest
from PySide6.QtCore import QSettings

ARTICLE = "John and Mary went to the bar. John bought a drink for"
LOAD_TIMEOUT = 180_000  # ms: the first run on a new machine converts the GGUF (~15-20 s)
RUN_TIMEOUT = 60_000


@pytest.fixture(scope="session", autouse=True)
def _app_theme(qapp):
    from spherescope.app import make_app

    make_app()
    yield
    from spherescope.workers import wait_for_orphans

    wait_for_orphans()


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    from spherescope.app import build_main_window

    made = []

    def make(start=True, model=None):
        win = build_main_window(settings=settings)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        if start:
            win.start(model=model)
            qtbot.waitUntil(lambda: win.session.vocab is not None, timeout=LOAD_TIMEOUT)
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()


@pytest.fixture
def window(make_window):
    return make_window()


def type_and_run(qtbot, win, prompt=ARTICLE, wait=True):
    from PySide6.QtCore import Qt

    editor = win.prompt_dock.editor
    editor.clear()
    editor.setFocus()
    if len(prompt) < 200 and prompt.isascii() and prompt.isprintable():  # QtTest types ASCII only
        qtbot.keyClicks(editor, prompt)
    else:
        editor.setPlainText(prompt)  # as a paste would
    qtbot.mouseClick(win.prompt_dock.run_button, Qt.MouseButton.LeftButton)
    if wait:
        qtbot.waitUntil(lambda: win.session.trace is not None and win.session.prompt == prompt and not win.session.busy,
                        timeout=RUN_TIMEOUT)


def view_pixels(win) -> np.ndarray:
    return image_pixels(win.view.grab_image())


def image_pixels(image) -> np.ndarray:
    """A QImage (a widget's grab().toImage(), a GL frame) as (h, w, 3) uint8."""
    img = image.convertToFormat(image.Format.Format_RGBA8888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine() // 4, 4)
    return arr[:, :w, :3].copy()


def assert_not_blank(pixels: np.ndarray) -> None:
    assert pixels.size > 0
    assert pixels.std() > 5, "the view is a flat colour"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200, "too few colours: nothing drawn"


def changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30).mean())


def screen_pixels(qtbot, win) -> np.ndarray:
    """What the X server shows for the 3-D view after its next frame: the on-screen
    drawing path (cached static layer, GL labels), not a fresh off-screen render."""
    from PySide6.QtGui import QGuiApplication

    with qtbot.waitSignal(win.view.frameSwapped, timeout=RUN_TIMEOUT):
        win.view.update()
    img = QGuiApplication.primaryScreen().grabWindow(win.view.winId()).toImage()
    img = img.convertToFormat(img.Format.Format_RGBA8888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine() // 4, 4)
    return arr[:, :w, :3].copy()
