"""Who owns an address: RDAP through ipwhois, with a cache, and local answers for special-purpose ranges.

- `tracer`: `Tracer` (cache, one lookup per address, bounded concurrency) and `normalise`;
- `special`: the special-purpose ranges answered without a lookup (`special_purpose`);
- `owner`: `Owner`, its summary and `describe_owner`, the one description every medium renders;
- `rdap`: reading ipwhois's answer (`owner_from_rdap`);
- `lookup`: the default lookup (`RdapLookup`) and how its failures become a `TraceError` (`errors`).
"""

from bot.trace.errors import ERROR_KINDS, NOT_FOUND_MESSAGE, TraceError
from bot.trace.lookup import ASN_METHODS, Lookup, RdapLookup
from bot.trace.owner import REGISTRY_NAMES, Owner, OwnerDescription, describe_owner
from bot.trace.rdap import owner_from_rdap
from bot.trace.special import special_purpose
from bot.trace.tracer import ACCEPTED, Tracer, normalise

__all__ = [
    "ACCEPTED",
    "ASN_METHODS",
    "ERROR_KINDS",
    "NOT_FOUND_MESSAGE",
    "REGISTRY_NAMES",
    "Lookup",
    "Owner",
    "OwnerDescription",
    "RdapLookup",
    "TraceError",
    "Tracer",
    "describe_owner",
    "normalise",
    "owner_from_rdap",
    "special_purpose",
]
