"""Reading ipwhois's `lookup_rdap` answer into an `Owner`: missing or strange parts are None, never an error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.trace.owner import Owner

# ARIN networks carry no country, and ARIN's vCards give it as a name on the last line of the
# address label ("…\nCA\n94043\nUNITED STATES"). These are the names of the countries ARIN serves;
# any other name is not guessed at.
_COUNTRY_NAMES = {
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "canada": "CA",
    "anguilla": "AI",
    "antarctica": "AQ",
    "antigua and barbuda": "AG",
    "bahamas": "BS",
    "the bahamas": "BS",
    "barbados": "BB",
    "bermuda": "BM",
    "bouvet island": "BV",
    "cayman islands": "KY",
    "dominica": "DM",
    "grenada": "GD",
    "heard island and mcdonald islands": "HM",
    "jamaica": "JM",
    "montserrat": "MS",
    "puerto rico": "PR",
    "saint kitts and nevis": "KN",
    "saint lucia": "LC",
    "saint pierre and miquelon": "PM",
    "saint vincent and the grenadines": "VC",
    "turks and caicos islands": "TC",
    "united states minor outlying islands": "UM",
    "virgin islands, british": "VG",
    "british virgin islands": "VG",
    "virgin islands, u.s.": "VI",
    "u.s. virgin islands": "VI",
    "united states virgin islands": "VI",
}


def owner_from_rdap(address: str, result: Mapping[str, Any], looked_up_at: datetime) -> Owner:
    """The owner in an ipwhois `lookup_rdap` result (missing parts are None, never an error)."""
    network = _mapping(result.get("network"))
    objects = _mapping(result.get("objects"))
    entities = [_mapping(entity) for entity in objects.values()]
    registrant = next((e for e in entities if "registrant" in _roles(e)), None)
    contact = _mapping(registrant.get("contact")) if registrant else {}
    network_name = _text(network.get("name"))
    country = (
        _country_code(network.get("country"))
        or _country_from_addresses(contact.get("address"))
        or _country_code(result.get("asn_country_code"))
    )
    asn = " ".join(part for part in str(result.get("asn") or "").split() if part.isdigit()) or None
    return Owner(
        address=address,
        kind="rdap",
        organisation=_text(contact.get("name")) or network_name,
        network_name=network_name,
        cidr=_text(network.get("cidr")),
        country=country,
        asn=asn,
        asn_description=_text(result.get("asn_description")),
        abuse_email=_abuse_email(entities),
        registry=_text(result.get("asn_registry")),
        looked_up_at=looked_up_at,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _roles(entity: Mapping[str, Any]) -> list[str]:
    roles = entity.get("roles")
    return [role for role in roles if isinstance(role, str)] if isinstance(roles, list) else []


def _abuse_email(entities: Iterable[Mapping[str, Any]]) -> str | None:
    for entity in entities:
        if "abuse" not in _roles(entity):
            continue
        emails = _mapping(entity.get("contact")).get("email")
        for email in emails if isinstance(emails, list) else []:
            value = _text(_mapping(email).get("value"))
            if value:
                return value
    return None


def _country_code(value: Any) -> str | None:
    text = _text(value)
    return text.upper() if text and len(text) == 2 and text.isalpha() else None


def _country_from_addresses(addresses: Any) -> str | None:
    for address in addresses if isinstance(addresses, list) else []:
        label = (_text(_mapping(address).get("value")) or "").replace("\\n", "\n")  # some answers escape it
        lines = [line.strip() for line in label.splitlines() if line.strip()]
        if lines and lines[-1].casefold() in _COUNTRY_NAMES:
            return _COUNTRY_NAMES[lines[-1].casefold()]
    return None
