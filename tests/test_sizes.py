"""Modules and functions small enough to hold in one's head: no module over 400 lines,
no function over 60 (checked on the source, so a growing one is split when it grows)."""

import ast
from pathlib import Path

import spherescope

PKG = Path(spherescope.__file__).parent
MAX_MODULE, MAX_FUNCTION = 400, 60


def _sources():
    return sorted(PKG.rglob("*.py"))


def test_no_module_over_400_lines():
    big = {str(p.relative_to(PKG)): n for p in _sources() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE}
    assert big == {}


def test_no_function_over_60_lines():
    long = []
    for p in _sources():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION:
                    long.append(f"{p.relative_to(PKG)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []
