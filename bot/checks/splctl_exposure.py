"""splctl-exposure: *SPLCTL holders, and output queues whose settings open every spooled file on them.

IBM sources: "Spooled file security" (https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_72/rzalu/rzaluspsec.htm):
a user controls a spooled file through *SPLCTL (every file on every output queue in a library where the user
has *EXECUTE), *JOBCTL on an OPRCTL(*YES) queue, the authority named by AUTCHK (*OWNER: the queue's owner;
*DTAAUT: *READ, *ADD and *DLT data authority, as in *CHANGE), an exit program, or by owning the file;
DSPDTA(*YES) lets anyone with *USE on the queue display, copy and send every file, DSPDTA(*OWNER) only the
file's owner and *SPLCTL. "Securing spooled files" (https://www.ibm.com/docs/en/i/7.2?topic=printing-securing-spooled-files);
the OPRCTL parameter (https://www.ibm.com/docs/en/i/7.2.0?topic=files-operator-control-oprctl-parameter-output-queue);
QSYS2.OUTPUT_QUEUE_INFO (https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzajq/rzajqviewoutqinfo.htm),
QSYS2.OBJECT_PRIVILEGES (https://ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzajq/rzajqviewobjpriv.htm),
QSYS2.USER_INFO (https://ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzajq/rzajqviewuserinfo.htm) and
QSYS2.GROUP_PROFILE_ENTRIES (https://ibm.com/support/knowledgecenter/ssw_ibm_i_74/rzajq/rzajqviewgroupprof.htm).
Whether OUTPUT_QUEUE_INFO says '*YES' or 'YES' is unconfirmed: values are normalised, and a value that is
neither is reported as unknown, never taken as safe.

Kisco, "Controlling access to spool files" (https://www.kisco.com/ibm-i-security-tips/controlling-access-to-spool-files.html)
and "More about controlling access to spool files"
(https://www.kisco.com/ibm-i-security-tips/more-about-controlling-access-to-spool-files.html) call *SPLCTL the
spool-file equivalent of *ALLOBJ.

Severity: *SPLCTL holder not on the allow-list: warning. Output queue: info when its only issue is
OPRCTL(*YES) (or a setting that cannot be read); warning for DSPDTA(*YES) with *PUBLIC *USE or more, or
AUTCHK(*DTAAUT) with *PUBLIC *CHANGE or more; one level higher when the queue matches a sensitive pattern,
one more when it holds at least `many_files` spooled files; never above critical.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.checks.finding import Finding
from bot.ibmi.rows import OutputQueue, UserProfile, normalise_keyword, normalise_yes_no

CHECK_ID = "splctl-exposure"

LEVELS = ("info", "warning", "critical")
MAX_LISTED = 10  # *JOBCTL holders named in an OPRCTL(*YES) sentence; the rest are counted

SPLCTL_WHY = (
    "*SPLCTL lets a user display, copy, send and delete every spooled file on every output queue in every "
    'library where they have *EXECUTE, whatever the queue\'s settings (IBM, "Spooled file security"); Kisco '
    "calls it the spool-file equivalent of *ALLOBJ."
)

# *PUBLIC object authority, as a rank: *USE includes *READ (display with DSPDTA(*YES)); *CHANGE and *ALL
# include *READ, *ADD and *DLT (control with AUTCHK(*DTAAUT)).
_PUBLIC_RANK = {"EXCLUDE": 0, "USE": 1, "CHANGE": 2, "ALL": 3}


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"{what} must be a list of strings, not the string {values!r}")
    names = tuple(values)
    for value in names:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{what} must hold non-empty strings, not {value!r}")
    return names


@dataclass(frozen=True)
class SplctlSettings:
    allowed_holders: tuple[str, ...] = ("QSECOFR",)  # user or group profiles allowed *SPLCTL; case is ignored
    sensitive_queues: tuple[str, ...] = ("PAY*", "HR*")  # fnmatch patterns against NAME and LIB/NAME
    many_files: int = 100  # a queue with at least this many spooled files is raised a level; 0: never
    report_oprctl_only: bool = True  # false: skip a queue whose only issue is OPRCTL(*YES) and stays info

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_holders", _names(self.allowed_holders, "allowed_holders"))
        object.__setattr__(self, "sensitive_queues", _names(self.sensitive_queues, "sensitive_queues"))
        if isinstance(self.many_files, bool) or not isinstance(self.many_files, int) or self.many_files < 0:
            raise ValueError(f"many_files must be a whole number, 0 or more, not {self.many_files!r}")
        if not isinstance(self.report_oprctl_only, bool):
            raise ValueError(f"report_oprctl_only must be true or false, not {self.report_oprctl_only!r}")

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(name.strip().upper() for name in self.allowed_holders)

    def sensitive_pattern(self, queue: OutputQueue) -> str | None:
        """The first pattern matching the queue's NAME or LIB/NAME, case-insensitively."""
        candidates = (queue.name.strip().upper(), f"{queue.library.strip()}/{queue.name.strip()}".upper())
        for pattern in self.sensitive_queues:
            if any(fnmatch.fnmatchcase(candidate, pattern.strip().upper()) for candidate in candidates):
                return pattern
        return None


