"""The package's layers import only downward: the allowed directions, checked on the source.

Every ``import`` of this package inside a subpackage (at module level or inside a function) must
name the subpackage itself or one it may import. The root (``__init__``, ``__main__`` and the
deprecated paths) may import anything; inside a subpackage, the root is imported only for
``__version__`` (a constant that imports nothing).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import langchain_perceived_error

PACKAGE = "langchain_perceived_error"
ROOT = Path(langchain_perceived_error.__file__).parent

# Each layer and the layers below it that it may import (the order of the flow, bottom first).
ALLOWED: dict[str, set[str]] = {
    "redaction": set(),
    "transport": set(),
    "core": {"redaction"},
    "rules": {"core"},
    "judge": {"core", "rules", "redaction", "transport"},
    "evaluation": {"judge", "core"},
    "online": {"evaluation", "judge", "core", "redaction", "transport"},
    "datasets": {"online", "evaluation", "judge", "rules", "core", "redaction", "transport"},
    "fireworks": {"datasets", "judge", "core", "redaction", "transport"},
    "bench": {"fireworks", "datasets", "judge", "rules", "core", "redaction", "transport"},
    "cli": {
        "bench",
        "fireworks",
        "datasets",
        "online",
        "evaluation",
        "judge",
        "rules",
        "core",
        "redaction",
        "transport",
    },
}


def _imported(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every import of this package in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module
                base = module.split(".")[: -node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name == PACKAGE and [alias.name for alias in node.names] == ["__version__"]:
                continue
            found.append((node.lineno, name))
    return [(line, name) for line, name in found if name.split(".")[0] == PACKAGE]


def _layer_violations() -> list[str]:
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) == 1:
            continue  # the root: __init__, __main__ and deprecated paths
        layer = parts[0]
        module = ".".join([PACKAGE, *parts])
        for line, name in _imported(ast.parse(path.read_text()), module):
            target = name.split(".")[1] if name.count(".") else ""
            if target != layer and target not in ALLOWED[layer]:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return problems


def test_every_subpackage_has_a_layer():
    subpackages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert subpackages == set(ALLOWED)


def test_imports_follow_the_allowed_directions():
    assert _layer_violations() == []


def test_allowed_directions_have_no_cycle():
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            below == goal or (below not in seen and reaches(below, goal, seen | {below}))
            for below in ALLOWED[start]
        )

    assert [layer for layer in ALLOWED if reaches(layer, layer)] == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / PACKAGE
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "__init__.py").write_text("")
    (fake / "core" / "up.py").write_text(
        "def f():\n    from langchain_perceived_error.judge.graph import build_judge_graph\n"
    )
    for layer in ALLOWED:
        if layer != "core":
            (fake / layer).mkdir()
            (fake / layer / "__init__.py").write_text("")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert _layer_violations() == ["core/up.py:2 imports langchain_perceived_error.judge.graph"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("evaluators", "evaluation.evaluators"),
        ("graph", "judge.graph"),
        ("transcript", "core.transcript"),
    ],
)
def test_old_paths_still_import_with_a_deprecation_warning(old, new):
    import importlib
    import sys

    sys.modules.pop(f"{PACKAGE}.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"{PACKAGE}.{old} moved to {PACKAGE}.{new}"):
        moved = importlib.import_module(f"{PACKAGE}.{old}")
    assert moved is importlib.import_module(f"{PACKAGE}.{new}")


def _may_import(layer: str) -> set[str]:
    """The layers a subpackage's docstring says it may import (its ``May import:`` paragraph)."""
    doc = ast.get_docstring(ast.parse((ROOT / layer / "__init__.py").read_text("utf-8"))) or ""
    _, found, rest = doc.partition("May import:")
    assert found, f"{layer}/__init__.py has no 'May import:' paragraph"
    paragraph = rest.split("\n\n")[0].strip()
    if paragraph.startswith("third-party libraries only"):
        return set()
    return set(re.findall(rf":mod:`(?:\.\.|{PACKAGE}\.)(\w+)`", paragraph))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_docstring_names_what_its_layer_may_import(layer: str):
    assert _may_import(layer) == ALLOWED[layer]


@pytest.mark.parametrize("layer", sorted(set(ALLOWED) - {"cli"}))  # cli: one module per command
def test_each_docstring_names_every_module_of_its_layer(layer: str):
    doc = ast.get_docstring(ast.parse((ROOT / layer / "__init__.py").read_text("utf-8"))) or ""
    modules = {path.stem for path in (ROOT / layer).glob("*.py")} - {"__init__"}
    assert {name for name in modules if not re.search(rf"[.`]{name}`", doc)} == set()


def _private_imports(source: str) -> list[str]:
    """``from a._b import x`` or ``import a._b`` of another package (13.4: public APIs only)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        found += [
            f"{node.lineno}: {name}"
            for name in names
            if not name.startswith((PACKAGE, "__future__"))
            and any(p.startswith("_") for p in name.split("."))
        ]
    return found


def test_no_private_module_of_another_package_is_imported():
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted(ROOT.rglob("*.py"))
        if (hits := _private_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}
    assert _private_imports("from langchain_core._api import X\nimport a._b") == [
        "1: langchain_core._api",
        "2: a._b",
    ]  # the check itself finds both forms
