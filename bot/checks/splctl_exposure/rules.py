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

from collections.abc import Sequence

from bot.checks.finding import Finding
from bot.checks.splctl_exposure.holders import SPLCTL_WHY, holder_finding
from bot.checks.splctl_exposure.queues import judge_jobctl_holders, queue_findings
from bot.checks.splctl_exposure.settings import CHECK_ID, DEFAULT_SETTINGS, SplctlSettings
from bot.ibmi.rows import OutputQueue, UserProfile

__all__ = ["CHECK_ID", "SPLCTL_WHY", "SplctlSettings", "cannot_see", "evaluate"]


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
        finding = holder_finding(system, profile, allowed)
        if finding is not None:
            findings.append(finding)
    jobctl = judge_jobctl_holders(jobctl_holders)  # once per run: every OPRCTL(*YES) queue names the same holders
    findings += queue_findings(system, queues or (), jobctl, settings)
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