DEFAULT_SETTINGS = SplctlSettings()


def evaluate(
    system: str,
    holders: Sequence[UserProfile] | None,
    queues: Sequence[OutputQueue] | None,
    jobctl_holders: Sequence[UserProfile] | None,
    settings: SplctlSettings = DEFAULT_SETTINGS,
) -> list[Finding]:
    """Findings for *SPLCTL holders and exposed output queues.

    `holders` are the *SPLCTL holders (direct or through groups), `jobctl_holders` the *JOBCTL ones;
    None for any input means it could not be read, which is said in a "cannot see" finding.
    """
    blind: list[tuple[str, str]] = []
    if holders is None:
        blind.append(("*SPLCTL holders not readable", HOLDERS_UNREADABLE))
    elif not holders:
        blind.append(("no *SPLCTL holder visible", HOLDERS_EMPTY))
    if queues is None:
        blind.append(("output queues not readable", QUEUES_UNREADABLE))
    elif not queues:
        blind.append(("no output queue visible", QUEUES_EMPTY))
    if jobctl_holders is None:
        blind.append(("*JOBCTL holders not readable", JOBCTL_UNREADABLE))
    findings: list[Finding] = []
    if blind:
        # Blind to holders or queues: a whole half of the check is missing. Only *JOBCTL: names are missing.
        findings.append(cannot_see(system, blind, warning=not holders or not queues))
    allowed = settings.allowed
    for profile in sorted(holders or (), key=lambda p: p.name.strip().upper()):
        finding = _holder_finding(system, profile, allowed)
        if finding is not None:
            findings.append(finding)
    for queue in sorted(queues or (), key=lambda q: (q.library.strip().upper(), q.name.strip().upper())):
        finding = _queue_finding(system, queue, jobctl_holders, settings)
        if finding is not None:
            findings.append(finding)
    return findings


# --- Visibility ----------------------------------------------------------------------------------

HOLDERS_UNREADABLE = (
    "*SPLCTL holders: QSYS2.USER_INFO or QSYS2.GROUP_PROFILE_ENTRIES could not be read. The bot's profile "
    "needs *OBJOPR and *READ on the user profiles (profiles it cannot read are silently left out)."
)
HOLDERS_EMPTY = (
    "*SPLCTL holders: none visible, not even QSECOFR, which normally holds it. The bot's profile probably "
    "cannot read the user profiles (it needs *OBJOPR and *READ on them; the others are silently left out)."
)
QUEUES_UNREADABLE = (
    "Output queues: QSYS2.OUTPUT_QUEUE_INFO could not be read. The bot's profile needs *EXECUTE on each "
    "queue's library and *READ on the queue (or *SPLCTL); *PUBLIC authority from QSYS2.OBJECT_PRIVILEGES "
    "needs *OBJMGT on the queue or the QIBM_DB_SECADM function usage."
)
QUEUES_EMPTY = (
    "Output queues: none visible, although every IBM i has some (QGPL/QPRINT, for one). The bot's profile "
    "needs *EXECUTE on each queue's library and *READ on the queue (or *SPLCTL)."
)
JOBCTL_UNREADABLE = "*JOBCTL holders: could not be read, so the users an OPRCTL(*YES) queue is open to cannot be named."


