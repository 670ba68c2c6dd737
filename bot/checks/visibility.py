"""The "cannot see" finding shared by the checks that read NETSTAT: never an empty result taken for "fine"."""

from __future__ import annotations

from bot.checks.finding import Finding


def netstat_not_visible(system: str, check: str, not_ruled_out: str, reason: str | None = None) -> Finding:
    """NETSTAT could not be read (`reason`), or showed no listening socket at all."""
    explanation = (
        "An empty or partial NETSTAT result usually means the bot's profile lacks *IOSYSCFG or "
        f"QIBM_IOSYSCFG_VIEW (IBM i 7.6). {not_ruled_out} cannot be ruled out."
    )
    return Finding(
        system=system,
        check=check,
        severity="warning",
        subject="netstat-visibility",
        title=(
            "Cannot see this system's connections: "
            + ("NETSTAT_INFO is not readable" if reason else "NETSTAT_INFO shows no listening socket")
        ),
        details=(reason, explanation) if reason else (explanation,),
    )


# The IBM i service behind each shared source. docs/ibmi-access.md's minimum-release table confirms no
# release or PTF level for any of them, so the finding names none.
SOURCE_SERVICES = {
    "netstat": "QSYS2.NETSTAT_INFO",
    "netstat-jobs": "QSYS2.NETSTAT_JOB_INFO",
    "smtp-jobs": "QSYS2.ACTIVE_JOB_INFO",
    "smtp-lists": "QUSRSYS/QATMADRLST and QSYS2.SYSCOLUMNS",
    "splctl-holders": "QSYS2.USER_INFO_BASIC and QSYS2.GROUP_PROFILE_ENTRIES",
    "jobctl-holders": "QSYS2.USER_INFO_BASIC and QSYS2.GROUP_PROFILE_ENTRIES",
    "output-queues": "QSYS2.OUTPUT_QUEUE_INFO and QSYS2.OBJECT_PRIVILEGES",
}
UNKNOWN_MINIMUM = "a newer release or PTF group"


def service_missing(system: str, check: str, source: str, reason: str, service: str | None = None) -> Finding:
    """A service the check reads does not exist on this system (SQL0204/SQL0206): the check cannot judge.
    `service`: the one the source declares, when it declares one."""
    service = service or SOURCE_SERVICES.get(source, source)
    return Finding(
        system=system,
        check=check,
        severity="warning",
        subject=f"service-missing:{source}",
        title=f"{check} cannot see: needs {service} ({UNKNOWN_MINIMUM})",
        details=(
            reason,
            "This system's release or PTF level does not have the service; `ibmi-warden doctor` shows both. "
            "Nothing this check looks for can be ruled out.",
        ),
        facts={"source": source, "service": service},
    )
