"""The daily digest: one Slack message summarising the state of every system and the last 24 hours.

It holds, in this order: the open findings by system and check (counts by severity, the oldest few
named), what changed in the last 24 hours (new and resolved alerts), the change requests of the last
24 hours and their outcomes, and the silences that end in the next 24 hours.

The message stays one message whatever the size of the estate: every list is capped and the rest is
summarised ("and N more systems"), so it never exceeds Slack's 50 blocks, 3000 characters per section,
nor ``MAX_DIGEST_TEXT`` characters in all (Slack may refuse a long message with ``msg_blocks_too_long``;
that total is undocumented). Every text that comes from storage (system names, titles, summaries,
reasons) is escaped for mrkdwn.

It is longer than the other modules because reading the window from storage, the caps and the layout of the
one message are tuned together; splitting them would spread one budget over several files.
"""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.alerting.render import SEVERITY_MARK
from bot.alerting.routing import SEVERITY_RANK
from bot.alerting.silences import silence_matches
from bot.config import Config
from bot.slack.blocks import MAX_SECTION_TEXT, clip_mrkdwn, ibmi_mrkdwn, mention, to_dicts
from storage import outbox
from storage.alerts import AlertRecord, Silence, active_silences, alert, open_alerts
from storage.database import Storage

log = logging.getLogger(__name__)

HEADER = "ibmi-warden daily digest"
WINDOW = 86400.0  # seconds: "the last 24 hours" and "the next 24 hours"
SEVERITIES = ("critical", "warning", "info")  # most severe first

MAX_DIGEST_TEXT = 12_000  # characters across all blocks: a cautious cap, as Slack's total is undocumented
MAX_SYSTEMS = 20  # systems with a line of their own; the rest are summarised in one line
OPEN_TEXT_BUDGET = 5_000  # characters for the open findings by system
MAX_CHECKS_PER_SYSTEM = 5
OLDEST_PER_SYSTEM = 3
MAX_LISTED = 5  # new alerts, resolved alerts, change requests and silences named in each list
TITLE_CHARS = 80
NAME_CHARS = 40

REQUEST_MARK = {
    "pending": ":hourglass_flowing_sand:",
    "executing": ":gear:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "rejected": ":no_entry:",
    "expired": ":alarm_clock:",
    "unknown": ":warning:",
}
REQUEST_STATES = ("done", "failed", "rejected", "expired", "unknown", "executing", "pending")


@dataclass(frozen=True)
class _Change:
    """An alert that was new or resolved in the window."""

    system: str
    check: str
    severity: str
    title: str
    state: str
    first_seen: float
    resolved_at: float | None


@dataclass(frozen=True)
class _Request:
    id: str
    system: str
    action: str
    summary: str
    requester: str
    state: str
    created_at: float
    decided_at: float | None
    rejection_reason: str | None
    outcome: dict[str, Any] | None

    @property
    def latest(self) -> float:
        return max(self.created_at, self.decided_at or 0.0)


# --- public API -----------------------------------------------------------------------------------


def digest_channel(config: Config) -> str:
    return config.digest.channel or config.slack.alerts_channel


def build_digest(storage: Storage, config: Config, now: float) -> dict[str, Any]:
    """The digest as chat.postMessage arguments (``text`` and ``blocks``), read from storage at ``now``."""
    since = now - WINDOW
    with storage.lock:
        opened = open_alerts(storage)
        silences = active_silences(storage, now)
        new, resolved = _changes(storage, since, now)
        requests = _requests(storage, since, now)
        ending = [s for s in silences if s.expires_at <= now + WINDOW]
        ending_titles = {s.id: _silenced_title(storage, s) for s in ending[:MAX_LISTED]}
    silenced = sum(1 for a in opened if any(silence_matches(s, a.finding) for s in silences))
    systems = _by_system(opened)

    blocks: list[Block] = [
        HeaderBlock(text=HEADER),
        _context(f"The 24 hours to {_local_time(now, config.digest.timezone)}"),
        _section(_overview(opened, systems, silenced, new, resolved, requests, ending)),
        DividerBlock(),
    ]
    blocks += _open_blocks(systems, now)
    blocks.append(DividerBlock())
    blocks.append(_section(_changes_text(new, resolved, now)))
    blocks.append(DividerBlock())
    blocks.append(_section(_requests_text(requests, now)))
    blocks.append(DividerBlock())
    blocks.append(_section(_silences_text(ending, ending_titles, now)))
    return {"text": _fallback(opened, systems, new, resolved, requests, ending), "blocks": to_dicts(blocks)}