def cannot_see(system: str, blind: Sequence[tuple[str, str]], warning: bool = True) -> Finding:
    """What could not be read (short label, explanation), and the authority needed: never a silent "all clear"."""
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning" if warning else "info",
        subject="visibility",
        title="Cannot fully see spooled-file exposure: " + ", ".join(label for label, _ in blind),
        details=(*(text for _, text in blind), "What the bot cannot see, it cannot rule out."),
        facts={"unreadable": [label for label, _ in blind]},
    )


# --- *SPLCTL holders -----------------------------------------------------------------------------


def _status(profile: UserProfile) -> str | None:
    """'ENABLED', 'DISABLED', or None when the status reads as neither."""
    status = normalise_keyword(profile.status)
    return status if status in ("ENABLED", "DISABLED") else None


def _holder_finding(system: str, profile: UserProfile, allowed: frozenset[str]) -> Finding | None:
    name = profile.name.strip().upper()
    status = _status(profile)
    if status == "DISABLED":
        return None  # cannot sign on; a disabled *group* still grants to its enabled members, judged on their own
    direct = "*SPLCTL" in {authority.strip().upper() for authority in profile.special_authorities}
    groups = tuple(group.strip().upper() for group in profile.inherited_authorities.get("*SPLCTL", ()))
    if not direct and not groups:
        return None
    if name in allowed or (not direct and all(group in allowed for group in groups)):
        return None

    via = f"group profile{'s' if len(groups) > 1 else ''} {', '.join(groups)}" if groups else ""
    if direct and groups:
        how = f"directly and through {via}"
    elif direct:
        how = "directly"
    else:
        how = f"through {via}"
    details = [SPLCTL_WHY]
    if groups:
        details.append(
            f"Granted by {via}: a group profile passes its special authorities to every member, whether or not "
            "the group itself can sign on."
        )
    if status is None:
        details.append(
            f"Status read as {_shown(profile.status)}, neither *ENABLED nor *DISABLED: treated as able to sign on."
        )
    if profile.text:
        details.append(f"Profile text: {profile.text}")
    details.append(f"Last sign-on: {profile.previous_signon}" if profile.previous_signon else "Never signed on.")
    details.append("Not in allowed_holders; add it there if this holder is intended.")
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject=f"holder:{name}",
        title=f"{name} holds *SPLCTL {how}" if groups else f"{name} holds *SPLCTL",
        details=tuple(details),
        facts={
            "profile": name,
            "status": profile.status,
            "direct": direct,
            "groups": list(groups),
            "text": profile.text,
            "previous_signon": profile.previous_signon,
        },
    )


# --- Output queues -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Issue:
    code: str  # oprctl | dspdta-public | dtaaut-public
    confirmed: bool  # False: a value that matters could not be read
    severity: str  # baseline when confirmed
    label: str
    sentence: str


def _shown(value: str | None) -> str:
    return "NULL" if value is None else repr(value.strip())


def _public(queue: OutputQueue) -> tuple[int | None, str]:
    """*PUBLIC authority as a rank (None: unknown) and as text for sentences."""
    keyword = normalise_keyword(queue.public_authority)
    if keyword in _PUBLIC_RANK:
        return _PUBLIC_RANK[keyword], f"*{keyword}"
    if queue.public_authority is None:
        return None, "not visible"
    return None, f"read as {_shown(queue.public_authority)}"


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


