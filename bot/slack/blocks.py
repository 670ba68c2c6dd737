"""Block Kit builders. slack_sdk's models validate per-element limits; the 50-block cap and section text
lengths, which slack_sdk does not check, are enforced here."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.systems import NetstatEntry, NetstatReport, SystemStatus

MAX_MESSAGE_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_NETSTAT_LINES = 60


def escape_mrkdwn(text: str) -> str:
    """Text from users, IBM i or RDAP, made inert in Slack mrkdwn (no <!channel>, <@user> or <url|links>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# IBM i values whose `*` would start or end mrkdwn bold: CL parameters holding a special value (DSPDTA(*YES)),
# special values (*PUBLIC, *ACCEPT), generic names (PAY*, QGPL/PAY*) and qualified names (PAYLIB/PAYROLL).
_IBMI_VALUE = re.compile(
    r"(?<![\w`*/])(?:[A-Z][A-Z0-9]*\([^()\s`]*\*[^()\s`]*\)"
    r"|\*[A-Z$#@][A-Z0-9$#@_]*"
    r"|(?!TCP/IP\b)(?:[A-Z$#@][A-Z0-9$#@_.]{0,9}/)?(?:[A-Z$#@][A-Z0-9$#@_.]{0,9}\*|\*[A-Z$#@][A-Z0-9$#@_]*)"
    r"|(?!TCP/IP\b)[A-Z$#@][A-Z0-9$#@_.]{0,9}/[A-Z$#@][A-Z0-9$#@_.]{0,9})(?![\w/*])"
)
_CODE_SPAN = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def ibmi_mrkdwn(text: str) -> str:
    """Text that may hold IBM i names and CL (titles, details, results, job logs), escaped, with every IBM i
    value in a code span: a `*` from *PUBLIC or DSPDTA(*YES) never starts or ends bold."""
    escaped = escape_mrkdwn(text)
    pieces, start = [], 0
    for span in _CODE_SPAN.finditer(escaped):
        pieces += [_IBMI_VALUE.sub(r"`\g<0>`", escaped[start : span.start()]), span.group()]
        start = span.end()
    pieces.append(_IBMI_VALUE.sub(r"`\g<0>`", escaped[start:]))
    return "".join(pieces)


def emphasised(text: str) -> str:
    """A title in bold, unless it holds a `*` (an IBM i value): then plain, its values in code spans."""
    return ibmi_mrkdwn(text) if "*" in text else f"*{escape_mrkdwn(text)}*"


def clip_mrkdwn(text: str, limit: int, render: Callable[[str], str] = escape_mrkdwn) -> str:
    """Text rendered for mrkdwn (`escape_mrkdwn`, or `ibmi_mrkdwn`), cut at a word with "…" so that at most
    `limit` characters are sent: never inside an escape or a code span."""
    rendered = render(text)
    if len(rendered) <= limit:
        return rendered
    low, high = 0, len(text)  # the longest prefix whose rendering fits with the "…"
    while low < high:
        middle = (low + high + 1) // 2
        if len(render(text[:middle])) + 1 <= limit:
            low = middle
        else:
            high = middle - 1
    kept = text[:low]
    if " " in kept and not text[low:].startswith(" "):
        kept = kept.rsplit(" ", 1)[0]  # whole words: half an IBM i value ("*" alone) would read as markup
    return render(kept.rstrip().rstrip("*")) + "…"


def code(text: str) -> str:
    """Text shown as written, in a code span (a CL command, a name)."""
    return "`" + escape_mrkdwn(text).replace("`", "'") + "`"


def mention(user: str) -> str:
    """A Slack user id as a mention (shown as the person's name); anything else (the bot, a CLI user) as text."""
    return f"<@{user}>" if re.fullmatch(r"[UW][A-Z0-9]{2,}", user) else escape_mrkdwn(user)


def unescape_slack(text: str) -> str:
    """What the user typed, from text Slack escaped (slash-command text: `&amp;`, `&lt;` and `&gt;` only)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_dicts(blocks: Sequence[Block]) -> list[dict]:
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks; a message holds at most {MAX_MESSAGE_BLOCKS}")
    return [block.to_dict() for block in blocks]


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, MAX_SECTION_TEXT)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=fit(text, MAX_SECTION_TEXT))])


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=fit(text, MAX_HEADER_TEXT))


def fit(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """The text, cut with "…" to at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_date(moment: float) -> str:
    """A time every reader sees in their own time zone (Slack date formatting), with a UTC fallback."""
    fallback = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _chunks(lines: Sequence[str]) -> list[list[str]]:
    """Pack lines into as few groups as fit the per-section text limit (a longer line is cut by _section)."""
    chunks: list[list[str]] = []
    chunk: list[str] = []
    size = 0  # len("\n".join(chunk))
    for line in lines:
        if chunk and size + 1 + len(line) > MAX_SECTION_TEXT:
            chunks.append(chunk)
            chunk, size = [], 0
        size += len(line) + (1 if chunk else 0)
        chunk.append(line)
    if chunk:
        chunks.append(chunk)
    return chunks


def _sections_from_lines(lines: Sequence[str]) -> list[SectionBlock]:
    """Pack lines into as few sections as fit the per-section text limit."""
    return [_section("\n".join(chunk)) for chunk in _chunks(lines)]


def _sections_within(lines: Sequence[str], room: int) -> tuple[list[SectionBlock], int]:
    """Sections for the first lines that fit in `room` blocks, keeping one of them for a summary of the rest
    when not all fit; returns the sections and how many lines they show."""
    chunks = _chunks(lines)
    if len(chunks) > room:
        chunks = chunks[: room - 1]
    return [_section("\n".join(chunk)) for chunk in chunks], sum(len(chunk) for chunk in chunks)


class HelpEntry(Protocol):
    """What `/ibmi help` shows of one declared sub-command."""

    @property
    def usage(self) -> str: ...  # after the slash command

    @property
    def example(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def available(self) -> bool: ...


def help_blocks(slash: str, sub_commands: Sequence[HelpEntry]) -> list[dict]:
    lines = []
    for sub in sub_commands:
        soon = "" if sub.available else " _(coming in a later version)_"
        lines.append(f"• `{slash} {sub.usage}` — {sub.summary}{soon}\n    e.g. `{slash} {sub.example}`")
    blocks: list[Block] = [_header("ibmi-warden commands"), *_sections_from_lines(lines)]
    blocks.append(_context(f"Choose a system with `@SYSTEM` or `--system SYSTEM`, e.g. `{slash} netstat @PROD`."))
    return to_dicts(blocks)


def help_text(slash: str, sub_commands: Sequence[HelpEntry]) -> str:
    return "\n".join(f"{slash} {sub.usage}  (e.g. {slash} {sub.example})" for sub in sub_commands)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    ago = f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"
    return f"{slack_date(moment.timestamp())} ({ago} ago)"


def _late(lateness: float | None) -> str:
    """How late a scheduled run started, when a second or more (the system was busy)."""
    return f" ({lateness:.0f}s late)" if lateness is not None and lateness >= 1 else ""


def status_line(status: SystemStatus) -> str:
    if status.state is None:
        state = ":grey_question: not contacted yet"
    elif not status.sick:
        state = f":large_green_circle: {status.state}"
    else:
        since = f" since {_when(status.health_since)}" if status.health_since else ""
        what = ibmi_mrkdwn(fit(_one_line(status.error or "unknown error"), 300))
        state = f":red_circle: {status.state}{since} — {what}"
    check = "no check has run yet"
    if status.checks:
        check = "\n".join(
            f"`{c.check}` {_when(c.at)}{_late(c.lateness)}, {c.duration:.1f}s, "
            f"{ibmi_mrkdwn(fit(_one_line(c.result), 300))}"
            for c in status.checks
        )
    elif status.last_check:
        result = ibmi_mrkdwn(fit(_one_line(status.last_result or "no result recorded"), 300))
        check = (
            f"last check `{status.last_check}` {_when(status.last_check_at)}, "
            f"{status.last_duration or 0:.1f}s, {result}"
        )
    return f"*{escape_mrkdwn(status.name)}* ({status.connection_kind}) {state}\n{check}"


def status_text(statuses: Sequence[SystemStatus]) -> str:
    """The notification fallback: short, whatever the number of systems."""
    return f"{len(statuses)} system(s): {health_counts(statuses)}"


def health_counts(statuses: Sequence[SystemStatus]) -> str:
    """How many systems are in each state, e.g. "3 healthy, 1 erroring, 1 not contacted yet"."""
    counts: dict[str, int] = {}
    for status in statuses:
        state = status.state or "not contacted yet"
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items()) or "none"


def status_blocks(statuses: Sequence[SystemStatus]) -> list[dict]:
    """One line per system, packed into sections; systems beyond what one message holds are summarised."""
    blocks: list[Block] = [_header("IBM i systems")]
    if not statuses:
        blocks.append(_section("No systems are configured."))
        return to_dicts(blocks)
    sections, shown = _sections_within([status_line(status) for status in statuses], MAX_MESSAGE_BLOCKS - len(blocks))
    blocks += sections
    hidden = statuses[shown:]
    if hidden:
        blocks.append(_context(f"{len(hidden)} more system(s) not shown: {health_counts(hidden)}."))
    return to_dicts(blocks)


def _netstat_line(entry: NetstatEntry) -> str:
    mark = ":white_check_mark:" if entry.trusted else ":warning:"
    label = "loopback" if entry.loopback else ("trusted" if entry.trusted else "*untrusted*")
    name = escape_mrkdwn(_one_line(entry.local_port_name or ""))
    service = f"{entry.local_port}" + (f" {name}" if name else "")
    idle = f", idle {entry.idle_time:.0f}s" if entry.idle_time is not None else ""
    tcp_state = escape_mrkdwn(_one_line(entry.tcp_state or ""))
    state = "" if tcp_state.upper() in ("", "ESTABLISHED") else f", {tcp_state}"
    address = f"[{entry.remote_address}]" if ":" in entry.remote_address else entry.remote_address
    return f"{mark} `{address}:{entry.remote_port}` → {service} — {label}{idle}{state}"


def netstat_blocks(report: NetstatReport) -> list[dict]:
    scope = f" on port {report.port}" if report.port else ""
    untrusted = sum(1 for e in report.entries if not e.trusted)
    header = _header(f"Connections on {report.system}{scope}")
    summary = f"{len(report.entries)} remote connection(s), {untrusted} from untrusted addresses."
    if report.note:
        note = ibmi_mrkdwn(fit(report.note, 1000))
        summary = f":warning: {note}\n{summary}" if report.entries else f":warning: {note}"
    blocks: list[Block] = [header, _section(summary)]
    shown = 0
    if report.entries:
        blocks.append(DividerBlock())
        lines = [fit(_netstat_line(entry), 500) for entry in report.entries[:MAX_NETSTAT_LINES]]
        capped = len(report.entries) > MAX_NETSTAT_LINES  # the summary of the rest needs a block
        sections, shown = _sections_within(lines, MAX_MESSAGE_BLOCKS - len(blocks) - capped)
        blocks += sections
    hidden = report.entries[shown:]
    if hidden:
        hidden_untrusted = sum(1 for e in hidden if not e.trusted)
        blocks.append(
            _context(f"{len(hidden)} more not shown ({hidden_untrusted} untrusted). Narrow the list with `--port N`.")
        )
    return to_dicts(blocks)


def error_blocks(problem: str, usage: str | None) -> list[dict]:
    text = f":x: {problem}"
    if usage:
        text += f"\nUsage: `{usage}`"
    return to_dicts([_section(text)])


def text_blocks(text: str) -> list[dict]:
    """Plain mrkdwn text as sections within the message limits (our own text: no escaping here)."""
    return to_dicts(_sections_from_lines(text.split("\n"))[:MAX_MESSAGE_BLOCKS])