def post_digest(storage: Storage, config: Config, now: float) -> int:
    """Queue the digest in the outbox (the delivery worker posts it); return the outbox id."""
    channel = digest_channel(config)
    with storage.transaction():
        payload = build_digest(storage, config, now)
        item_id = outbox.enqueue(storage, channel, outbox.POST, payload, now=now)
    log.info("daily digest queued for %s (outbox item %s)", channel, item_id)
    return item_id


def post_scheduled_digest(
    storage: Storage, config: Config, clock: Callable[[], float], wake: Callable[[], None]
) -> None:
    """The scheduler's job: queue the digest, then wake the delivery worker."""
    post_digest(storage, config, clock())
    wake()


# --- reading storage ------------------------------------------------------------------------------


def _changes(storage: Storage, since: float, now: float) -> tuple[list[_Change], list[_Change]]:
    """Alerts first seen in the window, and alerts resolved in it; the most severe first, then the newest."""
    rows = storage.db.query(
        "SELECT system, check_id, severity, title, state, first_seen, resolved_at FROM alerts "
        "WHERE (first_seen > ? AND first_seen <= ?) OR (state = 'resolved' AND resolved_at > ? AND resolved_at <= ?)",
        [since, now, since, now],
    )
    changes = [
        _Change(
            row["system"],
            row["check_id"],
            row["severity"],
            row["title"],
            row["state"],
            row["first_seen"],
            row["resolved_at"],
        )
        for row in rows
    ]
    new = sorted(
        (c for c in changes if since < c.first_seen <= now),
        key=lambda c: (-SEVERITY_RANK.get(c.severity, -1), -c.first_seen, c.title),
    )
    resolved = sorted(
        (c for c in changes if c.state == "resolved" and c.resolved_at is not None and since < c.resolved_at <= now),
        key=lambda c: (-SEVERITY_RANK.get(c.severity, -1), -(c.resolved_at or 0.0), c.title),
    )
    return new, resolved


def _requests(storage: Storage, since: float, now: float) -> list[_Request]:
    """Change requests created or decided in the window, the latest activity first."""
    rows = storage.db.query(
        "SELECT id, system, action, summary, requester, state, created_at, decided_at, rejection_reason, "
        "outcome_json FROM change_requests "
        "WHERE (created_at > ? AND created_at <= ?) OR (decided_at > ? AND decided_at <= ?)",
        [since, now, since, now],
    )
    requests = [
        _Request(
            id=row["id"],
            system=row["system"],
            action=row["action"],
            summary=row["summary"],
            requester=row["requester"],
            state=row["state"],
            created_at=row["created_at"],
            decided_at=row["decided_at"],
            rejection_reason=row["rejection_reason"],
            outcome=_outcome(row["outcome_json"]),
        )
        for row in rows
    ]
    return sorted(requests, key=lambda r: (-r.latest, r.id))


