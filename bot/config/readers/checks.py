"""The [checks.<id>] tables and a system's [systems.checks.<id>] overrides.

The ids a table may name live here alone (`known_check_ids`); each check validates its own options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.checks import registry
from bot.config.model import MIN_CHECK_INTERVAL, CheckOverride, CheckSettings, merge_check
from bot.config.validation import Section, unknown_key_text

# ---------------------------------------------------------------------------------------------
# What the checks themselves define (bot/checks/registry.py): which ids exist, which options each accepts.


def known_check_ids() -> tuple[str, ...]:
    """The ids a [checks.<id>] table may name; a table for any other id is an error, not a silent no-op."""
    return registry.check_ids()


def _validate_options(section: Section, check_id: str, options: Mapping[str, Any]) -> None:
    check = registry.check(check_id)
    accepted = ["enabled", "interval", *check.option_names] if check.settings_type else []
    for key in options:
        if key not in accepted:
            section.problem(key, unknown_key_text(key, accepted or ["enabled", "interval"], "key"))
    known = {k: v for k, v in options.items() if k in accepted}
    try:
        check.build_settings(known)
    except (ValueError, TypeError) as error:
        error_key = getattr(error, "key", None) or getattr(error, "argument", None)
        text = str(error)
        if error_key and text.startswith(f"{error_key}: "):
            section.problem(error_key, text[len(error_key) + 2 :])
        elif match := re.match(r"([a-z_]+(?:\[\d+\])?): ", text):
            section.problems.add(f"{section.path}.{match[1]}", text[match.end() :])
        else:
            section.problems.add(section.path, text)


# ---------------------------------------------------------------------------------------------
# Reading the tables


def _check_tables(section: Section) -> dict[str, Section]:
    """The [<path>.checks.<id>] tables of a section, each with its known id."""
    if not section.has("checks"):
        return {}
    table = section.typed("checks", dict, "a table", "[checks.<id>] tables")
    if table is None:
        return {}
    known = known_check_ids()
    checks_section = Section(section.problems, section.key("checks"), table, known, noun="check")
    tables = {}
    for check_id in table:
        if check_id in known and isinstance(table[check_id], dict):
            tables[check_id] = Section(
                section.problems, checks_section.key(check_id), table[check_id], tuple(table[check_id])
            )
        elif check_id in known:
            checks_section.typed(check_id, dict, "a table", f"[{checks_section.key(check_id)}]")
    return tables


def _read_check_table(section: Section, check_id: str) -> CheckOverride:
    enabled = section.boolean("enabled")
    interval = section.duration("interval", 0.0, MIN_CHECK_INTERVAL) if section.has("interval") else 0.0
    options = {key: value for key, value in section.data.items() if key not in ("enabled", "interval")}
    for key in registry.check(check_id).duration_option_names:
        if key in options:
            options[key] = section.optional_duration(key, 0.0, exclusive=True)
            if options[key] is None:
                del options[key]  # wrong: the problem is recorded, and the check is not asked again
    _validate_options(section, check_id, options)
    return CheckOverride(enabled=enabled, interval=interval or None, options=options)


def read_checks(root: Section) -> dict[str, CheckSettings]:
    checks: dict[str, CheckSettings] = {}
    for check_id, section in _check_tables(root).items():
        override = _read_check_table(section, check_id)
        checks[check_id] = merge_check(CheckSettings(), override)
    return checks


def read_check_overrides(system: Section) -> dict[str, CheckOverride]:
    return {check_id: _read_check_table(section, check_id) for check_id, section in _check_tables(system).items()}
