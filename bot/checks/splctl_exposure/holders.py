"""*SPLCTL holders: enabled profiles holding *SPLCTL, directly or through a group, not on allowed_holders."""

from __future__ import annotations

from bot.checks.finding import Finding
from bot.checks.splctl_exposure.settings import CHECK_ID
from bot.ibmi.rows import UserProfile, normalise_keyword

SPLCTL_WHY = (
    "*SPLCTL lets a user display, copy, send and delete every spooled file on every output queue in every "
    'library where they have *EXECUTE, whatever the queue\'s settings (IBM, "Spooled file security"); Kisco '
    "calls it the spool-file equivalent of *ALLOBJ."
)


def profile_status(profile: UserProfile) -> str | None:
    """'ENABLED', 'DISABLED', or None when the status reads as neither."""
    status = normalise_keyword(profile.status)
    return status if status in ("ENABLED", "DISABLED") else None


def holder_finding(system: str, profile: UserProfile, allowed: frozenset[str]) -> Finding | None:
    name = profile.name.strip().upper()
    status = profile_status(profile)
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
            f"Status read as {shown(profile.status)}, neither *ENABLED nor *DISABLED: treated as able to sign on."
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


def shown(value: str | None) -> str:
    return "NULL" if value is None else repr(value.strip())
