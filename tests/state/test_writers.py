"""Computed session fields have one writer, the controller: no widget, render module or
command assigns them (checked on the source, so a new dock or a new figure path cannot
quietly start writing one)."""

import ast
from pathlib import Path

import spherescope

from spherescope.state.features import FEATURES
from spherescope.state.session import Session

# Fields marked computed in the session and its features, and the trace's plain attributes.
COMPUTED = {name for cls in (Session, *FEATURES.values()) for name, f in cls.fields() if f.computed}
COMPUTED |= {"trace", "partial", "partial_norms", "lens_by_position", "lessons_by_position"}
PKG = Path(spherescope.__file__).parent


def _writes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                if isinstance(el, ast.Attribute) and el.attr in COMPUTED and not (
                        isinstance(el.value, ast.Name) and el.value.id == "self"):
                    found.append(f"{path.name}:{node.lineno} .{el.attr} =")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value in COMPUTED):
            found.append(f"{path.name}:{node.lineno} setattr(.., {node.args[1].value!r})")
    return found


def test_widgets_render_and_commands_never_write_computed_fields():
    files = [p for folder in ("widgets", "render", "commands") for p in sorted((PKG / folder).rglob("*.py"))]
    files += [PKG / "app.py", PKG / "api.py", PKG / "model_api.py"]
    writes = [w for p in files for w in _writes(p)]
    assert writes == []


def test_results_are_marked_and_choices_are_not():
    assert {"vocab", "attribution", "scores", "grid", "sweep", "traced"} <= COMPUTED
    assert not {"layer", "position", "plane_tokens", "style", "spec", "mode", "token"} & COMPUTED


def test_the_check_sees_a_write():
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write("def f(session):\n    session.vocab = None\n    setattr(session, 'busy', '')\n")
    assert len(_writes(Path(f.name))) == 2


def test_the_controller_does_write_them():
    writes = [w for p in sorted((PKG / "controller").glob("*.py")) for w in _writes(p)]
    assert writes, "the controller is where computed fields are written"
