"""Output queues whose settings open every spooled file on them: OPRCTL(*YES), DSPDTA(*YES), AUTCHK(*DTAAUT)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.checks.finding import Finding
from bot.checks.splctl_exposure.holders import profile_status, shown
from bot.checks.splctl_exposure.settings import CHECK_ID, SplctlSettings
from bot.ibmi.rows import OutputQueue, UserProfile, normalise_keyword, normalise_yes_no

LEVELS = ("info", "warning", "critical")
MAX_LISTED = 10  # *JOBCTL holders named in an OPRCTL(*YES) sentence; the rest are counted

# *PUBLIC object authority, as a rank: *USE includes *READ (display with DSPDTA(*YES)); *CHANGE and *ALL
# include *READ, *ADD and *DLT (control with AUTCHK(*DTAAUT)).
_PUBLIC_RANK = {"EXCLUDE": 0, "USE": 1, "CHANGE": 2, "ALL": 3}


@dataclass(frozen=True)
class _Issue:
    code: str  # oprctl | dspdta-public | dtaaut-public
    confirmed: bool  # False: a value that matters could not be read
    severity: str  # baseline when confirmed
    label: str
    sentence: str


def _public(queue: OutputQueue) -> tuple[int | None, str]:
    """*PUBLIC authority as a rank (None: unknown) and as text for sentences."""
    return _public_of(queue.public_authority)


@lru_cache(maxsize=256)  # a handful of spellings, read on every queue
def _public_of(authority: str | None) -> tuple[int | None, str]:
    keyword = normalise_keyword(authority)
    if keyword in _PUBLIC_RANK:
        return _PUBLIC_RANK[keyword], f"*{keyword}"
    if authority is None:
        return None, "not visible"
    return None, f"read as {shown(authority)}"


PUBLIC_NOT_VISIBLE = (
    "*PUBLIC authority to the queue is not visible: QSYS2.OBJECT_PRIVILEGES shows it only to a profile with "
    "*OBJMGT on the queue or the QIBM_DB_SECADM function usage. Check it with DSPOBJAUT OBJ({q}) OBJTYPE(*OUTQ)."
)
PUBLIC_NOT_RECOGNISED = (
    "*PUBLIC authority to the queue read as {value}, not *EXCLUDE, *USE, *CHANGE or *ALL (USER DEF means "
    "specific authorities the bot does not read). Check it with DSPOBJAUT OBJ({q}) OBJTYPE(*OUTQ)."
)


def _display_clause(dspdta: str | None) -> str:
    if dspdta == "OWNER":
        return ", but DSPDTA(*OWNER) keeps them from displaying, copying or sending files they do not own"
    if dspdta in ("YES", "NO"):
        return f", and, as DSPDTA is *{dspdta} rather than *OWNER, display, copy and send them too"
    return ", and display, copy and send them too unless DSPDTA is *OWNER (DSPDTA could not be read)"


@dataclass(frozen=True)
class JobctlHolders:
    """The enabled *JOBCTL holders as every OPRCTL(*YES) sentence names them: judged once per run."""

    text: str  # a clause naming them
    names: list[str] | None  # None: not readable


def judge_jobctl_holders(holders: Sequence[UserProfile] | None) -> JobctlHolders:
    """A clause naming the enabled *JOBCTL holders, and their names (None: not readable)."""
    if holders is None:
        return JobctlHolders("*JOBCTL holders could not be read", None)
    names: list[str] = []
    shown: list[str] = []
    for profile in sorted(holders, key=lambda p: p.name.strip().upper()):
        status = profile_status(profile)
        direct = "*JOBCTL" in {a.strip().upper() for a in profile.special_authorities}
        groups = [g.strip().upper() for g in profile.inherited_authorities.get("*JOBCTL", ())]
        if status == "DISABLED" or not (direct or groups):
            continue
        notes = ([] if direct else [f"via {', '.join(groups)}"]) + ([] if status else ["status unknown"])
        names.append(profile.name.strip().upper())
        shown.append(names[-1] + (f" ({'; '.join(notes)})" if notes else ""))
    if not names:
        return JobctlHolders("no enabled *JOBCTL holder is visible to the bot", [])
    more = len(shown) - MAX_LISTED
    listed = f"{', '.join(shown[:MAX_LISTED])}{f' and {more} more' if more > 0 else ''}"
    return JobctlHolders(f"enabled *JOBCTL holders: {listed}", names)


@dataclass(frozen=True)
class _Settings:
    """A queue's settings as read: None where a value is neither of the keywords that count."""

    library: str
    oprctl: bool | None
    dspdta: str | None  # YES | NO | OWNER
    autchk: str | None  # OWNER | DTAAUT
    public: int | None  # rank of *PUBLIC authority
    public_text: str


