"""Keeps the SphereView in step with the session: projects with core.projection, pushes arrays.

The cloud is re-projected only when the basis or its style changes; a layer change
moves the marker and relabels, which is what keeps scrubbing within a frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from spherescope.core.lessons import probs_at_alpha
from spherescope.core.projection import Projected, project
from spherescope.render.annotations import second_line, steer_line
from spherescope.render.sphere_view import SphereScene
from spherescope.render.styles import STYLES
from spherescope.state.session import Session

LABELLED_TOP = 5
MIN_LABEL_PROB = 0.01  # lens tokens less likely than this keep their dot but lose their label
MAX_PROMPT_LABELS = 60  # unique prompt tokens labelled; a long prompt's rest are left out


class ViewBinding:
    def __init__(self, session: Session, view: SphereScene) -> None:
        """Draws the session into `view` (any SphereScene: the window's or an off-screen
        one) and keeps it in step."""
        self.s = session
        self.view = view
        self._cloud: Projected | None = None
        self._cloud_basis = None
        self._cloud_key = (True, "unembedding")
        self._len_cmap = pg.colormap.get("viridis")
        self._highlight = -1
        self.alpha_applied = True  # False while exporting, unless the export asks for α
        self.show_overlay = True  # the kept fraction and the legend in the view's corner
        s = session
        s.basis_changed.connect(self.on_basis, owner=view)
        s.frame_added.connect(lambda *_: self.on_trajectory(), owner=view)
        s.trace_started.connect(self.on_trajectory, owner=view)
        s.trace_finished.connect(self.on_trajectory, owner=view)
        s.position_changed.connect(lambda *_: self.on_trajectory(), owner=view)
        s.layer_changed.connect(self.on_layer, owner=view)
        s.lens_changed.connect(self.on_labels, owner=view)
        s.lessons_changed.connect(lambda: self.s.alpha != 1.0 and self.on_labels(), owner=view)
        s.appearance.show_cloud_changed.connect(view.set_cloud_visible, owner=view)
        s.appearance.color_by_length_changed.connect(lambda *_: self.on_cloud_colors(), owner=view)
        s.appearance.length_as_changed.connect(lambda *_: self.on_trajectory(), owner=view)
        s.appearance.show_labels_changed.connect(lambda *_: self.on_labels(), owner=view)
        s.appearance.prompt_labels_changed.connect(lambda *_: self.on_labels(), owner=view)
        s.plane_tokens_changed.connect(lambda *_: self.on_labels(), owner=view)
        s.sublayers_changed.connect(lambda *_: self.on_sublayers(), owner=view)
        s.comparison.trace_changed.connect(lambda *_: (self.on_compare(), self.on_overlay()), owner=view)
        s.steering.traced_changed.connect(lambda *_: self.on_overlay(), owner=view)
        s.show_sublayers_changed.connect(lambda *_: (self.on_sublayers(), self.on_overlay()), owner=view)
        s.highlight_changed.connect(self.on_highlight, owner=view)
        s.heads.view_changed.connect(lambda *_: self.on_labels(), owner=view)
        s.appearance.style_changed.connect(self.on_style, owner=view)
        s.alpha_changed.connect(lambda *_: self.on_alpha(), owner=view)
        s.center_cloud_changed.connect(lambda *_: self.on_basis(), owner=view)
        s.cloud_space_changed.connect(lambda *_: self.on_basis(), owner=view)
        s.vocab_changed.connect(lambda v: self.on_basis() if v is None else None, owner=view)
        for sig in (s.sets.traces_changed, s.sets.shown_changed):
            sig.connect(lambda *_: (self.on_bundle(), self.on_overlay()), owner=view)
        s.sets.hovered_changed.connect(lambda *_: self.on_bundle_hover(), owner=view)

    def on_style(self, name: str) -> None:
        self.view.apply_style(STYLES.get(name, STYLES["dark"]))
        if self.s.basis is not None:
            self.view.set_axis_labels(self.axis_names())
        self.on_cloud_colors()
        self.on_trajectory()

    def axis_names(self) -> tuple[str, ...]:
        """The basis's axis names, token axes quoted as the labels quote tokens."""
        b = self.s.basis
        if b is None:
            return ()
        n_tokens = len(b.tokens) if b.kind == "token-plane" else 0
        return tuple(_show(name) if k < n_tokens else name for k, name in enumerate(b.labels))

    # ---- cloud ----
    def on_basis(self) -> None:
        basis, vocab = self.s.basis, self.s.vocab
        if basis is None or vocab is None:
            # Forgotten with the cloud: the same model coming back from memory brings the
            # very same basis object, which must be drawn again, not skipped as current.
            self._cloud, self._cloud_basis = None, None
            self.view.set_cloud(np.zeros((1, 3), np.float32), np.zeros((1, 4), np.float32))
        elif basis is not self._cloud_basis or self._cloud_key != (self.s.center_cloud, self.s.cloud_space):
            self._cloud_key = (self.s.center_cloud, self.s.cloud_space)
            self._cloud = self.s.cloud_projection()
            self._cloud_basis = basis
            self.view.set_axis_labels(self.axis_names())
            self.on_cloud_colors()
        self.on_trajectory()
        self.on_bundle()

    def on_cloud_colors(self) -> None:
        if self._cloud is None or self.s.vocab is None:
            return
        n = len(self._cloud.points)
        st = self.view.style
        if self.s.appearance.color_by_length:
            lengths = self.s.vocab.lengths
            ranks = np.argsort(np.argsort(lengths)) / max(n - 1, 1)  # percentile: outliers don't wash out the scale
            colors = self._len_cmap.map(ranks, mode="float").astype(np.float32)
        else:
            colors = np.empty((n, 4), np.float32)
            colors[:, :3] = st.cloud
        kept = self._cloud.kept
        colors[:, 3] = st.cloud_alpha * (0.25 + 0.75 * kept / max(float(kept.max()), 1e-6))
        self.view.set_cloud(self._cloud.points, np.ascontiguousarray(colors))
        self.view.set_cloud_visible(self.s.appearance.show_cloud)

    # ---- trajectory ----
    def on_trajectory(self) -> None:
        proj = self.s.projected_path()
        total = self.s.num_layers or 1
        if proj is None:
            self.view.set_trajectory(np.zeros((0, 3), np.float32), np.zeros(0), np.zeros(0), total)
        else:
            self.view.set_trajectory(proj.points, proj.lengths, proj.kept, total, self.s.appearance.length_as)
        self.on_compare()
        self.on_sublayers()
        self.on_layer(self.s.layer)

    def on_bundle(self) -> None:
        """A prompt set's paths in the same basis, with their median (none: hidden)."""
        from spherescope.core.set_results import median_path

        sets, basis = self.s.sets, self.s.basis
        traces = sets.traces
        if not sets.shown or not traces or basis is None or traces[0].path.shape[-1] != basis.axes.shape[1]:
            self.view.set_bundle(np.zeros((0, 1, 3), np.float32), np.zeros((0, 3), np.float32))
            self.on_bundle_hover()
            return
        paths = np.stack([t.path for t in traces])
        n, layers, d = paths.shape
        points = project(paths.reshape(-1, d), basis).points.reshape(n, layers, 3)
        median = project(median_path(paths), basis).points
        self.view.set_bundle(points, median, np.array([t.correct is False for t in traces]))
        self.on_bundle_hover()

    def on_bundle_hover(self) -> None:
        """The prompt pointed at: its path drawn out, its text beside its dot."""
        from spherescope.core.text import shortened

        sets = self.s.sets
        k = sets.hovered if sets.shown else -1
        items = self.view.bundle
        if not 0 <= k < len(items.points) or k >= len(sets.traces):
            self.view.set_bundle_hovered(-1)
            self.view.set_labels([], "bundle")
            return
        self.view.set_bundle_hovered(k)
        t = sets.traces[k]
        text = shortened(t.prompt, 56)
        if t.final_diff is not None and t.target is not None and self.s.vocab is not None:
            text += f" → {_show(self.s.vocab.texts[t.target])} {t.final_diff:+.2f}"
        rgba = tuple(int(255 * c) for c in (*items.colors[k][:3], 1.0))
        self.view.set_labels([(items.current_dots()[k], text, rgba)], "bundle")

    def on_compare(self) -> None:
        """The second path (a second prompt or a patched run) in the same basis."""
        path, basis = self.s.compare_path(), self.s.basis
        if path is None or basis is None:
            self.view.set_compare(np.zeros((0, 3), np.float32), np.zeros(0), np.zeros(0), 1)
            return
        p = project(path, basis)
        self.view.set_compare(p.points, p.lengths, p.kept, self.s.num_layers or len(path) - 1, self.s.appearance.length_as)

    def on_sublayers(self) -> None:
        """Each block's attention and MLP writes as arcs on the sphere (sublayers shown):
        sequential blocks go from the block's input to the point after attention, then on
        to its output; parallel blocks draw both writes from the block's input."""
        s, items = self.s, self.view.trajectory
        sub, path, basis = s.sublayers, s.path(), s.basis
        k = None if sub is None else sub.index(s.position if s.position >= 0 else len(s.tokens) - 1)
        if not s.show_sublayers or k is None or path is None or basis is None or len(path) != sub.attn.shape[0] + 1:
            items.set_writes(None)
            return
        h_in, attn, mlp = path[:-1], sub.attn[:, k], sub.mlp[:, k]
        after_attn = h_in + attn
        mlp_from = h_in if sub.parallel else after_attn
        mlp_to = h_in + mlp if sub.parallel else path[1:]
        n = len(h_in)
        p = project(np.concatenate([h_in, after_attn, mlp_from, mlp_to]), basis)
        dirs, lens = p.points.reshape(4, n, 3), p.lengths.reshape(4, n)
        items.set_writes(
            (np.stack([dirs[0], dirs[1]], axis=1), np.stack([lens[0], lens[1]], axis=1)),
            (np.stack([dirs[2], dirs[3]], axis=1), np.stack([lens[2], lens[3]], axis=1)),
            None if sub.parallel else (dirs[1], lens[1]),
        )

    def on_layer(self, layer: int) -> None:
        self.view.set_current(layer)
        self.on_labels()
        self.on_overlay()
        if self.s.sets.hovered >= 0:
            self.on_bundle_hover()  # its label follows its dot

    def alpha(self) -> float:
        """The scale α the view shows: the session's, except in an export that did not ask for it."""
        return float(self.s.alpha) if self.alpha_applied else 1.0

    def on_alpha(self) -> None:
        self.view.set_marker_scale(self.alpha())
        self.on_labels()

    def overlay_lines(self) -> list[tuple[str, tuple, bool]]:
        """What the view keeps of the vector at this layer, and what opacity and node size mean."""
        proj = self.s.projected_path()
        layer = self.s.layer
        if proj is None or not 0 <= layer < len(proj.kept):
            return []
        st = self.view.style
        color = st.axis_label_color
        size = "node size" if self.s.appearance.length_as == "size" else "node radius"
        lines = [
            (f"Layer {layer}: this view keeps {100 * float(proj.kept[layer]):.0f}% of |h| = {float(proj.lengths[layer]):,.1f}",
             st.marker_label_color, True),
            (f"Opacity: share of |h| the view keeps · {size}: |h| (log scale)", color, False),
        ]
        if self.s.comparison.trace is not None:
            lines.append((f"Green to yellow: {second_line(self.s, with_prompt=False)}", color, False))
        if self.s.steering.traced is not None:
            line = steer_line(self.s)
            lines.append((line[:1].upper() + line[1:], color, False))
        sets = self.s.sets
        if sets.shown and sets.traces and len(self.view.bundle.points):
            name = sets.source.name if sets.source is not None else "the set"
            lines.append((f"Thin: {len(sets.traces)} prompts of {name} · bold: their median path", color, False))
        if self.s.show_sublayers and self.s.sublayers is not None:
            from spherescope.render.trajectory_items import TrajectoryItems as T

            a, m = (tuple(int(255 * c) for c in col) for col in (T.ATTN_COLOR, T.MLP_COLOR))
            lines.append(("Attention writes", a, False))
            lines.append(("MLP writes", m, False))
        return lines

    def on_overlay(self) -> None:
        self.view.labels.set_overlay(self.overlay_lines() if self.show_overlay else [])

    def token_point(self, token_id: int) -> np.ndarray | None:
        if self._cloud is None or not 0 <= token_id < len(self._cloud.points):
            return None
        return self._cloud.points[token_id]

    def on_labels(self) -> None:
        """Labels and dots on the sphere: the lens's top tokens (with their probability),
        the plane's tokens, a highlighted token, and the prompt's tokens (labelled, dots
        only, or hidden: session.appearance.prompt_labels). Only the lens's change with the layer;
        the others are made once per prompt, plane and style (_fixed_labels)."""
        groups: dict[str, list] = {"lens": [], "plane": [], "highlight": [], "head": [], "prompt": []}
        dots, dot_colors = [], []
        vocab, cloud, s = self.s.vocab, self._cloud, self.s
        if vocab is None or cloud is None:
            self.__dict__.pop("_fixed", None)  # nothing of an old model kept alive here
        else:
            st = self.view.style
            text = s.appearance.show_labels
            shown: set[int] = set()

            def add(group: str, i: int, label: str | None, rgba) -> None:
                pt = cloud.points[i]
                dots.append(pt)
                dot_colors.append(rgba)
                if text and label is not None:
                    groups[group].append((pt, label, rgba))
                shown.add(i)

            fixed = self._fixed_labels()
            for i, p in self.top_tokens():
                # Under 1% a label says "0%" and only crowds the ones that matter; the dot stays.
                add("lens", i, f"{_show(vocab.texts[i])} {100 * p:.0f}%" if p >= MIN_LABEL_PROB else None, st.label_color)
            for i, label, rgba in fixed["plane"]:
                if i not in shown:
                    add("plane", i, label, rgba)
            if 0 <= self._highlight < len(cloud.points):
                hl = (*st.marker_label_color[:3], 255)
                add("highlight", self._highlight, None if self._highlight in shown else _show(vocab.texts[self._highlight]), hl)
            head = self._head_write()
            if head is not None:
                pt, label = head
                rgba = (*st.marker_label_color[:3], 255)
                dots.append(pt)
                dot_colors.append(rgba)
                groups["head"].append((pt, label, rgba))
            for i, label, rgba in [e for e in fixed["prompt"] if e[0] not in shown][:MAX_PROMPT_LABELS]:
                add("prompt", i, label, rgba)
        colors = np.array(dot_colors, np.float32).reshape(-1, 4) / 255
        self.view.set_highlights(np.array(dots, np.float32).reshape(-1, 3), colors)
        for group, labels in groups.items():
            self.view.set_labels(labels, group)

    def _head_write(self):
        """(point, label) of the Heads view's head's write as a direction on the sphere,
        while that view is open; None otherwise."""
        hv, basis = self.s.heads.view, self.s.basis
        if hv is None or not self.s.heads.wanted or basis is None or hv.norm == 0:
            return None
        p = project(hv.write[None].astype(np.float32), basis)
        return p.points[0], f"head {hv.layer}.{hv.head} writes (|w| {hv.norm:.0f})"

    def _fixed_labels(self) -> dict[str, list]:
        """The plane's and the prompt's (token id, label, colour): the same at every layer."""
        s, vocab, cloud, st = self.s, self.s.vocab, self._cloud, self.view.style
        # The objects themselves, compared by identity (kept here, so no id is reused).
        objects = (vocab, cloud, s.tokens, st)
        values = (tuple(s.plane_tokens), s.basis_kind, s.appearance.prompt_labels)
        cached = self.__dict__.get("_fixed")
        if cached is not None and cached[1] == values and all(a is b for a, b in zip(cached[0], objects)):
            return cached[2]
        n = len(cloud.points)
        # In the token-plane basis the axes already name the plane's tokens.
        plane_ids = [int(i) for i in (s.plane_tokens if s.basis_kind != "token-plane" else ()) if 0 <= int(i) < n]
        plane = [(i, _show(vocab.texts[i]), st.axis_label_color) for i in dict.fromkeys(plane_ids)]
        prompt = []
        if s.appearance.prompt_labels != "hidden":
            for i in dict.fromkeys(tok.id for tok in s.tokens):
                if 0 <= i < n:
                    prompt.append((i, _show(vocab.texts[i]) if s.appearance.prompt_labels == "labels" else None,
                                   st.prompt_label_color))
        fixed = {"plane": plane, "prompt": prompt}
        self._fixed = (objects, values, fixed)
        return fixed

    def top_tokens(self) -> list[tuple[int, float]]:
        """The lens's top tokens at this layer with their probabilities, at the scale α
        the view shows (α rescales the logits, so the probabilities move)."""
        lens = self.s.current_lens()
        if lens is None:
            return []
        a = self.alpha()
        lesson = self.s.current_lesson() if a != 1.0 else None
        if lesson is not None:
            ids, probs = probs_at_alpha(lesson.logits, lesson.bias, a, LABELLED_TOP)
            return [(int(i), float(p)) for i, p in zip(ids, probs)]
        return [(int(i), float(p)) for i, p in zip(lens.ids[:LABELLED_TOP], lens.probs[:LABELLED_TOP])]

    def on_highlight(self, token_id: int) -> None:
        self._highlight = int(token_id)
        self.on_labels()


def _show(text: str) -> str:
    """Label text: keep the article's quoting so a leading space is visible; a token
    that is only whitespace shows its characters (' ' alone reads as nothing)."""
    if text.strip() == "":
        from spherescope.core.text import visible

        return f"'{visible(text)}'"
    body = text.replace("\n", "\\n")
    return f"'{body}'"
