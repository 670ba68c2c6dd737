"""The layer rules, read from the source with `ast`: handlers → bot services → checks → ibmi → nothing of ours.

Every import counts, including those inside functions; imports under `if TYPE_CHECKING:` count for the
layer rules (they still couple the code) but not for cycles (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
OURS = PACKAGES


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    type_checking_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = source_files()


def _resolve(name: str) -> str:
    """The module an imported name stands for: `bot.checks.finding` for `from bot.checks import finding`."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_in(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, type_checking: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from visit_one(statement, True)
                for statement in child.orelse:
                    yield from visit_one(statement, type_checking)
                continue
            yield from visit_one(child, type_checking)

    def visit_one(node: ast.AST, type_checking: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, type_checking)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                yield Import(module, f"{target}.{alias.name}", node.lineno, type_checking)
        yield from visit(node, type_checking)

    yield from visit(tree, False)


def our_imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        for item in _imports_in(module, path):
            if item.imported.split(".")[0] in OURS:
                resolved = _resolve(item.imported)
                if resolved:
                    found.append(Import(item.importer, resolved, item.line, item.type_checking_only))
    return found


ALL_IMPORTS = our_imports()


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


# What each layer may import of ours (its own modules always). Listed most specific first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bot.net", ()),
    ("bot.ibmi", ("bot.net",)),
    ("bot.checks", ("bot.ibmi", "bot.net")),
    ("storage", ()),
)


# The composition root builds every service and registers the Slack listeners on the Bolt app: it is the one
# module of bot/ that stands above handlers/.
COMPOSITION_ROOT = "bot.wiring"


def _allowed(importer: str, imported: str) -> bool:
    if importer == COMPOSITION_ROOT:
        return True
    for layer, may_import in LAYERS:
        if _within(importer, layer):
            return any(_within(imported, allowed) for allowed in (layer, *may_import))
    if _within(importer, "bot"):
        return not _within(imported, "handlers")
    return True  # handlers: the top


def test_the_scan_sees_the_code():
    assert "bot.cli" in MODULES and "handlers" in MODULES and "storage.database" in MODULES
    assert any(i.importer == "bot.cli" for i in ALL_IMPORTS)


@pytest.mark.parametrize("layer", [name for name, _ in LAYERS] + ["bot"])
def test_layer_imports_only_what_lies_below(layer: str):
    broken = {
        f"{i.importer} (line {i.line}) imports {i.imported}"
        for i in ALL_IMPORTS
        if _within(i.importer, layer) and not _allowed(i.importer, i.imported)
    }
    assert not broken, "\n".join(sorted(broken))


def test_checks_touch_neither_storage_nor_slack_nor_config():
    forbidden = ("storage", "bot.config", "slack_sdk", "slack_bolt")
    broken = []
    for module, path in MODULES.items():
        if not _within(module, "bot.checks"):
            continue
        for item in _imports_in(module, path):
            if any(_within(item.imported, name) for name in forbidden):
                broken.append(f"{module} (line {item.line}) imports {item.imported}")
    assert not broken, "\n".join(broken)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles_even_through_function_level_imports():
    edges: dict[str, set[str]] = {}
    for item in ALL_IMPORTS:
        if not item.type_checking_only and item.importer != item.imported:
            # a package's __init__ importing its own submodules is how packages are built, not a cycle
            if _within(item.imported, item.importer) and MODULES[item.importer].name == "__init__.py":
                continue
            edges.setdefault(item.importer, set()).add(item.imported)
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
