"""widgets.bind: one helper for every two-way widget <-> session link."""

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QSlider

from spherescope.state.session import Session
from spherescope.widgets.bind import bind


def test_a_check_box_shows_the_field_and_writes_it(qtbot):
    s = Session()
    box = QCheckBox()
    qtbot.addWidget(box)
    s.appearance.show_cloud = False
    bind(box, s.appearance, "show_cloud")
    assert not box.isChecked(), "the widget starts from the session"
    box.click()
    assert s.appearance.show_cloud is True
    s.appearance.show_cloud = False
    assert not box.isChecked()


def test_a_push_from_the_session_is_not_written_back_but_other_listeners_hear_it(qtbot):
    s = Session()
    combo = QComboBox()
    qtbot.addWidget(combo)
    for v in ("size", "radius"):
        combo.addItem(v.title(), v)
    bind(combo, s.appearance, "length_as")
    heard, writes = [], []
    combo.currentIndexChanged.connect(heard.append)
    s.appearance.length_as_changed.connect(writes.append)
    s.appearance.length_as = "radius"
    assert combo.currentData() == "radius" and heard == [1] and writes == ["radius"], "one write: the session's own"
    combo.setCurrentIndex(0)
    assert s.appearance.length_as == "size"


def test_converters_map_a_slider_to_a_float(qtbot):
    s = Session()
    slider = QSlider()
    slider.setRange(0, 400)
    qtbot.addWidget(slider)
    bind(slider, s, "alpha", to_state=lambda v: v / 100, to_widget=lambda a: round(a * 100))
    assert slider.value() == 100
    slider.setValue(250)
    assert s.alpha == pytest.approx(2.5)
    s.alpha = 0.5
    assert slider.value() == 50


def test_a_deleted_widget_is_dropped(qtbot):
    from PySide6.QtCore import QCoreApplication, QEvent

    s = Session()
    box = QCheckBox()
    bind(box, s.appearance, "show_labels")
    box.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    s.appearance.show_labels = not s.appearance.show_labels  # would raise: Internal C++ object already deleted


def test_an_unknown_widget_is_refused(qtbot):
    from PySide6.QtWidgets import QLabel

    with pytest.raises(TypeError, match="QLabel"):
        bind(QLabel(), Session().appearance, "style")
