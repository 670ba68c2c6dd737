"""changes-behind-the-bot: watched commands, and commands changing sensitive output queues, run by anyone but the
bot's own approved executions (CD entries).

IBM sources: "CD (Command String) journal entries"
(https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzarl/rzarlf10.htm) and "AUDIT_JOURNAL_CD table function"
(https://www.ibm.com/support/knowledgecenter/en/ssw_ibm_i_73/rzajq/rzajqudfauditjournalCD.htm): ENTRY_TYPE (C command
run, L OCL statement, O operator control command, P S/36 procedure, S command run after command substitution took
place, U utility control statement, X proxy command), OBJECT_LIBRARY/OBJECT_NAME/OBJECT_TYPE (the command object),
WHERE_RUN (Y from a compiled OPM or ILE CL program, R from a REXX procedure, E passed to QCMDEXC, QCAPCMD or
QCAEXEC, B in a batch job for none of those reasons, N interactively from a command line or menu), COMMAND_STRING.
The bot runs its commands through QSYS2.QCMDEXC; whether that is written as WHERE_RUN 'E' is unconfirmed, so the
match with the bot's records does not depend on it.

Matching: an entry is the bot's own run when its command normalises (commands.normalised) to the text of a command
the bot ran by approval (CheckTarget.bot_commands) and its time is within `tolerance` of when the bot ran it; each
run the bot recorded explains the nearest such entry, and further entries of the same command from the same job
within the tolerance (a substituted or proxy command may be written twice). A matched entry is an info finding
naming the request (report_approved = true) or nothing; any other is warning, critical for CHGSMTPA ALWRLY(*ALL),
which lets the SMTP server relay mail for anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.checks.changes_behind_the_bot.commands import CommandText, normalised, scan
from bot.checks.changes_behind_the_bot.settings import CHECK_ID, ChangesSettings
from bot.checks.definition import BotCommand
from bot.checks.finding import Finding
from bot.ibmi.audit_journal import JournalEntry
from bot.ibmi.rows import OutputQueue

WHERE_RUN = {
    "Y": "from a compiled CL program",
    "R": "from a REXX procedure",
    "E": "passed to QCMDEXC, QCAPCMD or QCAEXEC",
    "B": "in a batch job",
    "N": "interactively, from a command line or menu",
}
ENTRY_TYPES = {
    "C": "command run",
    "L": "OCL statement",
    "O": "operator control command",
    "P": "S/36 procedure",
    "S": "command run after command substitution",
    "U": "utility control statement",
    "X": "proxy command",
}
WHY = {
    "CHGSMTPA": "CHGSMTPA changes the SMTP server's attributes; ALWRLY decides for whom it relays mail.",
    "ADDSMTPLE": "ADDSMTPLE adds to the SMTP accept/reject lists, which decide who may relay (from the next start).",
    "RMVSMTPLE": "RMVSMTPLE removes from the SMTP accept/reject lists (effective when SMTP next starts).",
    "ENDTCPCNN": "ENDTCPCNN ends a TCP connection: someone's session, or the trace of one.",
}
OUTQ_WHY = (
    "A change to a sensitive output queue, its settings, owner or authorities can open its spooled files "
    "(payroll, HR) to others."
)
_QUEUE_KEYWORD = {"CHGOUTQ": "OUTQ", "CLROUTQ": "OUTQ", "DLTOUTQ": "OUTQ"}


@dataclass(frozen=True)
class Judged:
    """A CD entry the check looks at: its command, and why it matters."""

    entry: JournalEntry
    text: str  # COMMAND_STRING
    name: str  # the command's name
    scanned: CommandText | None = None  # the command string read
    queue: str | None = None  # the sensitive output queue it names
    pattern: str | None = None  # the sensitive pattern that queue matched
    unread_queue: bool = False  # an output queue command whose queue could not be read


def command_name(entry: JournalEntry, scanned: CommandText | None) -> str | None:
    """The command run: the command object's name, else the first word of the command string."""
    name = (entry.text("OBJECT_NAME") or "").upper()
    return name or (scanned.name if scanned else None)