def _read_settings(queue: OutputQueue) -> _Settings:
    oprctl, dspdta, autchk, public, public_text = _keywords(
        queue.operator_controlled, queue.display_any_file, queue.authority_to_check, queue.public_authority
    )
    return _Settings(queue.library.strip(), oprctl, dspdta, autchk, public, public_text)


@lru_cache(maxsize=1024)  # a few combinations of spellings, read on every queue
def _keywords(
    oprctl: str | None, dspdta: str | None, autchk: str | None, public_authority: str | None
) -> tuple[bool | None, str | None, str | None, int | None, str]:
    display, check = normalise_keyword(dspdta), normalise_keyword(autchk)
    return (
        normalise_yes_no(oprctl),
        display if display in ("YES", "NO", "OWNER") else None,
        check if check in ("OWNER", "DTAAUT") else None,
        *_public_of(public_authority),
    )


def _control(read: _Settings) -> str:
    return f"can control every spooled file on it (hold, release, change, delete){_display_clause(read.dspdta)}"


def _oprctl_issue(queue: OutputQueue, read: _Settings, jobctl_text: str) -> _Issue | None:
    if read.oprctl is False:  # most queues: no sentence to write
        return None
    control = _control(read)
    if read.oprctl is True:
        return _Issue(
            "oprctl",
            True,
            "info",
            "OPRCTL(*YES)",
            f"OPRCTL(*YES): every user with *JOBCTL special authority and *EXECUTE on library {read.library} "
            f"{control}; {jobctl_text}.",
        )
    if read.oprctl is None:
        return _Issue(
            "oprctl",
            False,
            "info",
            "OPRCTL unknown",
            f"OPRCTL read as {shown(queue.operator_controlled)}, neither *YES nor *NO: if it is *YES, every "
            f"*JOBCTL holder {control}; {jobctl_text}.",
        )
    return None


_DISPLAY = (
    "every user without a private authority of their own can display, copy, send and move every spooled file on it"
)


def _display_issue(queue: OutputQueue, read: _Settings) -> _Issue | None:
    display = _DISPLAY
    public, public_text = read.public, read.public_text
    if read.dspdta == "YES" and public is not None and public >= 1:
        return _Issue(
            "dspdta-public",
            True,
            "warning",
            f"DSPDTA(*YES) with *PUBLIC {public_text}",
            f"DSPDTA(*YES) with *PUBLIC {public_text}: {display}, not only their own "
            "(IBM: with DSPDTA(*YES) any user with *USE authority to the queue may).",
        )
    if read.dspdta == "YES" and public is None:
        return _Issue(
            "dspdta-public",
            False,
            "warning",
            "DSPDTA(*YES), *PUBLIC authority unknown",
            f"DSPDTA(*YES), and *PUBLIC authority {public_text}: if *PUBLIC has *USE or more, {display}.",
        )
    if read.dspdta is None and (public is None or public >= 1):
        return _Issue(
            "dspdta-public",
            False,
            "warning",
            "DSPDTA unknown",
            f"DSPDTA read as {shown(queue.display_any_file)}, neither *YES, *NO nor *OWNER, with *PUBLIC "
            f"authority {public_text}: if it is *YES, {display}.",
        )
    return None


def _dtaaut_issue(queue: OutputQueue, read: _Settings) -> _Issue | None:
    public, public_text = read.public, read.public_text
    if read.autchk == "OWNER" or (read.autchk == "DTAAUT" and public is not None and public < 2):
        return None  # most queues: no sentence to write
    control_all = (
        "every user without a private authority of their own has the *READ, *ADD and *DLT data authority that "
        f"controls every spooled file on it (hold, release, change, delete){_display_clause(read.dspdta)}"
    )
    if read.autchk == "DTAAUT" and public is not None and public >= 2:
        return _Issue(
            "dtaaut-public",
            True,
            "warning",
            f"AUTCHK(*DTAAUT) with *PUBLIC {public_text}",
            f"AUTCHK(*DTAAUT) with *PUBLIC {public_text}: {control_all}.",
        )
    if read.autchk == "DTAAUT" and public is None:
        return _Issue(
            "dtaaut-public",
            False,
            "warning",
            "AUTCHK(*DTAAUT), *PUBLIC authority unknown",
            f"AUTCHK(*DTAAUT), and *PUBLIC authority {public_text}: if *PUBLIC has *CHANGE or more, {control_all}.",
        )
    if read.autchk is None and (public is None or public >= 2):
        return _Issue(
            "dtaaut-public",
            False,
            "warning",
            "AUTCHK unknown",
            f"AUTCHK read as {shown(queue.authority_to_check)}, neither *OWNER nor *DTAAUT, with *PUBLIC "
            f"authority {public_text}: if it is *DTAAUT, {control_all}.",
        )
    return None


