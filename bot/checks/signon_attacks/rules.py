"""signon-attacks: failed sign-ons (PW audit journal entries) grouped by remote address and by profile.

IBM sources: "PW (Password) journal entries" (https://www.ibm.com/support/knowledgecenter/en/ssw_ibm_i_73/rzarl/rzarlf45.htm)
gives the violation types below and says the user name field holds "the job user name or the service tools user ID
name" and the device name field "the name of the device or communications device on which the password or user ID
was entered". SYSTOOLS.AUDIT_JOURNAL_PW returns them as VIOLATION_TYPE (the name is confirmed for AF, unconfirmed
for PW), AUDIT_USER_NAME and DEVICE_NAME (IBM's ACS example selects both); REMOTE_ADDRESS is a header column and may
be null. Every PW entry is counted as a failed sign-on; the finding names its kinds.

Patterns, within the window: a burst (at least `burst` failures from one address), spraying (at least `spray`
profiles from one address), distributed (at least `distributed` addresses against one profile), and an entry
without an address still counts towards its profile's burst. Severity: warning for a pattern, critical when the
group includes a powerful profile. Every powerful profile with failures has its own finding (info unless a profile
pattern makes it more), so an attack on QSECOFR stays one profile alert as it grows into an address pattern.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import count, repeat
from operator import attrgetter, itemgetter, sub
from typing import Any, NamedTuple

from bot.checks.audit_journal.judging import Tally, counted, violation_of
from bot.checks.finding import Finding
from bot.checks.signon_attacks.settings import CHECK_ID, SignonSettings
from bot.ibmi.audit_journal import JournalEntry
from bot.net import TrustList, address_key, address_text

# IBM, "PW (Password) journal entries": the violation type codes.
PW_VIOLATIONS = {
    "A": "APPC bind failure",
    "C": "user authentication with CHKPWD failed",
    "D": "service tools user ID name not valid",
    "E": "service tools user ID password not valid",
    "P": "password not valid",
    "Q": "user profile is disabled",
    "R": "user password was expired",
    "S": "SQL decryption password is not valid",
    "U": "user name not valid",
    "X": "service tools user ID is disabled",
    "Y": "service tools user ID not valid",
    "Z": "service tools user ID password not valid",
}
NO_PROFILE = "(no user name)"


class Attempt(NamedTuple):
    """A failed sign-on as the check counts it: what one PW entry says."""

    timestamp: str
    at: float  # the timestamp in seconds (only differences between attempts are used)
    kind: str  # VIOLATION_TYPE (judging.violation_of)
    address: str | None  # the remote address as text (IPv4-mapped IPv6 read as IPv4); None when unusable
    profile: str
    device: str | None


@lru_cache(maxsize=4096)  # an attack repeats its address
def _address_as_text(written: str | None) -> str | None:
    key = address_key(written)
    return address_text(key) if key is not None else None


def attempt_of(entry: JournalEntry) -> Attempt:
    """The entry read: depends on the entry alone, so a run may keep it for the next (memo.EntryMemo)."""
    address = _address_as_text(entry.remote_address)
    at = (datetime.fromisoformat(entry.timestamp) - _EPOCH).total_seconds()
    return Attempt(entry.timestamp, at, violation_of(entry), address, profile_of(entry), entry.text("DEVICE_NAME"))


_EPOCH = datetime(1970, 1, 1)
_TIMESTAMP, _AT, _KIND = attrgetter("timestamp"), attrgetter("at"), attrgetter("kind")
_ADDRESS, _PROFILE, _DEVICE = attrgetter("address"), attrgetter("profile"), attrgetter("device")


@dataclass
class Failures(Tally):
    """The failed sign-ons of one address or one profile within the window."""

    others: Counter[str] = field(default_factory=Counter)  # profiles of an address, addresses of a profile
    unknown_address: int = 0  # of a profile: entries without a usable REMOTE_ADDRESS
    devices: Counter[str] = field(default_factory=Counter)
    times: list[tuple[float, str | None]] = field(default_factory=list)  # (Attempt.at, the other) of each failure

    @classmethod
    def of(cls, attempts: Sequence[Attempt], others: Sequence[str | None]) -> Failures:
        """The failures of one group, each attempt with its other (its profile, or its address: None when it has
        none), counted a column at a time."""
        stamps = list(map(_TIMESTAMP, attempts))
        return cls(
            count=len(attempts),
            first=min(stamps),
            last=max(stamps),
            kinds=Counter(map(_KIND, attempts)),
            others=Counter(other for other in others if other is not None),
            unknown_address=others.count(None),
            devices=Counter(filter(None, map(_DEVICE, attempts))),
            times=list(zip(map(_AT, attempts), others, strict=True)),
        )

    def most_within(self, window: float, *, distinct: bool = False, unknown_only: bool = False) -> int:
        """The most failures within any `window` seconds (a backlog's run judges a longer span); `distinct`: the
        most distinct others instead; `unknown_only`: only the failures without an other."""
        if not distinct:  # the most failures in a window starting at one of them: one binary search each
            ats = sorted(at for at, other in self.times if not unknown_only or other is None)
            return max(map(sub, map(bisect_right, repeat(ats), [at + window for at in ats]), count()), default=0)
        times = sorted((item for item in self.times if not unknown_only or item[1] is None), key=itemgetter(0))
        inside: Counter[str | None] = Counter()
        most = start = 0
        for at, other in times:
            inside[other] += 1
            while at - times[start][0] > window:
                gone = times[start][1]
                inside[gone] -= 1
                if not inside[gone]:
                    del inside[gone]
                start += 1
            most = max(most, len(inside) - (None in inside))
        return most

    def common_facts(self) -> dict[str, Any]:
        return {**self.facts(), "devices": dict(sorted(self.devices.items()))}

    def common_details(self) -> list[str]:
        details = [self.times_detail()]
        if self.devices:
            details.append(f"Device{'s' if len(self.devices) > 1 else ''}: {counted(dict(self.devices))}.")
        details.append(self.kinds_detail(PW_VIOLATIONS))
        return details


def profile_of(entry: JournalEntry) -> str:
    name = entry.text("AUDIT_USER_NAME")
    return name.upper() if name else NO_PROFILE


def group(attempts: Iterable[Attempt]) -> tuple[dict[str, Failures], dict[str, Failures]]:
    """The failures by remote address and by profile."""
    of_address: dict[str, list[Attempt]] = {}
    of_profile: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        if attempt.address is not None:
            if (same_address := of_address.get(attempt.address)) is None:
                of_address[attempt.address] = [attempt]
            else:
                same_address.append(attempt)
        if (same_profile := of_profile.get(attempt.profile)) is None:
            of_profile[attempt.profile] = [attempt]
        else:
            same_profile.append(attempt)
    by_address = {address: Failures.of(each, list(map(_PROFILE, each))) for address, each in of_address.items()}
    by_profile = {profile: Failures.of(each, list(map(_ADDRESS, each))) for profile, each in of_profile.items()}
    return by_address, by_profile


def evaluate(
    system: str,
    entries: Sequence[JournalEntry],
    settings: SignonSettings,
    connected: set[str] | None | Callable[[Iterable[str]], set[str] | None] = None,
    trusted: TrustList | None = None,
    attempts_of: Callable[[Sequence[JournalEntry]], list[Attempt]] | None = None,
) -> list[Finding]:
    """Address findings, then profile findings, each sorted by subject. `connected`: the addresses connected now
    (None: unknown), or how to ask it for the addresses reported. `attempts_of` reads the entries (`attempt_of`
    for each; the check passes one that keeps the answers from run to run)."""
    by_address, by_profile = group(attempts_of(entries) if attempts_of else [attempt_of(e) for e in entries])
    powerful, window = settings.powerful, settings.window
    findings = []
    reported = []
    for address, failures in sorted(by_address.items()):
        # The patterns are judged within one window: a backlog's run judges a longer span.
        within = {"failures": 0, "profiles": 0}
        if failures.count >= settings.burst:
            within["failures"] = failures.most_within(window)
        if len(failures.others) >= settings.spray:
            within["profiles"] = failures.most_within(window, distinct=True)
        patterns = _met({"burst": (within["failures"], settings.burst), "spray": (within["profiles"], settings.spray)})
        if patterns:
            reported.append((address, failures, patterns, within))
    if callable(connected):
        connected = connected(address for address, *_ in reported) if reported else set()
    for address, failures, patterns, within in reported:
        findings.append(_address_finding(system, address, failures, patterns, within, settings, connected, trusted))
    for profile, failures in sorted(by_profile.items()):
        within = {"addresses": 0, "unknown_address": 0}
        if len(failures.others) >= settings.distributed:
            within["addresses"] = failures.most_within(window, distinct=True)
        if failures.unknown_address >= settings.burst:
            within["unknown_address"] = failures.most_within(window, unknown_only=True)
        patterns = _met(
            {
                "distributed": (within["addresses"], settings.distributed),
                "burst": (within["unknown_address"], settings.burst),
            }
        )
        if patterns or profile in powerful:
            findings.append(_profile_finding(system, profile, failures, patterns, within, settings))
    return findings


def _met(measured: dict[str, tuple[int, int]]) -> list[str]:
    """The patterns whose measure (pattern -> (measured, threshold)) reaches its threshold, in the order given."""
    return [pattern for pattern, (most, threshold) in measured.items() if most >= threshold]


def _severity(patterns: Sequence[str], powerful: bool) -> str:
    if patterns:
        return "critical" if powerful else "warning"
    return "info"


PATTERN_TEXT = {
    "burst": "a burst: {count} failures within {window} (burst = {burst})",
    "spray": "spraying: {profiles} profiles tried (spray = {spray})",
    "distributed": "distributed: {addresses} addresses (distributed = {distributed})",
}


def _why(patterns: Sequence[str], settings: SignonSettings, **values: Any) -> str:
    said = [
        PATTERN_TEXT[p].format(burst=settings.burst, spray=settings.spray, distributed=settings.distributed, **values)
        for p in patterns
    ]
    return "Why: " + "; ".join(said) + "."


def _address_finding(
    system: str,
    address: str,
    failures: Failures,
    patterns: list[str],
    within: dict[str, int],
    settings: SignonSettings,
    connected: set[str] | None,
    trusted: TrustList | None,
) -> Finding:
    profiles = dict(failures.others)
    powerful = sorted(set(profiles) & settings.powerful)
    window = _window(settings)
    count = failures.count
    title = f"{count} failed sign-on{'s' if count != 1 else ''} from {address}"
    title += f" against {len(profiles)} profiles" if len(profiles) > 1 else f" as {next(iter(profiles))}"
    details = [f"Profiles tried: {counted(profiles)}."]
    if powerful:
        details.append(f"Powerful profile{'s' if len(powerful) > 1 else ''} tried: {', '.join(powerful)}.")
    details.append(_why(patterns, settings, count=within["failures"], window=window, profiles=within["profiles"]))
    details += failures.common_details()
    is_connected = None if connected is None else address in connected
    details.append(CONNECTED_TEXT[is_connected])
    key = address_key(address)
    is_trusted = trusted is not None and key is not None and trusted.contains_key(key)
    if is_trusted:
        details.append(
            "The address is in this system's trusted networks: a trusted address trying passwords is "
            "still an attack, or a broken script."
        )
    return Finding(
        system=system,
        check=CHECK_ID,
        severity=_severity(patterns, bool(powerful)),
        subject=f"address:{address}",
        title=title,
        details=tuple(details),
        facts={
            "remote_address": address,
            "connected": is_connected,
            "trusted": is_trusted,
            "patterns": list(patterns),
            "profiles": dict(sorted(profiles.items())),
            "powerful_profiles": powerful,
            "window_seconds": settings.window,
            "within_window": within,
            **failures.common_facts(),
        },
    )


CONNECTED_TEXT: dict[bool | None, str] = {
    True: "Still connected: NETSTAT shows an established connection from it now.",
    False: "Not connected now: NETSTAT shows no established connection from it.",
    None: "Whether it is still connected is unknown: NETSTAT could not be read or shows no listening socket.",
}


def _profile_finding(
    system: str, profile: str, failures: Failures, patterns: list[str], within: dict[str, int], settings: SignonSettings
) -> Finding:
    addresses = dict(failures.others)
    powerful = profile in settings.powerful
    count = failures.count
    title = f"{count} failed sign-on{'s' if count != 1 else ''} as {profile}"
    if len(addresses) > 1:
        title += f" from {len(addresses)} addresses"
    details = []
    if addresses:
        details.append(f"Addresses: {counted(addresses)}.")
    if failures.unknown_address:
        details.append(f"{failures.unknown_address} without a remote address: the address is unknown.")
    if powerful:
        details.append(f"{profile} is a powerful profile (powerful_profiles).")
    if patterns:
        details.append(
            _why(
                patterns,
                settings,
                count=within["unknown_address"],
                window=_window(settings),
                addresses=within["addresses"],
            )
        )
    details += failures.common_details()
    return Finding(
        system=system,
        check=CHECK_ID,
        severity=_severity(patterns, powerful),
        subject=f"profile:{profile}",
        title=title,
        details=tuple(details),
        facts={
            "profile": profile,
            "powerful": powerful,
            "patterns": list(patterns),
            "addresses": dict(sorted(addresses.items())),
            "unknown_address": failures.unknown_address,
            "window_seconds": settings.window,
            "within_window": within,
            **failures.common_facts(),
        },
    )


def _window(settings: SignonSettings) -> str:
    seconds = settings.window
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
