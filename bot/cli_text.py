"""The terminal's renderer: plain text, no markup and no escaping; control characters from outside are made harmless.

Slack's renderer (mrkdwn, with `&`, `<` and `>` escaped) is `bot.slack.blocks`; nothing here escapes for Slack.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.checks.finding import Finding
from storage import audit

if TYPE_CHECKING:  # bot.trace loads ipwhois: only `ibmi-warden trace` needs it
    from bot.trace import OwnerDescription


def owner_text(description: OwnerDescription) -> str:
    """An owner (`bot.trace.describe_owner`): "address: summary", then one "Label: value" line per fact."""
    return "\n".join(printable(line) for line in description.lines())


def format_findings(findings: Sequence[Finding], errors: dict[str, str]) -> str:
    lines: list[str] = []
    current = None
    for finding in findings:
        if (finding.system, finding.check) != current:
            current = (finding.system, finding.check)
            lines.append(f"\n{finding.system}  {finding.check}")
        lines.append(f"  {finding.severity.upper():8} {finding.title}")
        lines += [f"           {detail}" for detail in finding.details]
    for where, error in errors.items():
        lines.append(f"\n{where}  ERROR  {error}")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("critical", "warning", "info")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines.append(f"\n{len(findings)} finding{'s' if len(findings) != 1 else ''}" + (f" ({summary})" if summary else ""))
    return "\n".join(lines).lstrip("\n")


def format_audit(events: Sequence[audit.AuditEvent]) -> str:
    """One line per event: time, actor, action, system, subject, outcome, in aligned columns."""
    rows = [
        [
            printable(str(cell))
            for cell in (
                audit_time(event.at),
                event.actor,
                event.action,
                event.system or "-",
                event.subject or "-",
                event.outcome,
            )
        ]
        for event in events
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip()
        for row in rows
    )


def audit_time(at: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))
    except (TypeError, ValueError, OverflowError, OSError):  # a tampered row: show what is stored
        return repr(at)


def printable(text: str) -> str:
    """Text from outside (Slack users, registries), with line breaks and terminal control characters made harmless."""
    return "".join(ch if ch.isprintable() else (" " if ch in "\t\r\n" else repr(ch)[1:-1]) for ch in text)