def sensitive_queue(
    name: str, scanned: CommandText | None, matcher: Callable[[OutputQueue], str | None]
) -> tuple[str | None, str | None, bool]:
    """(queue, pattern, unread) for an output queue command: the queue it names when that matches a pattern."""
    if scanned is None:
        return None, None, name in _QUEUE_KEYWORD
    keyword = _QUEUE_KEYWORD.get(name)
    if keyword is None:
        if (scanned.value("OBJTYPE") or "").lstrip("*") != "OUTQ":
            return None, None, False
        keyword = "OBJ"
    queue = scanned.value(keyword)
    if not queue:
        return None, None, True
    library, _, bare = queue.rpartition("/")
    pattern = matcher(OutputQueue(library or "*LIBL", bare, None, None, None, None, None, None))
    return (queue, pattern, False) if pattern else (None, None, False)


def may_be_watched(entry: JournalEntry, settings: ChangesSettings) -> bool:
    """False when the entry's command cannot be watched: it has no command string, or its command object is not
    watched (told without reading the command string). The journal keeps only the entries that may be."""
    return entry.text("COMMAND_STRING") is not None and _object_may_be_watched(entry, settings)


def _object_may_be_watched(entry: JournalEntry, settings: ChangesSettings) -> bool:
    named = (entry.text("OBJECT_NAME") or "").upper()
    return not named or named in settings.commands or named in settings.outq_commands


def judged_entry(
    entry: JournalEntry, settings: ChangesSettings, matcher: Callable[[OutputQueue], str | None]
) -> Judged | None:
    """The entry as the check looks at it, or None when its command is not watched: depends on the entry and the
    settings alone, so a run may keep it for the next (memo.EntryMemo)."""
    text = entry.text("COMMAND_STRING")
    if text is None or not _object_may_be_watched(entry, settings):
        return None
    scanned = scan(text)
    name = command_name(entry, scanned)
    if name is None:
        return None
    queue, pattern, unread = None, None, False
    if name not in settings.commands:
        if name not in settings.outq_commands:
            return None
        queue, pattern, unread = sensitive_queue(name, scanned, matcher)
        if pattern is None and not unread:
            return None
    return Judged(entry, text, name, scanned, queue, pattern, unread)


JudgedEntry = tuple[Judged, Finding]  # a watched entry, with its finding should the bot not have run it


def judged_with_finding(
    system: str, entry: JournalEntry, settings: ChangesSettings, matcher: Callable[[OutputQueue], str | None]
) -> JudgedEntry | None:
    item = judged_entry(entry, settings, matcher)
    return None if item is None else (item, unmatched_finding(system, item))


def match(
    judged: Sequence[Judged], ran: Sequence[BotCommand], tolerance: float, epoch: Callable[[str], float]
) -> dict[int, BotCommand]:
    """Which judged entries (by index) are the bot's own runs, and of which recorded command: the nearest entry of
    the same command within `tolerance` of each run, then the entries of the same command from the same job within
    `tolerance` of a matched one. Commands are normalised, and entries' times (`epoch`) told, only when the bot ran
    some."""
    if not ran:
        return {}
    at = [epoch(item.entry.timestamp) for item in judged]
    forms: dict[str, str] = {}

    def form(text: str) -> str:
        known = forms.get(text)
        if known is None:
            known = forms[text] = normalised(text)
        return known

    by_form: dict[str, list[int]] = {}
    for index, item in enumerate(judged):
        by_form.setdefault(form(item.text), []).append(index)
    matched: dict[int, BotCommand] = {}
    for command in sorted(ran, key=lambda command: command.ran_at):
        candidates = [
            (abs(at[index] - command.ran_at), index)
            for index in by_form.get(form(command.command), ())
            if index not in matched and abs(at[index] - command.ran_at) <= tolerance
        ]
        if candidates:
            matched[min(candidates)[1]] = command
    twins: dict[tuple[str, str], list[tuple[float, BotCommand]]] = {}
    for index, command in matched.items():
        item = judged[index]
        if item.entry.job is not None:
            twins.setdefault((item.entry.job, form(item.text)), []).append((at[index], command))
    for index, item in enumerate(judged):
        if index in matched or item.entry.job is None:
            continue
        near = [
            command
            for twin_at, command in twins.get((item.entry.job, form(item.text)), ())
            if abs(twin_at - at[index]) <= tolerance
        ]
        if near:
            matched[index] = near[0]
    return matched


