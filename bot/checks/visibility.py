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
