"""Who owns an address (`Owner`), its one-line summary, its description as plain text, and its cache record."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from bot.trace.special import embedded_ipv4, special_for

REGISTRY_NAMES = {"arin": "ARIN", "ripencc": "RIPE NCC", "apnic": "APNIC", "lacnic": "LACNIC", "afrinic": "AFRINIC"}


@dataclass(frozen=True, kw_only=True)
class Owner:
    """Who owns an address: from RDAP (`kind="rdap"`), or answered locally (`kind="local"`)."""

    address: str  # normalised: IPv4-mapped unwrapped, zone id dropped; compressed form
    kind: str  # "rdap" | "local"
    organisation: str | None = None  # the registrant's name, else the network's name
    network_name: str | None = None  # e.g. GOOGLE, BT-CORPORATE
    cidr: str | None = None  # as the registry gives it: comma-joined when the range is not one prefix
    country: str | None = None  # ISO 3166 code, or None when the registry gives none we can read
    asn: str | None = None  # "15169"; only with the "dns" or "whois" ASN methods
    asn_description: str | None = None
    abuse_email: str | None = None
    registry: str | None = None  # arin | ripencc | apnic | lacnic | afrinic
    local_reason: str | None = None  # kind "local": e.g. "Private-Use (RFC 1918)"
    looked_up_at: datetime  # UTC

    def summary(self) -> str:
        """One line, e.g. "GOOGLE (Google Inc.), US, AS15169, 74.125.0.0/16" (the registry, "ARIN", in place
        of the ASN when there is none) or "Private-Use network (RFC 1918): not looked up"."""
        if self.kind == "local":
            return _local_summary(self)
        name, organisation = self.network_name, self.organisation
        if name and organisation and name.casefold() != organisation.casefold():
            head = f"{name} ({organisation})"
        else:
            head = name or organisation or "owner not named"
        parts = [head]
        if self.country:
            parts.append(self.country)
        if self.asn:
            parts.append(" ".join(f"AS{number}" for number in self.asn.split()))
        elif self.registry:  # the "http" ASN method gives the registry only
            parts.append(REGISTRY_NAMES.get(self.registry, self.registry.upper()))
        if self.cidr:
            parts.append(_cidr_text(self.cidr, self.address))
        return ", ".join(parts)


def _local_summary(owner: Owner) -> str:
    address = ipaddress.ip_address(owner.address)
    entry = special_for(address)
    if entry is None or entry.reason != owner.local_reason:
        return f"{owner.local_reason or 'Special-purpose address'}: not looked up"
    text = f"{entry.label} {entry.noun} ({entry.rfc}): not looked up"
    embedded = embedded_ipv4(address)
    if embedded is not None:
        text += f"; it carries the IPv4 address {embedded}, which can be traced"
    return text


def _cidr_text(cidr: str, address: str) -> str:
    """One prefix as is; of several, the one holding the address and how many more there are."""
    prefixes = [part.strip() for part in cidr.split(",") if part.strip()]
    if len(prefixes) <= 1:
        return cidr.strip()
    shown = prefixes[0]
    try:
        ip = ipaddress.ip_address(address)
        shown = next((p for p in prefixes if ip in ipaddress.ip_network(p, strict=False)), shown)
    except ValueError:
        pass
    return f"{shown} (+{len(prefixes) - 1} more)"


def owner_record(owner: Owner) -> dict[str, Any]:
    record = asdict(owner)
    del record["address"], record["looked_up_at"]
    return record


_OWNER_FIELDS = {f.name for f in fields(Owner)} - {"address", "looked_up_at"}


def owner_from_record(address: str, record: Mapping[str, Any], looked_up_at: float) -> Owner | None:
    values = {key: value for key, value in record.items() if key in _OWNER_FIELDS}
    if values.get("kind") != "rdap" or any(v is not None and not isinstance(v, str) for v in values.values()):
        return None
    return Owner(address=address, looked_up_at=datetime.fromtimestamp(looked_up_at, UTC), **values)


@dataclass(frozen=True)
class OwnerDescription:
    """An owner as plain text, for each medium to render: no markup, no escaping."""

    address: str
    summary: str  # `Owner.summary()`: one line
    facts: tuple[tuple[str, str], ...]  # (label, value) for each known fact; none for a local answer

    def lines(self) -> list[str]:
        """ "address: summary", then "Label: value" per fact."""
        return [f"{self.address}: {self.summary}", *(f"{label}: {value}" for label, value in self.facts)]


def describe_owner(owner: Owner) -> OwnerDescription:
    """The one description of an owner, shown by Slack (escaped for mrkdwn) and the terminal (as it is)."""
    if owner.kind == "local":
        return OwnerDescription(owner.address, owner.summary(), ())
    asn = " ".join(part for part in (owner.asn and f"AS{owner.asn}", owner.asn_description) if part)
    facts = (
        ("Organisation", owner.organisation),
        ("Network", owner.network_name),
        ("CIDR", owner.cidr),
        ("Country", owner.country),
        ("ASN", asn or None),
        ("Registry", owner.registry),
        ("Abuse contact", owner.abuse_email),
    )
    return OwnerDescription(owner.address, owner.summary(), tuple((label, v) for label, v in facts if v))