def _issues(queue: OutputQueue, jobctl_text: str) -> list[_Issue]:
    read = _read_settings(queue)
    found = (_oprctl_issue(queue, read, jobctl_text), _display_issue(queue, read), _dtaaut_issue(queue, read))
    return [issue for issue in found if issue is not None]


def _raise(severity: str, steps: int) -> str:
    return LEVELS[min(LEVELS.index(severity) + steps, len(LEVELS) - 1)]


@dataclass(frozen=True)
class _Judgement:
    """A queue's issues weighed: confirmed ones most severe first, the unconfirmed, and what raised it."""

    issues: list[_Issue]
    confirmed: list[_Issue]
    unknown: list[_Issue]
    severity: str
    pattern: str | None  # the sensitive-queue pattern it matches
    many: bool  # holds at least many_files spooled files


def _judge(queue: OutputQueue, issues: list[_Issue], settings: SplctlSettings) -> _Judgement:
    confirmed = [issue for issue in issues if issue.confirmed]
    unknown = [issue for issue in issues if not issue.confirmed]
    baseline = max((issue.severity for issue in confirmed), key=LEVELS.index, default="info")
    pattern = settings.sensitive_pattern(queue)
    files_count = queue.number_of_files
    many = settings.many_files > 0 and files_count is not None and files_count >= settings.many_files
    confirmed.sort(key=lambda issue: -LEVELS.index(issue.severity))
    return _Judgement(issues, confirmed, unknown, _raise(baseline, int(pattern is not None) + int(many)), pattern, many)


def _left_out(judged: _Judgement, settings: SplctlSettings) -> bool:
    """A queue whose only issue is a confirmed OPRCTL(*YES) that stays info, when those are not reported."""
    only_oprctl = [issue.code for issue in judged.issues] == ["oprctl"] and not judged.unknown
    return only_oprctl and judged.severity == "info" and not settings.report_oprctl_only


def _queue_title(queue: OutputQueue, judged: _Judgement) -> str:
    q = queue.qualified_name
    files = "" if queue.number_of_files is None else f" ({queue.number_of_files} spooled files)"
    if judged.confirmed:
        return f"Output queue {q} exposes its spooled files: {', '.join(i.label for i in judged.confirmed)}{files}"
    return f"Output queue {q}: exposure cannot be ruled out, {', '.join(i.label for i in judged.unknown)}{files}"


def _queue_details(queue: OutputQueue, judged: _Judgement, settings: SplctlSettings) -> tuple[str, ...]:
    details = [issue.sentence for issue in judged.confirmed + judged.unknown]
    if _public(queue)[0] is None and any(i.code != "oprctl" for i in judged.issues):
        template = PUBLIC_NOT_VISIBLE if queue.public_authority is None else PUBLIC_NOT_RECOGNISED
        details.append(template.format(q=queue.qualified_name, value=shown(queue.public_authority)))
    if judged.pattern is not None:
        details.append(f"Matches sensitive queue pattern {judged.pattern}: severity raised one level.")
    if judged.many:
        details.append(
            f"Holds {queue.number_of_files} spooled files, at least many_files ({settings.many_files}): "
            "severity raised one level."
        )
    if queue.text:
        details.append(f"Queue text: {queue.text}")
    return tuple(details)


def _queue_facts(queue: OutputQueue, judged: _Judgement, jobctl_names: list[str] | None) -> dict[str, Any]:
    return {
        "queue": queue.qualified_name,
        "library": queue.library,
        "name": queue.name,
        "number_of_files": queue.number_of_files,
        "display_any_file": queue.display_any_file,
        "operator_controlled": queue.operator_controlled,
        "authority_to_check": queue.authority_to_check,
        "public_authority": queue.public_authority,
        "issues": [issue.code for issue in judged.confirmed],
        "unknown": [issue.code for issue in judged.unknown],
        "sensitive_pattern": judged.pattern,
        "many_files": judged.many,
        "jobctl_holders": jobctl_names if any(i.code == "oprctl" for i in judged.issues) else None,
    }


def queue_finding(system: str, queue: OutputQueue, jobctl: JobctlHolders, settings: SplctlSettings) -> Finding | None:
    """The finding for one output queue whose settings expose its spooled files; None when they do not.
    `jobctl` is `judge_jobctl_holders(...)` of the run, the same for every queue."""
    issues = _issues(queue, jobctl.text)
    if not issues:
        return None
    judged = _judge(queue, issues, settings)
    if _left_out(judged, settings):
        return None
    return Finding(
        system=system,
        check=CHECK_ID,
        severity=judged.severity,
        subject=f"outq:{queue.qualified_name.strip().upper()}",
        title=_queue_title(queue, judged),
        details=_queue_details(queue, judged, settings),
        facts=_queue_facts(queue, judged, jobctl.names),
    )