def _jobctl_holders(jobctl_holders: Sequence[UserProfile] | None) -> tuple[str, list[str] | None]:
    """A clause naming the enabled *JOBCTL holders, and their names (None: not readable)."""
    if jobctl_holders is None:
        return "*JOBCTL holders could not be read", None
    names: list[str] = []
    shown: list[str] = []
    for profile in sorted(jobctl_holders, key=lambda p: p.name.strip().upper()):
        status = _status(profile)
        direct = "*JOBCTL" in {a.strip().upper() for a in profile.special_authorities}
        groups = [g.strip().upper() for g in profile.inherited_authorities.get("*JOBCTL", ())]
        if status == "DISABLED" or not (direct or groups):
            continue
        notes = ([] if direct else [f"via {', '.join(groups)}"]) + ([] if status else ["status unknown"])
        names.append(profile.name.strip().upper())
        shown.append(names[-1] + (f" ({'; '.join(notes)})" if notes else ""))
    if not names:
        return "no enabled *JOBCTL holder is visible to the bot", []
    more = len(shown) - MAX_LISTED
    return f"enabled *JOBCTL holders: {', '.join(shown[:MAX_LISTED])}{f' and {more} more' if more > 0 else ''}", names


def _issues(queue: OutputQueue, jobctl_text: str) -> list[_Issue]:
    library = queue.library.strip()
    oprctl = normalise_yes_no(queue.operator_controlled)
    dspdta = normalise_keyword(queue.display_any_file)
    dspdta = dspdta if dspdta in ("YES", "NO", "OWNER") else None
    autchk = normalise_keyword(queue.authority_to_check)
    autchk = autchk if autchk in ("OWNER", "DTAAUT") else None
    public, public_text = _public(queue)
    issues: list[_Issue] = []

    control = f"can control every spooled file on it (hold, release, change, delete){_display_clause(dspdta)}"
    if oprctl is True:
        issues.append(
            _Issue(
                "oprctl",
                True,
                "info",
                "OPRCTL(*YES)",
                f"OPRCTL(*YES): every user with *JOBCTL special authority and *EXECUTE on library {library} "
                f"{control}; {jobctl_text}.",
            )
        )
    elif oprctl is None:
        issues.append(
            _Issue(
                "oprctl",
                False,
                "info",
                "OPRCTL unknown",
                f"OPRCTL read as {_shown(queue.operator_controlled)}, neither *YES nor *NO: if it is *YES, every "
                f"*JOBCTL holder {control}; {jobctl_text}.",
            )
        )

    display = (
        "every user without a private authority of their own can display, copy, send and move every spooled file on it"
    )
    if dspdta == "YES" and public is not None and public >= 1:
        issues.append(
            _Issue(
                "dspdta-public",
                True,
                "warning",
                f"DSPDTA(*YES) with *PUBLIC {public_text}",
                f"DSPDTA(*YES) with *PUBLIC {public_text}: {display}, not only their own "
                "(IBM: with DSPDTA(*YES) any user with *USE authority to the queue may).",
            )
        )
    elif dspdta == "YES" and public is None:
        issues.append(
            _Issue(
                "dspdta-public",
                False,
                "warning",
                "DSPDTA(*YES), *PUBLIC authority unknown",
                f"DSPDTA(*YES), and *PUBLIC authority {public_text}: if *PUBLIC has *USE or more, {display}.",
            )
        )
    elif dspdta is None and (public is None or public >= 1):
        issues.append(
            _Issue(
                "dspdta-public",
                False,
                "warning",
                "DSPDTA unknown",
                f"DSPDTA read as {_shown(queue.display_any_file)}, neither *YES, *NO nor *OWNER, with *PUBLIC "
                f"authority {public_text}: if it is *YES, {display}.",
            )
        )

    control_all = (
        "every user without a private authority of their own has the *READ, *ADD and *DLT data authority that "
        f"controls every spooled file on it (hold, release, change, delete){_display_clause(dspdta)}"
    )
    if autchk == "DTAAUT" and public is not None and public >= 2:
        issues.append(
            _Issue(
                "dtaaut-public",
                True,
                "warning",
                f"AUTCHK(*DTAAUT) with *PUBLIC {public_text}",
                f"AUTCHK(*DTAAUT) with *PUBLIC {public_text}: {control_all}.",
            )
        )
    elif autchk == "DTAAUT" and public is None:
        issues.append(
            _Issue(
                "dtaaut-public",
                False,
                "warning",
                "AUTCHK(*DTAAUT), *PUBLIC authority unknown",
                f"AUTCHK(*DTAAUT), and *PUBLIC authority {public_text}: if *PUBLIC has *CHANGE or more, {control_all}.",
            )
        )
    elif autchk is None and (public is None or public >= 2):
        issues.append(
            _Issue(
                "dtaaut-public",
                False,
                "warning",
                "AUTCHK unknown",
                f"AUTCHK read as {_shown(queue.authority_to_check)}, neither *OWNER nor *DTAAUT, with *PUBLIC "
                f"authority {public_text}: if it is *DTAAUT, {control_all}.",
            )
        )
    return issues


