"""Which checks exist: found by walking a package for sub-packages that declare a `CHECK`.

`bot.checks` is always walked; `add_package` walks another one the same way (a plug-in folder, or a
test's example check). Everything that needs the list of checks (configuration, the scheduler,
alert buttons, owner look-ups, runbook links, the command line) asks here.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from bot.checks.definition import CheckDefinition

BUILT_IN_PACKAGE = "bot.checks"

_lock = threading.Lock()
_packages: list[str] = [BUILT_IN_PACKAGE]
_cache: tuple[CheckDefinition, ...] | None = None


class RegistryError(Exception):
    """Two checks claim one id, or two different sources one name."""


def discover(package: str) -> tuple[CheckDefinition, ...]:
    """The checks declared by the sub-packages of `package` (a module attribute `CHECK`), in their order."""
    parent = importlib.import_module(package)
    found = []
    for info in pkgutil.iter_modules(parent.__path__, prefix=f"{package}."):
        if not info.ispkg:
            continue
        definition = getattr(importlib.import_module(info.name), "CHECK", None)
        if isinstance(definition, CheckDefinition):
            found.append(definition)
    return _ordered(found)


def _ordered(checks: list[CheckDefinition]) -> tuple[CheckDefinition, ...]:
    ids: set[str] = set()
    sources: dict[str, object] = {}
    for check in checks:
        if check.id in ids:
            raise RegistryError(f"two checks have the id {check.id!r}")
        ids.add(check.id)
        for source in check.sources:
            if sources.setdefault(source.name, source.read) is not source.read:
                raise RegistryError(f"{check.id}: another source is already named {source.name!r}")
    return tuple(sorted(checks, key=lambda c: (c.order, c.id)))


def add_package(package: str) -> None:
    """Also find checks in `package`, from now on."""
    global _cache
    with _lock:
        if package not in _packages:
            _packages.append(package)
            _cache = None


def remove_package(package: str) -> None:
    """Forget the checks of a package added with `add_package`."""
    global _cache
    with _lock:
        if package != BUILT_IN_PACKAGE and package in _packages:
            _packages.remove(package)
            _cache = None


def checks() -> tuple[CheckDefinition, ...]:
    """Every known check, in a stable order (by `order`, then id)."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = _ordered([check for package in _packages for check in discover(package)])
        return _cache


def check_ids() -> tuple[str, ...]:
    return tuple(check.id for check in checks())


def check(check_id: str) -> CheckDefinition:
    """The check with this id; KeyError when there is none."""
    for definition in checks():
        if definition.id == check_id:
            return definition
    raise KeyError(check_id)


def is_check(check_id: str) -> bool:
    return check_id in check_ids()


def about_address(check_id: str) -> bool:
    """Whether the findings of `check_id` name a remote address (False for anything that is not a check)."""
    return any(definition.id == check_id and definition.about_address for definition in checks())


def runbook_path(check_id: str) -> str | None:
    """The check's runbook relative to its checks package, `<package>/runbook.md`; None for a non-check."""
    for definition in checks():
        if definition.id == check_id:
            return f"{definition.package}/runbook.md"
    return None