def opens_relay(item: Judged) -> bool:
    scanned = item.scanned
    return item.name == "CHGSMTPA" and scanned is not None and (scanned.value("ALWRLY") or "").lstrip("*") == "ALL"


def evaluate_entries(
    system: str,
    entries: Sequence[JournalEntry],
    epoch: Callable[[str], float],
    ran: Sequence[BotCommand],
    settings: ChangesSettings,
    matcher: Callable[[OutputQueue], str | None],
    judge_each: Callable[[Sequence[JournalEntry]], list[JudgedEntry | None]] | None = None,
) -> list[Finding]:
    """The findings for the CD entries kept within the window. `judge_each` judges the entries
    (`judged_with_finding` for each; the check passes one that keeps the answers from run to run)."""
    if judge_each is None:
        pairs = [judged_with_finding(system, entry, settings, matcher) for entry in entries]
    else:
        pairs = judge_each(entries)
    watched = [pair for pair in pairs if pair is not None]
    judged = [item for item, _ in watched]
    matched = match(judged, ran, settings.tolerance, epoch)
    findings = [finding for index, (_, finding) in enumerate(watched) if index not in matched]
    if settings.report_approved:
        by_request: dict[str, tuple[BotCommand, list[Judged]]] = {}
        for index, command in matched.items():
            by_request.setdefault(command.request_id, (command, []))[1].append(judged[index])
        findings += [approved_finding(system, command, items) for command, items in by_request.values()]
    return findings


def _where(entry: JournalEntry) -> str:
    code = (entry.text("WHERE_RUN") or "").upper()
    return f"{WHERE_RUN.get(code, 'where run not known to this bot')} (WHERE_RUN {code or 'not given'})"


def unmatched_finding(system: str, item: Judged) -> Finding:
    entry = item.entry
    who = entry.user or "an unknown user"
    critical = opens_relay(item)
    if item.pattern is not None:
        why = f"{OUTQ_WHY} {item.queue} matches the sensitive queue pattern {item.pattern}."
    elif item.unread_queue:
        why = f"{OUTQ_WHY} The output queue it names could not be read from the command string."
    else:
        why = WHY.get(item.name, f"{item.name} is in the watched commands.")
    entry_type = (entry.text("ENTRY_TYPE") or "").upper()
    details = [
        f"Run by {who} at {entry.timestamp}, job {entry.job or 'not given'}, {_where(entry)}; "
        f"program {entry.program or 'not given'}"
        + (f"; entry type {entry_type}, {ENTRY_TYPES[entry_type]}." if entry_type in ENTRY_TYPES else "."),
        f"Command: `{item.text}`",
        why,
    ]
    if critical:
        details.append("ALWRLY(*ALL) lets the SMTP server relay mail for anyone: an open relay.")
    details.append("No change the bot ran by approval matches it: it was done behind the bot's back.")
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="critical" if critical else "warning",
        subject=f"command:{entry.key}",
        title=f"{item.name} run by {who} outside the bot" + (f" on {item.queue}" if item.queue else ""),
        details=tuple(details),
        facts={
            "command": item.text,
            "command_name": item.name,
            "user": entry.user,
            "job": entry.job,
            "program": entry.program,
            "where_run": entry.text("WHERE_RUN"),
            "entry_type": entry.text("ENTRY_TYPE"),
            "at": entry.timestamp,
            "queue": item.queue,
            "sensitive_pattern": item.pattern,
        },
    )


def approved_finding(system: str, command: BotCommand, items: Sequence[Judged]) -> Finding:
    names = sorted({item.name for item in items})
    approvers = ", ".join(command.approved_by) or "its approvers"
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="info",
        subject=f"approved:{command.request_id}",
        title=f"{', '.join(names)} ran by approval: request {command.request_id}",
        details=(
            *(f"`{item.text}` at {item.entry.timestamp}, job {item.entry.job or 'not given'}" for item in items),
            f"Approved by {approvers}: the audit journal shows the bot's own run.",
        ),
        facts={
            "request_id": command.request_id,
            "approved_by": list(command.approved_by),
            "commands": [item.text for item in items],
        },
    )
