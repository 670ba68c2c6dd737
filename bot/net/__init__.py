"""The one address and network policy: reading addresses, judging them against trust lists, parsing what people type.

- `address`: addresses as IBM i shows them, read leniently (`parse_address`), `unmapped`, `is_local`,
  `render_address` (the same text on every Python);
- `typed`: what a person types in `/ibmi`, on the command line or in the configuration file, read strictly
  (`parse_typed_address`, `parse_typed_network`), refused with an `AddressProblem` that says why;
- `trust`: trusted networks as merged integer ranges (`TrustList`) and addresses as integer keys.

This package is at the bottom of the layers: it imports nothing else of ibmi-warden's.
"""

from bot.net.address import IPAddress, Network, is_local, parse_address, render_address, unmapped
from bot.net.trust import (
    IPV6_KEY_BIT,
    AddressKey,
    TrustList,
    address_from_key,
    address_key,
    address_keys,
    address_text,
    is_local_key,
    key_of,
)
from bot.net.typed import (
    ADDRESS_EXPECTED,
    NETWORK_EXPECTED,
    PROBLEM_KINDS,
    AddressProblem,
    parse_typed_address,
    parse_typed_network,
    plain_address,
    quoted,
)

__all__ = [
    "ADDRESS_EXPECTED",
    "IPV6_KEY_BIT",
    "NETWORK_EXPECTED",
    "PROBLEM_KINDS",
    "AddressKey",
    "AddressProblem",
    "IPAddress",
    "Network",
    "TrustList",
    "address_from_key",
    "address_key",
    "address_keys",
    "address_text",
    "is_local",
    "is_local_key",
    "key_of",
    "parse_address",
    "parse_typed_address",
    "parse_typed_network",
    "plain_address",
    "quoted",
    "render_address",
    "unmapped",
]
