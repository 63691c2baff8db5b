"""SVG that every reader draws the same: strokes without SVG 1.2's non-scaling-stroke.

Qt writes a plot's lines in data coordinates under a group transform and marks their
strokes `vector-effect="non-scaling-stroke"` (pyqtgraph's pens are cosmetic: a width
in pixels). Browsers honour that; ImageMagick and other SVG 1.1 readers do not, and
scale the stroke by the data transform (a 2-pixel line became a giant band). Here the
transform is baked into the coordinates of every path and polyline, so the stroke
widths mean output pixels and no vector-effect is needed.
"""

from __future__ import annotations

import math
import re
import xml.dom.minidom as minidom

_MATRIX = re.compile(r"matrix\(\s*([^)]*)\)")
_TOKEN = re.compile(r"([A-Za-z])|(-?[\d.]+(?:e[-+]?\d+)?)\s*,\s*(-?[\d.]+(?:e[-+]?\d+)?)")
_BAKEABLE = ("path", "polyline", "polygon", "rect")


def _matrix(text: str):
    m = _MATRIX.search(text or "")
    if m is None:
        return None
    vals = [float(v) for v in re.split(r"[\s,]+", m.group(1).strip()) if v]
    return vals if len(vals) == 6 else None


def _apply(mat, x: float, y: float, linear_only: bool = False) -> tuple[float, float]:
    a, b, c, d, e, f = mat
    if linear_only:
        return a * x + c * y, b * x + d * y
    return a * x + c * y + e, b * x + d * y + f


def _fmt(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _bake_path(d: str, mat) -> str:
    out, relative = [], False
    for cmd, x, y in _TOKEN.findall(d):
        if cmd:
            relative = cmd.islower()
            out.append(cmd)
        else:
            px, py = _apply(mat, float(x), float(y), linear_only=relative)
            out.append(f"{_fmt(px)},{_fmt(py)}")
    # Commands and their pairs are written as Qt writes them: "M0,0 L1,1 Z".
    text = ""
    for tok in out:
        text += tok if tok.isalpha() and len(tok) == 1 else tok + " "
    return text.strip()


def _bake_points(points: str, mat) -> str:
    pairs = re.findall(r"(-?[\d.]+(?:e[-+]?\d+)?)\s*,\s*(-?[\d.]+(?:e[-+]?\d+)?)", points)
    return " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in (_apply(mat, float(x), float(y)) for x, y in pairs))


def bake_cosmetic_strokes(svg: bytes) -> bytes:
    dom = minidom.parseString(svg)
    for group in list(dom.getElementsByTagName("g")):
        mat = _matrix(group.getAttribute("transform"))
        if mat is None:
            continue
        children = [c for c in group.childNodes if c.nodeType == c.ELEMENT_NODE]
        bake = [c for c in children if c.tagName in _BAKEABLE]
        if not bake:
            continue
        scale = math.sqrt(abs(mat[0] * mat[3] - mat[1] * mat[2]))
        for el in bake:
            if el.tagName == "rect":  # a rectangle under a rotation or shear is a path
                x, y = float(el.getAttribute("x") or 0), float(el.getAttribute("y") or 0)
                w, h = float(el.getAttribute("width") or 0), float(el.getAttribute("height") or 0)
                path = dom.createElement("path")
                for name, value in el.attributes.items():
                    if name not in ("x", "y", "width", "height"):
                        path.setAttribute(name, value)
                path.setAttribute("d", f"M{x},{y} L{x + w},{y} L{x + w},{y + h} L{x},{y + h} Z")
                group.replaceChild(path, el)
                bake[bake.index(el)] = el = path
            if el.tagName == "path":
                el.setAttribute("d", _bake_path(el.getAttribute("d"), mat))
            else:
                el.setAttribute("points", _bake_points(el.getAttribute("points"), mat))
            if el.getAttribute("vector-effect") == "non-scaling-stroke":
                el.removeAttribute("vector-effect")
            elif group.getAttribute("stroke-width") and group.getAttribute("stroke") not in ("", "none"):
                # A stroke in user units: the baked coordinates are output pixels now.
                el.setAttribute("stroke-width", _fmt(float(group.getAttribute("stroke-width")) * scale))
        if len(bake) == len(children):
            group.removeAttribute("transform")
        else:
            # Text or images stay under the transform; the baked shapes move to a twin
            # group without it, right after, so the drawing order barely changes.
            twin = group.cloneNode(False)
            twin.removeAttribute("transform")
            for el in bake:
                group.removeChild(el)
                twin.appendChild(el)
            group.parentNode.insertBefore(twin, group.nextSibling)
    root = dom.documentElement
    box = root.getAttribute("viewBox").split()
    if len(box) == 4:  # sizes in pixels, as the picture was asked for (Qt writes millimetres)
        root.setAttribute("width", box[2])
        root.setAttribute("height", box[3])
    root.setAttribute("version", "1.1")
    if root.hasAttribute("baseProfile"):
        root.removeAttribute("baseProfile")
    return dom.toxml(encoding="utf-8")