def _raise(severity: str, steps: int) -> str:
    return LEVELS[min(LEVELS.index(severity) + steps, len(LEVELS) - 1)]


def _queue_finding(
    system: str, queue: OutputQueue, jobctl_holders: Sequence[UserProfile] | None, settings: SplctlSettings
) -> Finding | None:
    jobctl_text, jobctl_names = _jobctl_holders(jobctl_holders)
    issues = _issues(queue, jobctl_text)
    if not issues:
        return None
    confirmed = [issue for issue in issues if issue.confirmed]
    unknown = [issue for issue in issues if not issue.confirmed]
    baseline = max((issue.severity for issue in confirmed), key=LEVELS.index, default="info")
    pattern = settings.sensitive_pattern(queue)
    files_count = queue.number_of_files
    many = settings.many_files > 0 and files_count is not None and files_count >= settings.many_files
    severity = _raise(baseline, int(pattern is not None) + int(many))
    only_oprctl = [issue.code for issue in issues] == ["oprctl"] and not unknown
    if only_oprctl and severity == "info" and not settings.report_oprctl_only:
        return None

    q = queue.qualified_name
    files = "" if queue.number_of_files is None else f" ({queue.number_of_files} spooled files)"
    confirmed.sort(key=lambda issue: -LEVELS.index(issue.severity))
    if confirmed:
        title = f"Output queue {q} exposes its spooled files: {', '.join(i.label for i in confirmed)}{files}"
    else:
        title = f"Output queue {q}: exposure cannot be ruled out, {', '.join(i.label for i in unknown)}{files}"
    details = [issue.sentence for issue in confirmed + unknown]
    if _public(queue)[0] is None and any(i.code != "oprctl" for i in issues):
        template = PUBLIC_NOT_VISIBLE if queue.public_authority is None else PUBLIC_NOT_RECOGNISED
        details.append(template.format(q=q, value=_shown(queue.public_authority)))
    if pattern is not None:
        details.append(f"Matches sensitive queue pattern {pattern}: severity raised one level.")
    if many:
        details.append(
            f"Holds {queue.number_of_files} spooled files, at least many_files ({settings.many_files}): "
            "severity raised one level."
        )
    if queue.text:
        details.append(f"Queue text: {queue.text}")
    return Finding(
        system=system,
        check=CHECK_ID,
        severity=severity,
        subject=f"outq:{q.strip().upper()}",
        title=title,
        details=tuple(details),
        facts={
            "queue": q,
            "library": queue.library,
            "name": queue.name,
            "number_of_files": queue.number_of_files,
            "display_any_file": queue.display_any_file,
            "operator_controlled": queue.operator_controlled,
            "authority_to_check": queue.authority_to_check,
            "public_authority": queue.public_authority,
            "issues": [issue.code for issue in confirmed],
            "unknown": [issue.code for issue in unknown],
            "sensitive_pattern": pattern,
            "many_files": many,
            "jobctl_holders": jobctl_names if any(i.code == "oprctl" for i in issues) else None,
        },
    )
