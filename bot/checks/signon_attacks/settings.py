"""The signon-attacks check's id and its [checks.signon-attacks] settings, validated as they are built.

The default powerful profiles are IBM-supplied profiles (IBM Documentation, "IBM-supplied user profiles",
https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_73/rzarl/rzarlibmprf.htm). QSECOFR is the security officer,
user class *SECOFR, which has every special authority (IBM, "User class",
https://www.ibm.com/support/knowledgecenter/en/ssw_ibm_i_73/rzarl/rzarlusrcls.htm). Which special authorities QSRV,
QSRVBAS, QSYSOPR and QPGMR hold as shipped is unconfirmed here: they are listed because their names are the same
on every system, so they are the first an attacker tries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.checks.audit_journal.judging import check_journal_options, whole_number
from bot.checks.definition import DURATION_OPTION

CHECK_ID = "signon-attacks"
DEFAULT_POWERFUL = ("QSECOFR", "QSRV", "QSRVBAS", "QSYSOPR", "QPGMR")
_PROFILE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$#@_")


def profile_names(key: str, values: object) -> tuple[str, ...]:
    """User profile names (1 to 10 characters: letters, digits, $ # @ _), upper case."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ValueError(f"{key}: must be a list of user profile names, not {values!r}")
    names = []
    for value in values:
        name = value.strip().upper() if isinstance(value, str) else ""
        if not 1 <= len(name) <= 10 or not set(name) <= _PROFILE_CHARS or name[0].isdigit() or name[0] == "_":
            raise ValueError(f"{key}: {value!r} is not a user profile name (1 to 10 letters, digits, $ # @ or _)")
        names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class SignonSettings:
    window: float = field(default=3600.0, metadata=DURATION_OPTION)  # seconds of failed sign-ons judged together
    max_entries: int = 10_000  # PW entries read at most per cycle
    burst: int = 10  # failures from one address within the window
    spray: int = 3  # distinct profiles tried from one address
    distributed: int = 5  # distinct addresses trying one profile
    powerful_profiles: tuple[str, ...] = DEFAULT_POWERFUL  # any failure against one of these is reported

    def __post_init__(self) -> None:
        check_journal_options(self.window, self.max_entries)
        whole_number("burst", self.burst, 1)
        whole_number("spray", self.spray, 2)
        whole_number("distributed", self.distributed, 2)
        object.__setattr__(self, "powerful_profiles", profile_names("powerful_profiles", self.powerful_profiles))

    @property
    def powerful(self) -> frozenset[str]:
        return frozenset(self.powerful_profiles)
