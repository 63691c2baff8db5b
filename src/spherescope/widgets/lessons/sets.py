"""Prompt set: many prompts run as one. Their paths (at each prompt's last token) are
drawn together on the sphere, thin, with the median path bold; the lens's logit
difference, what moved it and patching are shown over the set, with their spread."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout

from spherescope.core.prompt_set import SetError, read_prompt_set
from spherescope.core.text import counted
from spherescope.render.styles import PlotTheme
from spherescope.state.features import SET_PAGES
from spherescope.state.session import Session
from spherescope.widgets.bind import bind
from spherescope.widgets.lessons.common import THEME, LazyRefresh, LessonDock, caption
from spherescope.widgets.lessons.set_plots import DlaPlot, LensBandPlot, SetHeadsPlot, SetPatchPlot, describe_steer
from spherescope.widgets.lessons.set_steer import SetSteerPage

SET_FILES = "Prompt sets (*.csv *.tsv *.jsonl *.json);;All files (*)"


class SetsDock(LazyRefresh, LessonDock):
    _heads_text = ""  # the head grid's sentence, as its plot last drew it
    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        self._build_controls()
        self.lens = LensBandPlot(self.theme)
        self.dla = DlaPlot(self.theme)
        self.patch = SetPatchPlot(self.theme)
        self.heads = SetHeadsPlot(self.theme)
        self.steer = SetSteerPage(session, controller, self.theme)
        self._lay_out()
        sets = session.sets
        for sig in (sets.source_changed, sets.summary_changed, sets.running_changed, sets.done_changed,
                    sets.patch_changed, sets.patch_running_changed, sets.steer_changed, sets.steer_running_changed,
                    session.model_info_changed):
            sig.connect(self.request_refresh)
        self.pages.currentChanged.connect(lambda i: setattr(sets, "page", SET_PAGES[i]))
        sets.page_changed.connect(lambda page: self.pages.setCurrentIndex(SET_PAGES.index(page)), owner=self)
        session.layer_changed.connect(self.lens.set_layer, owner=self)  # the plot is no QObject: tie it to the dock

    def _button(self, name: str, text: str, tip: str, slot) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    def _build_controls(self) -> None:
        self.open_button = self._button("openSet", "Open set…", "A CSV or JSONL file: prompt, and optionally target, "
                                        "contrast and corrupt", self.choose_file)
        self.template_button = self._button("templateSet", "Template…", "Prompts from a template with slots filled "
                                            "from lists", self.edit_template)
        self.run_button = self._button("runSet", "Run set", "Trace every prompt of the set, in batches",
                                       self.run_set)
        self.stop_button = self._button("stopSet", "Stop", "Stop the set: what was traced stays", self.stop)
        self.patch_button = self._button("patchSet", "Patch pairs", "Patch every clean prompt into its corrupt one: "
                                         "the recovery of the mean logit difference", self.patch_pairs)
        self.heads_button = self._button("patchSetHeads", "Patch heads", "The pairs' positions and each head at the "
                                         "last position: the recovery of the mean logit difference", self.patch_heads)
        self.shown = QCheckBox("Bundle on the sphere")
        self.shown.setObjectName("showBundle")
        bind(self.shown, self.s.sets, "shown")
        self.name = QLabel("No set yet: open a CSV or JSONL file, or write a template.")
        self.name.setObjectName("setName")
        self.name.setWordWrap(True)
        self.readout = QLabel("")
        self.readout.setObjectName("setReadout")
        self.readout.setWordWrap(True)

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        for w in (self.open_button, self.template_button, self.run_button, self.stop_button, self.patch_button,
                  self.heads_button):
            row.addWidget(w)
        row.addWidget(self.shown)
        row.addStretch(1)
        self.pages = QTabWidget()
        self.pages.setObjectName("setPages")
        self.pages.setDocumentMode(True)
        for widget, title in ((self.patch.plot, "Pairs: positions"), (self.heads.plot, "Pairs: heads"),
                              (self.steer, "Steering")):
            self.pages.addTab(widget, title)
        self.pages.setCurrentIndex(SET_PAGES.index(self.s.sets.page))
        plots = QHBoxLayout()
        for p in (self.lens.plot, self.dla.plot, self.pages):
            plots.addWidget(p, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "A claim about one prompt holds if it holds over many. Each prompt's path at its last token is drawn on "
            "the sphere (thin), with the median path bold; hover one to read its prompt. The plots show the set's "
            "spread: quartiles of the lens's difference, 95% intervals of each block's mean term."))
        lay.addLayout(row)
        lay.addWidget(self.name)
        lay.addLayout(plots, 1)
        lay.addWidget(self.readout)

    # ---- commands ----
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a prompt set", "", SET_FILES)
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> bool:
        """Read a set file; a bad one is a sentence in the message bar, and the set on
        screen stays."""
        try:
            prompt_set = read_prompt_set(path)
        except SetError as exc:
            self._say(str(exc))
            return False
        self.controller.choose_set(prompt_set)
        return True

    def edit_template(self) -> None:
        from spherescope.widgets.set_template import TemplateDialog

        dialog = TemplateDialog(self)
        self._dialog = dialog  # reachable while open (tests fill it in)
        dialog.finished.connect(lambda code: self._template_done(dialog, code))
        dialog.open()

    def _template_done(self, dialog, code: int) -> None:
        self._dialog = None
        if code and dialog.result_set is not None:
            self.controller.choose_set(dialog.result_set)

    def run_set(self) -> None:
        self.controller.run_set()

    def stop(self) -> None:
        self.controller.cancel_set()
        self.controller.cancel_set_patching()
        self.controller.cancel_set_steering()

    def patch_pairs(self) -> None:
        self.controller.run_set_patching(heads=False)
        self.s.sets.page = "positions"

    def patch_heads(self) -> None:
        self.controller.run_set_patching(heads=True)
        self.s.sets.page = "heads"

    def _say(self, text: str) -> None:
        if self.controller is not None:
            self.controller.notify(text, True)

    def figure(self):
        """The set's plots side by side, for a picture (the dock is a throwaway copy):
        the lens and what moved it, and the analysis tab shown once it has a result."""
        from spherescope.render.plots import composite

        sets = self.s.sets
        third = {"positions": (self.patch.plot, sets.patch is not None),
                 "heads": (self.heads.plot, sets.patch is not None and sets.patch.heads_matrix is not None),
                 "steer": (self.steer.plot.plot, sets.steer is not None)}[sets.page]
        plots = [self.lens.plot, self.dla.plot] + ([third[0]] if third[1] else [])
        return composite(self.theme.background, [[p.getPlotItem() for p in plots]])

    # ---- drawing ----
    def refresh(self) -> None:
        sets = self.s.sets
        src, summary = sets.source, sets.summary
        busy = sets.running or sets.patch_running or sets.steer_running
        self.run_button.setEnabled(src is not None and not sets.running)
        self.stop_button.setEnabled(busy)
        self.patch_button.setEnabled(src is not None and src.has_pairs and not busy)
        self.heads_button.setEnabled(src is not None and src.has_pairs and not busy)
        self.name.setText(self._describe_source(src))
        self.lens.show(summary, self.s.layer)
        self.dla.show(summary)
        pairs = src is not None and src.has_pairs
        self.patch.show(sets.patch, pairs, sets.patch_running)
        self._heads_text = self.heads.show_set(sets.patch, pairs, sets.patch_running)
        self.steer.refresh()
        self.readout.setText(self.describe())

    def _describe_source(self, src) -> str:
        if src is None:
            return "No set yet: open a CSV or JSONL file, or write a template."
        cols = [c for c, on in (("target", src.has_targets), ("contrast", all(r.contrast for r in src.rows)),
                                ("corrupt", src.has_pairs)) if on]
        with_cols = f" with {', '.join(cols)}" if cols else ", prompts only"
        return f"{src.name}: {counted(len(src), 'prompt')}{with_cols}. First: {src.rows[0].prompt!r}"

    def describe(self) -> str:
        sets = self.s.sets
        parts = [self._describe_summary()]
        g = sets.patch
        if g is not None:
            parts.append(f"Patching {counted(g.n, 'pair')}: the mean difference is {g.clean_diff_mean:+.2f} clean, "
                         f"{g.corrupt_diff_mean:+.2f} corrupt.")
            if g.heads_matrix is not None:
                parts.append(self._heads_text)
        elif sets.patch_running:
            parts.append("Patching the pairs…")
        if sets.steer is not None:
            parts.append(describe_steer(sets.steer))
        elif sets.steer_running:
            parts.append("Steering the set…")
        return " ".join(p for p in parts if p)

    def _describe_summary(self) -> str:
        sets = self.s.sets
        done, total = sets.done
        if sets.running:
            return f"Tracing… {done} of {total} prompts."
        s = sets.summary
        if s is None:
            return ""
        partial = f" (stopped: {done} of {total})" if done < total else ""
        if s.final_diff is None:
            return f"{counted(s.n, 'prompt')}{partial}: median |h| at the last layer {float(np.median(s.norms[:, -1])):.1f}."
        q25, _m, q75 = (float(v[-1]) for v in s.lens_quartiles())
        text = (f"{counted(s.n, 'prompt')}{partial}: the target wins in {100 * s.accuracy:.0f}%; mean logit "
                f"difference {s.final_diff_mean:+.2f} (quartiles {q25:+.2f} to {q75:+.2f}).")
        if s.has_attribution:
            terms = {f"block {i + 1}'s attention": v for i, v in enumerate(s.attn.mean(axis=0))}
            terms.update({f"block {i + 1}'s MLP": v for i, v in enumerate(s.mlp.mean(axis=0))})
            top = max(terms, key=lambda k: abs(terms[k]))
            text += f" Largest mean term: {top}, {terms[top]:+.2f}."
        if s.plane_angle is not None:
            a25, a50, a75 = np.percentile(s.plane_angle[:, -1], [25, 50, 75])
            text += (f" At the last layer, in each prompt's plane of its target and contrast, h is a median "
                     f"{a50:.0f}° from the target (quartiles {a25:.0f}° to {a75:.0f}°); the plane keeps a median "
                     f"{100 * np.median(s.plane_kept[:, -1]):.0f}% of |h|.")
        return text
