"""The *ACCEPT list of QUSRSYS/QATMADRLST: which entries let too many addresses relay.

The layout of QUSRSYS/QATMADRLST is undocumented: which member is the *ACCEPT list is guessed from its name.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.checks.finding import Finding
from bot.checks.smtp_relay.settings import CHECK_ID, SmtpRelaySettings
from bot.ibmi.cl import CLValidationError, RemoveSmtpListEntry
from bot.ibmi.rows import SmtpListEntry, SmtpListReading

# Which member of QUSRSYS/QATMADRLST holds the *ACCEPT list is not documented. A member whose name
# contains these letters (any case) is treated as an *ACCEPT list; the finding names the member.
ACCEPT_MEMBER_HINT = "ACC"

ACCEPT_HEURISTIC = (
    f"The *ACCEPT list was recognised by its member name (containing {ACCEPT_MEMBER_HINT!r}): IBM does not "
    "document the members of QUSRSYS/QATMADRLST, so this is an unconfirmed guess."
)


def accept_prefix(entry: SmtpListEntry) -> int | None:
    """How many leading addresses bits the entry fixes: the one bits of its mask (a missing mask is
    ADDSMTPLE's default 255.255.255.255). None when the mask is not an IPv4 mask."""
    mask = entry.mask.strip() if entry.mask else "255.255.255.255"
    try:
        return bin(int(ipaddress.IPv4Address(mask))).count("1")
    except ValueError:
        return None


def is_accept_member(member: str) -> bool:
    return ACCEPT_MEMBER_HINT in member.upper()


def too_broad(entry: SmtpListEntry, max_accept_prefix: int) -> bool:
    """An *ACCEPT entry lets more addresses relay than max_accept_prefix allows, or every address.
    An entry whose mask cannot be read counts as too broad: its breadth cannot be ruled out."""
    prefix = accept_prefix(entry)
    if prefix is None:
        return True
    return prefix == 0 or prefix < max_accept_prefix


def covering_accept_entries(address: str | None, lists: SmtpListReading | None) -> list[str]:
    if address is None or lists is None or not lists.readable:
        return []
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return []
    covering = []
    for entry in lists.entries:
        network = entry.network
        if is_accept_member(entry.member) and network is not None and ip in network:
            covering.append(f"{entry.address}/{accept_prefix(entry)}")
    return covering


# --- the *ACCEPT list ------------------------------------------------------------------------------


def list_findings(system: str, lists: SmtpListReading | None, settings: SmtpRelaySettings) -> list[Finding]:
    if lists is None or not lists.readable:
        problem = "they were not read" if lists is None else (lists.problem or "no reason given")
        return [
            Finding(
                system=system,
                check=CHECK_ID,
                severity="info",
                subject="lists-unreadable",
                title=f"SMTP lists not readable: {problem}",
                details=(
                    "Broad *ACCEPT entries cannot be ruled out. The lists live in QUSRSYS/QATMADRLST, whose "
                    "members and layout IBM does not document; the bot's profile needs *USE to the file and to "
                    "the CRTDDMF command (CREATE ALIAS) to read them.",
                ),
                facts={"members": list(lists.members) if lists else [], "problem": problem},
            )
        ]
    accept_members = [m for m in lists.members if is_accept_member(m)]
    if not accept_members and lists.members:
        return [
            Finding(
                system=system,
                check=CHECK_ID,
                severity="info",
                subject="accept-list-not-found",
                title="Cannot tell which SMTP list member is the *ACCEPT list",
                details=(
                    f"QUSRSYS/QATMADRLST has the member{'s' if len(lists.members) > 1 else ''} "
                    f"{', '.join(lists.members)}; none has {ACCEPT_MEMBER_HINT!r} in its name. {ACCEPT_HEURISTIC}",
                ),
                facts={"members": list(lists.members)},
            )
        ]
    return [
        _broad_entry(system, entry, settings)
        for entry in lists.entries
        if is_accept_member(entry.member) and too_broad(entry, settings.max_accept_prefix)
    ]


def _broad_entry(system: str, entry: SmtpListEntry, settings: SmtpRelaySettings) -> Finding:
    prefix = accept_prefix(entry)
    if prefix is None:
        return _unreadable_mask(system, entry)
    mask = entry.mask or "255.255.255.255"
    contiguous = _is_contiguous(mask)
    count = 1 << (32 - prefix)
    if prefix == 0:
        title = f"*ACCEPT entry {entry.address} mask {mask} accepts relay from every address"
        reach = "Every address on the internet may relay mail through this system when ALWRLY is *LIST or *BOTH."
    else:
        title = (
            f"*ACCEPT entry {entry.address}/{prefix} lets {count:,} addresses relay "
            f"(broader than /{settings.max_accept_prefix})"
        )
        reach = (
            f"{count:,} addresses may relay mail through this system when ALWRLY is *LIST or *BOTH; "
            f"entries up to /{settings.max_accept_prefix} are accepted by this check (max_accept_prefix)."
        )
    details = [reach]
    if not contiguous:
        details.append(f"The mask {mask} is not contiguous; the count is of the address bits it leaves free.")
    facts: dict[str, Any] = {
        "member": entry.member,
        "address": entry.address,
        "mask": mask,
        "mask_read": entry.mask,
        "prefix": prefix,
        "addresses": count,
        "record": list(entry.raw),
        "max_accept_prefix": settings.max_accept_prefix,
        "member_heuristic": ACCEPT_HEURISTIC,
    }
    try:
        remove = RemoveSmtpListEntry.build("*ACCEPT", entry.address, mask).to_cl()
    except CLValidationError:
        remove = None
    if remove:
        facts["remove_command"] = remove
        details.append(
            f"Fix (needs *IOSYSCFG): {remove}, then ADDSMTPLE TYPE(*ACCEPT) with only the hosts that must relay "
            "and a narrow SUBNETMASK (255.255.255.255 for one host). List changes apply when SMTP next starts."
        )
    details.append(f"Read from member {entry.member} of QUSRSYS/QATMADRLST. {ACCEPT_HEURISTIC}")
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject=f"accept:{entry.address}/{prefix}",
        title=title,
        details=tuple(details),
        facts=facts,
    )


def _unreadable_mask(system: str, entry: SmtpListEntry) -> Finding:
    return Finding(
        system=system,
        check=CHECK_ID,
        severity="warning",
        subject=f"accept:{entry.address}/?",
        title=f"*ACCEPT entry {entry.address} has a mask the bot cannot read ({entry.mask})",
        details=(
            "How many addresses this entry lets relay cannot be worked out, so a broad entry cannot be ruled out.",
            f"Read from member {entry.member} of QUSRSYS/QATMADRLST. {ACCEPT_HEURISTIC}",
        ),
        facts={"member": entry.member, "address": entry.address, "mask_read": entry.mask, "record": list(entry.raw)},
    )


def _is_contiguous(mask: str) -> bool:
    try:
        value = int(ipaddress.IPv4Address(mask))
    except ValueError:
        return False
    host_bits = ~value & 0xFFFFFFFF
    return host_bits & (host_bits + 1) == 0
