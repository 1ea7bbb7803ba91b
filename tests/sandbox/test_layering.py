"""The package's boundaries, read from the source: what sandbox/ imports, and what it exports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sandbox

PACKAGE = Path(sandbox.__file__).resolve().parent
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN = ("service", "executor", "app")
"""Packages above the sandbox: it is generic and knows nothing of them."""


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(level, module, names) of every import statement in ``path``, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or "", [alias.name for alias in node.names]))
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_the_sandbox_imports_nothing_from_the_service_or_the_engine(path: Path) -> None:
    above = [module for level, module, _ in _imports(path) if level == 0 and module.split(".")[0] in FORBIDDEN]
    assert above == [], f"{path.name} imports {above}: sandbox/ must not depend on the packages that use it"


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    private = [
        f"{module}.{name}"
        for level, module, names in _imports(path)
        if level > 0 or module.startswith("sandbox")
        for name in names
        if name.startswith("_")
    ]
    assert private == [], f"{path.name} imports private names {private}"


def test_the_public_surface_is_sorted_and_complete() -> None:
    assert sandbox.__all__ == sorted(sandbox.__all__)
    assert all(hasattr(sandbox, name) for name in sandbox.__all__)


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_every_name_a_module_exports_exists(path: Path) -> None:
    import importlib

    module = importlib.import_module(f"sandbox.{path.stem}") if path.stem != "__main__" else None
    names = getattr(module, "__all__", [])
    assert [name for name in names if not hasattr(module, name)] == []
