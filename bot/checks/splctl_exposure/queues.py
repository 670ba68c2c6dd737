"""Output queues whose settings open every spooled file on them: OPRCTL(*YES), DSPDTA(*YES), AUTCHK(*DTAAUT)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter

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


@dataclass(frozen=True)
class _Exposure:
    """What a queue's settings (and, in an OPRCTL(*YES) sentence, its library) expose: the issues weighed once
    per run for every queue set up the same way. What depends on the queue itself is added per queue."""

    confirmed: tuple[str, ...]  # the codes of the confirmed issues, most severe first
    unknown: tuple[str, ...]  # the codes of the others
    baseline: int  # index in LEVELS of the most severe confirmed issue; info when none is confirmed
    headline: str  # the title between the queue's name and its file count
    sentences: tuple[str, ...]
    public_note: bool  # *PUBLIC authority not known, and an issue depends on it
    only_oprctl: bool  # its only issue is a confirmed OPRCTL(*YES)
    names_jobctl: bool  # an issue is about OPRCTL: the facts name the *JOBCTL holders


def _expose(issues: list[_Issue], public: int | None) -> _Exposure:
    confirmed = sorted((i for i in issues if i.confirmed), key=lambda issue: -LEVELS.index(issue.severity))
    unknown = [issue for issue in issues if not issue.confirmed]
    baseline = max((LEVELS.index(issue.severity) for issue in confirmed), default=0)
    if confirmed:
        headline = f" exposes its spooled files: {', '.join(i.label for i in confirmed)}"
    else:
        headline = f": exposure cannot be ruled out, {', '.join(i.label for i in unknown)}"
    return _Exposure(
        tuple(issue.code for issue in confirmed),
        tuple(issue.code for issue in unknown),
        baseline,
        headline,
        tuple(issue.sentence for issue in confirmed + unknown),
        public is None and any(i.code != "oprctl" for i in issues),
        [issue.code for issue in issues] == ["oprctl"] and not unknown,
        any(i.code == "oprctl" for i in issues),
    )


class _Exposures:
    """Each queue's exposure, judged once per combination of settings in a run; an OPRCTL(*YES) sentence names
    the library, so those are judged once per library. `quiet` holds the combinations that expose nothing."""

    def __init__(self, jobctl_text: str):
        self._jobctl_text = jobctl_text
        self.quiet: set[tuple[str | None, ...]] = set()
        self._exposed: dict[tuple[str | None, ...], _Exposure | dict[str, _Exposure]] = {}

    def of(self, queue: OutputQueue, setup: tuple[str | None, ...]) -> _Exposure | None:
        """`setup` is `_settings_of(queue)`."""
        if setup in self.quiet:
            return None
        found = self._exposed.get(setup)
        if found is None:
            found = self._judge(queue)
            if found is None:
                self.quiet.add(setup)
                return None
            self._exposed[setup] = found
        if isinstance(found, _Exposure):
            return found
        library = queue.library.strip()
        exposure = found.get(library)
        if exposure is None:
            exposure = found[library] = _expose(_issues(queue, self._jobctl_text), _public(queue)[0])
        return exposure

    def _judge(self, queue: OutputQueue) -> _Exposure | dict[str, _Exposure] | None:
        if _read_settings(queue).oprctl is True:
            return {}  # judged per library
        issues = _issues(queue, self._jobctl_text)
        return _expose(issues, _public(queue)[0]) if issues else None


_settings_of = attrgetter("operator_controlled", "display_any_file", "authority_to_check", "public_authority")


def queue_findings(
    system: str, queues: Iterable[OutputQueue], jobctl: JobctlHolders, settings: SplctlSettings
) -> list[Finding]:
    """The findings for the output queues whose settings expose their spooled files, in library and name order.
    `jobctl` is `judge_jobctl_holders(...)` of the run, the same for every queue."""
    exposures = _Exposures(jobctl.text)
    sensitive_pattern = settings.sensitive_matcher()
    found: list[tuple[tuple[str, str], Finding]] = []
    quiet = exposures.quiet
    for queue in queues:
        setup = _settings_of(queue)
        if setup in quiet:  # most queues: nothing to say, seen at the cost of a look-up
            continue
        exposure = exposures.of(queue, setup)
        if exposure is None:
            continue
        finding = _queue_finding(system, queue, exposure, jobctl, settings, sensitive_pattern(queue))
        if finding is not None:
            found.append(((queue.library.strip().upper(), queue.name.strip().upper()), finding))
    found.sort(key=lambda pair: pair[0])
    return [finding for _, finding in found]


def _queue_finding(
    system: str,
    queue: OutputQueue,
    exposure: _Exposure,
    jobctl: JobctlHolders,
    settings: SplctlSettings,
    pattern: str | None,
) -> Finding | None:
    files = queue.number_of_files
    many = settings.many_files > 0 and files is not None and files >= settings.many_files
    severity = LEVELS[min(exposure.baseline + (pattern is not None) + many, len(LEVELS) - 1)]
    if exposure.only_oprctl and severity == "info" and not settings.report_oprctl_only:
        return None
    q = queue.qualified_name
    extra: list[str] = []
    if exposure.public_note:
        template = PUBLIC_NOT_VISIBLE if queue.public_authority is None else PUBLIC_NOT_RECOGNISED
        extra.append(template.format(q=q, value=shown(queue.public_authority)))
    if pattern is not None:
        extra.append(f"Matches sensitive queue pattern {pattern}: severity raised one level.")
    if many:
        extra.append(
            f"Holds {files} spooled files, at least many_files ({settings.many_files}): severity raised one level."
        )
    if queue.text:
        extra.append(f"Queue text: {queue.text}")
    return Finding(
        system=system,
        check=CHECK_ID,
        severity=severity,
        subject=f"outq:{q.strip().upper()}",
        title=f"Output queue {q}{exposure.headline}{'' if files is None else f' ({files} spooled files)'}",
        details=exposure.sentences + tuple(extra) if extra else exposure.sentences,
        facts={
            "queue": q,
            "library": queue.library,
            "name": queue.name,
            "number_of_files": files,
            "display_any_file": queue.display_any_file,
            "operator_controlled": queue.operator_controlled,
            "authority_to_check": queue.authority_to_check,
            "public_authority": queue.public_authority,
            "issues": list(exposure.confirmed),
            "unknown": list(exposure.unknown),
            "sensitive_pattern": pattern,
            "many_files": many,
            "jobctl_holders": jobctl.names if exposure.names_jobctl else None,
        },
    )