def _outcome(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _silenced_title(storage: Storage, silence: Silence) -> str | None:
    """What a fingerprint silence silences, in words ("title on SYSTEM"); None for an address silence."""
    if silence.matcher_kind != "fingerprint":
        return None
    record = alert(storage, silence.matcher)
    return f"{_title(record.title)} on *{_clip(record.system, NAME_CHARS)}*" if record else None


# --- composing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _System:
    name: str
    alerts: tuple[AlertRecord, ...]  # open, oldest first

    @property
    def counts(self) -> Counter[str]:
        return Counter(a.severity for a in self.alerts)

    @property
    def order(self) -> tuple[int, ...]:
        counts = self.counts
        return tuple(-counts[s] for s in SEVERITIES)


def _by_system(opened: Iterable[AlertRecord]) -> list[_System]:
    """Systems with open alerts, the most severe first (most critical, then most warnings …), then by name."""
    grouped: dict[str, list[AlertRecord]] = defaultdict(list)
    for record in opened:
        grouped[record.system].append(record)
    systems = [
        _System(name, tuple(sorted(records, key=lambda a: (a.first_seen, a.title))))
        for name, records in grouped.items()
    ]
    return sorted(systems, key=lambda s: (s.order, s.name))


def _overview(
    opened: Sequence[AlertRecord],
    systems: Sequence[_System],
    silenced: int,
    new: Sequence[_Change],
    resolved: Sequence[_Change],
    requests: Sequence[_Request],
    ending: Sequence[Silence],
) -> str:
    if opened:
        where = f"on {_count(len(systems), 'system')}"
        quiet = f" ({silenced:,} silenced)" if silenced else ""
        severities = _severity_text(Counter(a.severity for a in opened))
        first = f"*Open findings:* {len(opened):,} {where} — {severities}{quiet}"
    else:
        first = "*Open findings:* none :white_check_mark:"
    second = (
        f"*Last 24 h:* {len(new):,} new · {len(resolved):,} resolved · "
        f"{_count(len(requests), 'change request')} · "
        f"{_count(len(ending), 'silence')} ending in the next 24 h"
    )
    return f"{first}\n{second}"


def _fallback(
    opened: Sequence[AlertRecord],
    systems: Sequence[_System],
    new: Sequence[_Change],
    resolved: Sequence[_Change],
    requests: Sequence[_Request],
    ending: Sequence[Silence],
) -> str:
    """The notification text: short and plain, whatever the size."""
    critical = sum(1 for a in opened if a.severity == "critical")
    return (
        f"{HEADER}: {_count(len(opened), 'open finding')} ({critical:,} critical) on "
        f"{_count(len(systems), 'system')}; in the last 24 h {len(new):,} new, {len(resolved):,} resolved, "
        f"{_count(len(requests), 'change request')}; {_count(len(ending), 'silence')} ending in the next 24 h"
    )


def _open_blocks(systems: Sequence[_System], now: float) -> list[Block]:
    """The open findings by system: a line per system within the budget, one line for the rest."""
    if not systems:
        return [_section("*Open findings by system*\nNo open findings.")]
    lines = ["*Open findings by system*"]
    used = len(lines[0])
    shown = 0
    for system in systems[:MAX_SYSTEMS]:
        line = _system_line(system, now)
        if shown and used + 1 + len(line) > OPEN_TEXT_BUDGET:
            break
        lines.append(line)
        used += 1 + len(line)
        shown += 1
    blocks: list[Block] = [_section(chunk) for chunk in _pack(lines)]
    hidden = systems[shown:]
    if hidden:
        counts: Counter[str] = Counter()
        for system in hidden:
            counts.update(system.counts)
        findings = sum(counts.values())
        blocks.append(
            _context(
                f"…and {_count(len(hidden), 'more system')} with "
                f"{_count(findings, 'open finding')}: {_severity_text(counts)}"
            )
        )
    return blocks


def _system_line(system: _System, now: float) -> str:
    checks = Counter(a.check for a in system.alerts).most_common()
    checks.sort(key=lambda item: (-item[1], item[0]))
    named = [f"`{_clip(check, NAME_CHARS)}` {count:,}" for check, count in checks[:MAX_CHECKS_PER_SYSTEM]]
    if len(checks) > MAX_CHECKS_PER_SYSTEM:
        named.append(_count(len(checks) - MAX_CHECKS_PER_SYSTEM, "more check"))
    oldest = [
        f"{SEVERITY_MARK.get(a.severity, '')} {_title(a.title)} ({_age(now - a.first_seen)})"
        for a in system.alerts[:OLDEST_PER_SYSTEM]
    ]
    rest = len(system.alerts) - len(oldest)
    if rest:
        oldest.append(f"and {rest:,} more")
    return (
        f"*{_clip(system.name, NAME_CHARS)}* — {len(system.alerts):,} open: {_severity_text(system.counts)}\n"
        f"      {' · '.join(named)}\n"
        f"      Oldest: {' · '.join(oldest)}"
    )


def _change_line(change: _Change, moment: float, now: float, note: str = "") -> str:
    return (
        f"• {SEVERITY_MARK.get(change.severity, '')} *{_clip(change.system, NAME_CHARS)}* "
        f"`{_clip(change.check, NAME_CHARS)}` {_title(change.title)} ({_age(now - moment)} ago){note}"
    )


def _changes_text(new: Sequence[_Change], resolved: Sequence[_Change], now: float) -> str:
    lines = ["*What changed in the last 24 h*"]
    if new:
        lines.append(f"*New:* {len(new):,} — {_severity_text(Counter(c.severity for c in new))}")
        lines += [
            _change_line(c, c.first_seen, now, " _resolved since_" if c.state == "resolved" else "")
            for c in new[:MAX_LISTED]
        ]
        lines += _more(len(new) - MAX_LISTED)
    else:
        lines.append("*New:* none")
    if resolved:
        lines.append(f"*Resolved:* {len(resolved):,} — {_severity_text(Counter(c.severity for c in resolved))}")
        lines += [_change_line(c, c.resolved_at or now, now) for c in resolved[:MAX_LISTED]]
        lines += _more(len(resolved) - MAX_LISTED)
    else:
        lines.append("*Resolved:* none")
    return "\n".join(lines)


def _request_line(request: _Request, now: float) -> str:
    state = f"{REQUEST_MARK.get(request.state, '')} {request.state}"
    detail = ""
    if request.state == "rejected" and request.rejection_reason:
        detail = f": {_clip(request.rejection_reason, TITLE_CHARS)}"
    elif request.state in ("failed", "unknown") and request.outcome and request.outcome.get("text"):
        detail = f": {_title(str(request.outcome['text']).strip().splitlines()[0])}"
    return (
        f"• `{_clip(request.id, NAME_CHARS)}` *{_clip(request.system, NAME_CHARS)}* "
        f"{_title(request.summary)} — {state}{detail} "
        f"(by {mention(request.requester)}, {_age(now - request.latest)} ago)"
    )


def _requests_text(requests: Sequence[_Request], now: float) -> str:
    if not requests:
        return "*Change requests in the last 24 h:* none"
    counts = Counter(r.state for r in requests)
    states = sorted(counts, key=lambda s: (REQUEST_STATES.index(s) if s in REQUEST_STATES else len(REQUEST_STATES), s))
    summary = " · ".join(f"{counts[s]:,} {_clip(s, NAME_CHARS)}" for s in states)
    lines = [f"*Change requests in the last 24 h:* {len(requests):,} — {summary}"]
    lines += [_request_line(r, now) for r in requests[:MAX_LISTED]]
    lines += _more(len(requests) - MAX_LISTED)
    return "\n".join(lines)


def _silences_text(ending: Sequence[Silence], titles: dict[int, str | None], now: float) -> str:
    if not ending:
        return "*Silences ending in the next 24 h:* none"
    lines = [f"*Silences ending in the next 24 h:* {len(ending):,}"]
    for silence in ending[:MAX_LISTED]:
        what = titles.get(silence.id) or f"{silence.matcher_kind} `{_clip(silence.matcher, TITLE_CHARS)}`"
        reason = f" · {_clip(silence.reason, TITLE_CHARS)}" if silence.reason.strip() else ""
        lines.append(f"• {what} — ends in {_age(silence.expires_at - now)}{reason} (by {mention(silence.author)})")
    lines += _more(len(ending) - MAX_LISTED)
    return "\n".join(lines)


# --- text helpers ---------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return clip_mrkdwn(" ".join(str(text).split()), limit)


def _title(text: str) -> str:
    return clip_mrkdwn(" ".join(str(text).split()), TITLE_CHARS, ibmi_mrkdwn)


def _severity_text(counts: Counter[str]) -> str:
    known = [f"{SEVERITY_MARK[s]} {counts[s]:,} {s}" for s in SEVERITIES if counts[s]]
    other = sorted(s for s in counts if s not in SEVERITY_RANK and counts[s])
    known += [f"{counts[s]:,} {_clip(s, NAME_CHARS)}" for s in other]
    return " · ".join(known) or "none"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _more(number: int) -> list[str]:
    return [f"…and {number:,} more"] if number > 0 else []


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{max(1, seconds // 60)}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def _local_time(now: float, timezone: str) -> str:
    zone = _zone(timezone)
    label = timezone if zone is not UTC else "UTC"
    return f"{datetime.fromtimestamp(now, zone):%a %d %b %Y %H:%M} {label}"


def _pack(lines: Sequence[str]) -> list[str]:
    """Lines packed into as few texts as fit a section (each line is far shorter than a section)."""
    texts: list[str] = []
    current = ""
    for line in lines:
        line = line[:MAX_SECTION_TEXT]
        if current and len(current) + 1 + len(line) > MAX_SECTION_TEXT:
            texts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT]))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:MAX_SECTION_TEXT])])
