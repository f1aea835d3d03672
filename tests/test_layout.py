"""The rules of the house, checked on the source: one-way imports, short functions, thin command lines."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("genocore", "genomodel", "stats", "analyses")
#: what each package may import from the suite
ALLOWED = {"genocore": {"genocore"}, "genomodel": {"genocore", "genomodel"}, "stats": {"genocore", "stats"},
           "analyses": set(PACKAGES)}


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package):
    bad = {str(p.relative_to(ROOT)): sorted(_imported(t) - ALLOWED[package]) for p, t in _modules(package)}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_longer_than_80_lines(package):
    long = [f"{p.relative_to(ROOT)}:{fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
            for p, tree in _modules(package) for fn in ast.walk(tree)
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            and fn.end_lineno - fn.lineno + 1 > 80]
    assert not long


def test_command_lines_are_thin():
    clis = [*sorted((ROOT / "genomodel").glob("cli*.py")), *sorted((ROOT / "stats" / "cli").glob("*.py")),
            ROOT / "analyses" / "commands.py"]
    assert {str(p.relative_to(ROOT)): n for p in clis if (n := len(p.read_text().splitlines())) > 300} == {}
