"""bot.ibmi stands alone: it imports nothing of the bot outside itself, and its modules import each other
without a cycle. Every import statement counts, including those inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "bot" / "ibmi"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _file_imports(path: Path, known: set[str]) -> Iterator[tuple[int, str]]:
    return _imports(path.read_text(), _module_name(path), path.name == "__init__.py", known)


def _imports(source: str, name: str, is_package: bool, known: set[str]) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in a module's source; `from package import submodule` names the
    submodule, relative imports are resolved against the module's package."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield node.lineno, submodule if submodule in known else base


def test_bot_ibmi_imports_nothing_of_the_bot_outside_itself_but_the_address_policy():
    modules = _modules()
    outside = [
        f"{path.relative_to(REPO)}:{line} imports {target}"
        for path in modules.values()
        for line, target in _file_imports(path, set(modules))
        if (target == "bot" or target.startswith("bot.")) and not (target + ".").startswith(("bot.ibmi.", "bot.net."))
    ]
    assert outside == []


def test_bot_ibmi_has_no_import_cycle():
    modules = _modules()
    graph = {
        name: {target for _, target in _file_imports(path, set(modules)) if target in modules and target != name}
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_scan_sees_function_level_and_relative_imports():
    source = (
        "import sqlite3\n\ndef f():\n    from bot.config import SystemSettings\n    from ..errors import IbmiError\n"
    )
    found = list(_imports(source, "bot.ibmi.drivers.odbc", False, set()))
    assert found == [(1, "sqlite3"), (4, "bot.config"), (5, "bot.ibmi.errors")]
    known = {"bot.ibmi.drivers.demo.seed"}
    assert list(_imports("from bot.ibmi.drivers.demo import seed", "x", False, known)) == [(1, known.pop())]
