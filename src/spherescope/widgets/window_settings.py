"""The main window's settings: geometry, dock layout, recent models and prompts, and the
device and precision chosen last time. A mixin of MainWindow."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_VERSION = 3  # bump when docks change, so an old saved layout is not forced on new docks


def remembered_model(settings: QSettings) -> str:
    """The model the last session used ("embedded" the first time)."""
    return str(settings.value("last_model", "embedded") or "embedded")


class WindowSettings:
    def _restore_settings(self) -> None:
        st = self.settings
        if st.value("version", 0, type=int) != SETTINGS_VERSION:
            return
        geo = st.value("geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        state = st.value("window_state")
        if isinstance(state, QByteArray):
            self.restoreState(state, SETTINGS_VERSION)
        embedded = self.controller.catalog.embedded
        self.session.recent_models = tuple(r for r in _str_list(st.value("recent_models", [])) if r != embedded)[:8]
        self.session.recent_prompts = tuple(_str_list(st.value("recent_prompts", [])))[:20]
        # Device and precision chosen in the model dialog last time; what the command
        # line asked for wins. The pickle opt-in is never remembered.
        dtype = str(st.value("load_dtype", "") or "")
        saved = self.controller.catalog.load_options(str(st.value("load_device", "") or ""),
                                                     dtype if dtype in ("float32", "float16", "bfloat16") else None)
        self.controller.load_options = {**saved, **self.controller.load_options}

    def last_model(self) -> str:
        return remembered_model(self.settings)

    def save_settings(self) -> None:
        st = self.settings
        st.setValue("version", SETTINGS_VERSION)
        st.setValue("geometry", self.saveGeometry())
        st.setValue("window_state", self.saveState(SETTINGS_VERSION))
        if self.controller.loaded_ref:  # a model that failed to load is not the next launch's
            st.setValue("last_model", self.controller.loaded_ref)
        st.setValue("recent_models", list(self.session.recent_models))
        st.setValue("recent_prompts", list(self.session.recent_prompts[:20]))
        opts = self.controller.load_options
        st.setValue("load_device", str(opts.get("device", "auto")))
        st.setValue("load_dtype", str(opts.get("dtype") or ""))
        st.sync()

    def first_launch(self) -> bool:
        """No prompt was ever run in this settings file."""
        return not _str_list(self.settings.value("recent_prompts", []))


def _str_list(value) -> list[str]:
    """QSettings gives a one-element list back as a plain string."""
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [str(value)] if value else []
