"""signon-attacks: failed sign-ons (PW entries) by address and by profile; its view of the journal; its buttons."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerting import diff
from bot.alerting.render import group_message
from bot.checks import signon_attacks
from bot.checks.audit_journal.auditing import AuditValues
from bot.checks.cycle import PlannedCheck, run_checks
from bot.checks.definition import CheckTarget
from bot.checks.finding import Finding
from bot.checks.signon_attacks import SignonSettings, evaluate
from bot.checks.signon_attacks.rules import Attempt, Failures, group
from bot.config import ConfigError, load_config
from bot.ibmi import sql
from bot.ibmi.audit_journal import JournalEntry
from bot.ibmi.errors import NotAuthorizedError
from bot.journal_memory import StoredJournal
from storage import open_database
from tests.demo_config import write_demo_config
from tests.journal_system import JournalSystem, at
from tests.netstat_rows import LISTEN, TRUSTED, row

SETTINGS = SignonSettings(burst=4, spray=3, distributed=3)
ATTACKER = "210.107.73.73"


def pw(
    profile: str | None = "JSMITH",
    address: str | None = ATTACKER,
    kind: str | None = "P",
    minute: float = -5.0,
    device: str | None = "QPADEV0011",
) -> JournalEntry:
    values = {"VIOLATION_TYPE": kind, "AUDIT_USER_NAME": profile, "DEVICE_NAME": device}
    return JournalEntry("PW", at(minute), remote_address=address, values=values)


def by_subject(findings: list[Finding]) -> dict[str, Finding]:
    subjects = [finding.subject for finding in findings]
    assert len(subjects) == len(set(subjects)), subjects
    return {finding.subject: finding for finding in findings}


# --- the patterns, at their thresholds ----------------------------------------------------------


def test_a_burst_from_one_address_is_reported_at_the_threshold_not_below():
    assert evaluate("PROD", [pw(minute=-i) for i in range(3)], SETTINGS) == []
    [finding] = evaluate("PROD", [pw(minute=-i) for i in range(4)], SETTINGS)
    assert finding.subject == f"address:{ATTACKER}" and finding.severity == "warning"
    assert finding.title == f"4 failed sign-ons from {ATTACKER} as JSMITH"
    assert finding.facts["remote_address"] == ATTACKER and finding.facts["patterns"] == ["burst"]
    assert finding.facts["first"] == at(-3) and finding.facts["last"] == at(0)
    assert "Why: a burst: 4 failures within 1h (burst = 4)." in finding.details
    assert "Device: QPADEV0011 (4)." in finding.details
    assert "Kinds: P password not valid (4)." in finding.details


def test_the_patterns_are_judged_within_one_window_when_a_backlog_spans_more():
    spread = [pw(minute=minute) for minute in (-170, -120, -70, -20)]  # 4 failures, never 2 within the hour
    assert evaluate("PROD", spread, SETTINGS) == []
    sprayed = [pw(profile, minute=minute) for profile, minute in (("ANNA", -200), ("BERT", -130), ("CARL", -60))]
    assert evaluate("PROD", sprayed, SETTINGS) == []
    burst = [pw(minute=-100 + i) for i in range(4)]  # 4 within four minutes, inside three hours of failures
    [finding] = evaluate("PROD", [pw(minute=-200), *burst, pw(minute=-10)], SETTINGS)
    assert finding.title == f"6 failed sign-ons from {ATTACKER} as JSMITH" and finding.facts["patterns"] == ["burst"]
    assert "Why: a burst: 4 failures within 1h (burst = 4)." in finding.details
    assert finding.facts["within_window"] == {"failures": 4, "profiles": 0}
    from_many = [pw("QSECOFR", f"203.0.113.{i}", minute=-200 + 70 * i) for i in range(3)]  # one address an hour
    [single] = evaluate("PROD", from_many, SETTINGS)
    assert single.subject == "profile:QSECOFR" and single.facts["patterns"] == [] and single.severity == "info"


def test_failures_with_and_without_an_address_at_the_same_moment_are_counted_together():
    same_moment = [pw("JSMITH", f"203.0.113.{i}") for i in range(3)] + [pw("JSMITH", None)]
    [finding] = evaluate("PROD", same_moment, SETTINGS)
    assert finding.subject == "profile:JSMITH" and finding.facts["patterns"] == ["distributed"]
    assert finding.facts["within_window"] == {"addresses": 3, "unknown_address": 0}


def test_one_address_trying_many_profiles_is_spraying():
    two = [pw("ANNA"), pw("BERT")]
    assert evaluate("PROD", two, SETTINGS) == []
    [finding] = evaluate("PROD", [*two, pw("CARL", kind="U")], SETTINGS)
    assert finding.facts["patterns"] == ["spray"] and finding.facts["profiles"] == {"ANNA": 1, "BERT": 1, "CARL": 1}
    assert finding.title == f"3 failed sign-ons from {ATTACKER} against 3 profiles"
    assert "Kinds: P password not valid (2), U user name not valid (1)." in finding.details


def test_many_addresses_against_one_profile_is_distributed():
    two = [pw(address="203.0.113.1"), pw(address="203.0.113.2")]
    assert evaluate("PROD", two, SETTINGS) == []
    [finding] = evaluate("PROD", [*two, pw(address="203.0.113.3")], SETTINGS)
    assert finding.subject == "profile:JSMITH" and finding.severity == "warning"
    assert finding.facts["patterns"] == ["distributed"] and "remote_address" not in finding.facts
    assert finding.title == "3 failed sign-ons as JSMITH from 3 addresses"
    assert "Addresses: 203.0.113.1 (1), 203.0.113.2 (1), 203.0.113.3 (1)." in finding.details


def test_any_failure_against_a_powerful_profile_is_told_and_raises_a_pattern_to_critical():
    [single] = evaluate("PROD", [pw("qsecofr")], SETTINGS)
    assert single.subject == "profile:QSECOFR" and single.severity == "info" and single.facts["powerful"]
    burst = by_subject(evaluate("PROD", [pw("QSECOFR", minute=-i) for i in range(4)], SETTINGS))
    assert set(burst) == {f"address:{ATTACKER}", "profile:QSECOFR"}  # the profile alert stays as the attack grows
    assert burst[f"address:{ATTACKER}"].severity == "critical" and burst["profile:QSECOFR"].severity == "info"
    assert burst[f"address:{ATTACKER}"].facts["powerful_profiles"] == ["QSECOFR"]
    mixed = by_subject(evaluate("PROD", [*(pw(minute=-i) for i in range(4)), pw("QSRV", "203.0.113.9")], SETTINGS))
    assert mixed[f"address:{ATTACKER}"].severity == "warning"
    assert mixed["profile:QSRV"].severity == "info"  # from an address below every threshold


def test_the_powerful_profiles_are_configurable():
    settings = SignonSettings(powerful_profiles=["payadm"])
    assert settings.powerful_profiles == ("PAYADM",)
    assert evaluate("PROD", [pw("QSECOFR")], settings) == []
    assert [f.subject for f in evaluate("PROD", [pw("PAYADM")], settings)] == ["profile:PAYADM"]
    assert SignonSettings().powerful_profiles == ("QSECOFR", "QSRV", "QSRVBAS", "QSYSOPR", "QPGMR")


def test_entries_without_an_address_count_per_profile_and_say_the_address_is_unknown():
    nulls = [pw(address=None, minute=-i) for i in range(3)] + [pw(address="not an address")]
    [finding] = evaluate("PROD", nulls, SETTINGS)
    assert finding.subject == "profile:JSMITH" and finding.facts["unknown_address"] == 4
    assert finding.facts["patterns"] == ["burst"] and finding.facts["addresses"] == {}
    assert "4 without a remote address: the address is unknown." in finding.details
    assert evaluate("PROD", nulls[:3], SETTINGS) == []


def test_an_ipv4_mapped_address_is_the_ipv4_address():
    entries = [pw(address=f"::ffff:{ATTACKER}"), *(pw(minute=-i) for i in range(1, 4))]
    [finding] = evaluate("PROD", entries, SETTINGS)
    assert finding.subject == f"address:{ATTACKER}" and finding.facts["failures"] == 4


def test_unknown_and_missing_violation_types_are_shown_never_dropped():
    entries = [pw(kind="M"), pw(kind=None), pw(kind="P"), pw(kind="P")]
    [finding] = evaluate("PROD", entries, SETTINGS)
    assert finding.facts["violation_types"] == {"-": 1, "M": 1, "P": 2}
    kinds = next(line for line in finding.details if line.startswith("Kinds:"))
    assert "M (a code the bot does not know) (1)" in kinds and "violation type not given (1)" in kinds


def test_a_profile_name_missing_from_an_entry_is_named_as_missing():
    [finding] = evaluate("PROD", [pw(None, minute=-i) for i in range(4)], SETTINGS)
    assert finding.facts["profiles"] == {"(no user name)": 4}


def test_subjects_and_fingerprints_stay_while_an_attack_grows():
    first = by_subject(evaluate("PROD", [pw(minute=-i) for i in range(4)], SETTINGS))
    later = by_subject(evaluate("PROD", [pw(minute=-i) for i in range(9)] + [pw("ANNA")], SETTINGS))
    assert first.keys() == later.keys()
    assert first[f"address:{ATTACKER}"].fingerprint == later[f"address:{ATTACKER}"].fingerprint
    assert later[f"address:{ATTACKER}"].facts["failures"] == 10


def test_a_long_profile_list_is_capped():
    entries = [pw(f"USER{i:02d}") for i in range(14)]
    [finding] = evaluate("PROD", entries, SETTINGS)
    assert finding.details[0].endswith("and 4 more.")


# --- still connected? --------------------------------------------------------------------------


class Netstat:
    """NETSTAT answering the keyed statements of sql.read_established_from."""

    def __init__(self, rows: list[Any] | None):
        self.rows = rows
        self.asked: list[list[str]] = []

    def query(self, statement: str, params: Any = ()) -> list[dict[str, Any]]:
        if self.rows is None:
            raise NotAuthorizedError("[SQL0551] Not authorized to QSYS2.NETSTAT_INFO.")
        if statement == sql.LISTENING_SOCKETS:
            return [{"LISTENING": sum(1 for r in self.rows if r.tcp_state == "LISTEN")}]
        self.asked.append(list(params))
        return [{"REMOTE_ADDRESS": f"{r.remote_address}  "} for r in self.rows if r.tcp_state == "ESTABLISHED"]


def test_connected_is_asked_by_key_for_the_reported_addresses_only_true_false_or_unknown():
    netstat = Netstat([LISTEN, row(f"::ffff:{ATTACKER}"), row("203.0.113.5", state="TIME_WAIT")])
    lookup = signon_attacks.ConnectionLookup(netstat, listening=True)  # type: ignore[arg-type]
    connected = lookup.connected([ATTACKER])
    assert connected == {ATTACKER} and netstat.asked == [[ATTACKER, f"::ffff:{ATTACKER}"]]  # both spellings
    no_listening = signon_attacks.ConnectionLookup(Netstat([row(ATTACKER)]), listening=False)  # type: ignore[arg-type]
    assert no_listening.connected([ATTACKER]) is None  # the profile cannot see the connections: unknown
    refused = signon_attacks.ConnectionLookup(Netstat(None), listening=True)  # type: ignore[arg-type]
    assert refused.connected([ATTACKER]) is None
    assert lookup.connected([]) == set() and len(netstat.asked) == 1  # nothing reported: nothing asked
    entries = [pw(minute=-i) for i in range(4)]
    for seen, expected, line in (
        (connected, True, "Still connected"),
        ({"203.0.113.5"}, False, "Not connected now"),
        (None, None, "Whether it is still connected is unknown"),
    ):
        [finding] = evaluate("PROD", entries, SETTINGS, seen)
        assert finding.facts["connected"] is expected
        assert finding.details[-1].startswith(line)


def test_a_trusted_address_is_still_reported_and_said_to_be_trusted():
    entries = [pw(address="10.9.9.9", minute=-i) for i in range(4)]
    [finding] = evaluate("PROD", entries, SETTINGS, None, TRUSTED)
    assert finding.facts["trusted"] is True and "trusted networks" in finding.details[-1]


# --- the buttons -------------------------------------------------------------------------------


def buttons(finding: Finding) -> list[str]:
    message = group_message(finding.system, finding.check, [diff.seen(None, finding, 1_800_000_000.0)])
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_end_connection_is_offered_only_while_the_address_may_still_be_connected():
    entries = [pw(minute=-i) for i in range(4)]
    address_buttons = ["Trace owner", "Trust…", "End connection…", "Silence 24h"]
    assert buttons(evaluate("PROD", entries, SETTINGS, {ATTACKER})[0]) == address_buttons
    assert buttons(evaluate("PROD", entries, SETTINGS, None)[0]) == address_buttons  # unknown: offered
    assert buttons(evaluate("PROD", entries, SETTINGS, set())[0]) == ["Trace owner", "Trust…", "Silence 24h"]


def test_a_finding_about_a_profile_has_no_address_buttons():
    [finding] = evaluate("PROD", [pw("QSECOFR")], SETTINGS)
    assert buttons(finding) == ["Silence 24h"]


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": 0}, "window: must be a duration of more than 0 seconds"),
        ({"window": "1h"}, "window: must be a duration"),
        ({"max_entries": 0}, "max_entries: must be a whole number from 1 to 100000"),
        ({"max_entries": 100_001}, "max_entries: must be a whole number from 1 to 100000"),
        ({"max_entries": True}, "max_entries: must be a whole number"),
        ({"burst": 0}, "burst: must be a whole number of at least 1"),
        ({"spray": 1}, "spray: must be a whole number of at least 2"),
        ({"distributed": 1.5}, "distributed: must be a whole number of at least 2"),
        ({"powerful_profiles": "QSECOFR"}, "powerful_profiles: must be a list of user profile names"),
        ({"powerful_profiles": ["QSECOFR", "TOO-LONG-NAME"]}, "'TOO-LONG-NAME' is not a user profile name"),
    ],
)
def test_bad_settings_say_what_is_wrong(options: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        SignonSettings(**options)


def config_with(tmp_path: Path, table: str) -> Path:
    return write_demo_config(tmp_path, "[checks.signon-attacks]\n" + table)


def test_the_configuration_reads_the_window_as_a_duration(tmp_path: Path):
    config = load_config(config_with(tmp_path, 'window = "30m"\nburst = 20\ninterval = "2m"\n'), env={})
    check = config.checks["signon-attacks"]
    assert check.interval == 120.0 and check.options == {"window": 1800.0, "burst": 20}
    assert signon_attacks.CHECK.default_interval == 60.0


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('window = "0s"\n', "checks.signon-attacks.window"),
        ('window = "soon"\n', "checks.signon-attacks.window"),
        ("max_entries = 0\n", "checks.signon-attacks.max_entries"),
        ("spray = 1\n", "checks.signon-attacks.spray"),
        ("brust = 3\n", "checks.signon-attacks.brust"),
    ],
)
def test_a_wrong_option_is_a_configuration_problem_naming_the_key(tmp_path: Path, table: str, problem: str):
    with pytest.raises(ConfigError) as caught:
        load_config(config_with(tmp_path, table), env={})
    assert any(problem in text for text in caught.value.problems), caught.value.problems


# --- the check in a cycle, against a fake system -------------------------------------------------


def cycle(system: JournalSystem, memory: Any = None, **options: Any) -> list[Finding]:
    planned = PlannedCheck(signon_attacks.CHECK, signon_attacks.CHECK.build_settings(options))
    [outcome] = run_checks(system, CheckTarget("PROD"), [planned], journal=memory)  # type: ignore[arg-type]
    assert outcome.error is None, outcome.error
    return outcome.findings


def attack(system: JournalSystem, count: int = 12, start: float = -10.0) -> None:
    for i in range(count):
        system.add(
            "PW",
            at(start + i * 0.1),
            REMOTE_ADDRESS=ATTACKER,
            USER_NAME="QUSER",
            JOB_NAME="QTVDEVICE",
            VIOLATION_TYPE="P",
            AUDIT_USER_NAME="QSECOFR   ",
            DEVICE_NAME="QPADEV0011",
        )


def test_a_cycle_reports_the_telnet_burst_with_its_connection():
    system = JournalSystem()
    attack(system)
    system.connections = [LISTEN, row(ATTACKER)]
    found = by_subject(cycle(system))
    finding = found[f"address:{ATTACKER}"]
    assert finding.severity == "critical" and found["profile:QSECOFR"].severity == "info"
    assert finding.facts["connected"] is True and finding.facts["failures"] == 12


def test_unreadable_netstat_leaves_connected_unknown_and_the_attack_reported():
    system = JournalSystem()
    attack(system)
    system.connections = None
    assert by_subject(cycle(system))[f"address:{ATTACKER}"].facts["connected"] is None


@pytest.mark.parametrize(
    ("values", "severity", "title"),
    [
        ({"QAUDLVL": "*SECURITY"}, "warning", "cannot see: this system does not record PW audit entries"),
        ({"QAUDCTL": "*OBJAUD"}, "warning", "cannot see: this system does not record PW audit entries"),
    ],
)
def test_events_not_recorded_are_said_and_the_entries_that_arrive_still_judged(values, severity, title):
    system = JournalSystem()
    system.audit_values.update(values)
    attack(system)
    found = by_subject(cycle(system))
    assert set(found) == {"not-recorded:PW", f"address:{ATTACKER}", "profile:QSECOFR"}
    assert found["not-recorded:PW"].severity == severity and title in found["not-recorded:PW"].title


def test_audit_values_the_profile_may_not_read_are_cannot_tell_until_entries_arrive():
    system = JournalSystem()
    system.audit_values.update({"QAUDCTL": "*NOTAVL", "QAUDLVL": "*NOTAVL"})
    [unknown] = cycle(system)
    assert unknown.severity == "info" and "cannot tell whether this system records PW" in unknown.title
    attack(system)
    assert "not-recorded:PW" not in by_subject(cycle(system))  # the entries read show they are recorded


def test_recorded_events_and_nothing_happening_is_no_finding():
    assert AuditValues(("*AUDLVL",), ("*AUTFAIL",), ()).recording("PW").recorded is True
    assert cycle(JournalSystem()) == []


def test_a_journal_the_profile_may_not_read_is_cannot_see():
    system = JournalSystem()
    system.refused.add("PW")
    [finding] = cycle(system)
    assert finding.subject == "journal-visibility" and finding.severity == "warning"
    assert "SQL0551" in finding.details[0]


def test_a_lost_receiver_is_said_once_and_the_attack_stays_one_alert(tmp_path: Path):
    storage = open_database(tmp_path / "warden.db", "test")
    try:
        memory = StoredJournal(storage, "PROD", clock=lambda: 1.0)
        system = JournalSystem()
        attack(system, 6)
        first = by_subject(cycle(system, memory, burst=4))
        assert set(first) == {f"address:{ATTACKER}", "profile:QSECOFR"}
        system.attached = ("QSYS", "QAUDRCV0002")
        system.receivers = {("QSYS", "QAUDRCV0002")}
        attack(system, 6, start=-4.0)
        second = by_subject(cycle(system, memory, burst=4))
        assert set(second) == {"journal-position", f"address:{ATTACKER}", "profile:QSECOFR"}
        assert "QSYS/QAUDRCV0001" in second["journal-position"].details[0]
        assert second[f"address:{ATTACKER}"].facts["failures"] == 12  # the kept entries and the new ones
        assert second[f"address:{ATTACKER}"].fingerprint == first[f"address:{ATTACKER}"].fingerprint
        third = by_subject(cycle(system, memory, burst=4))
        assert set(third) == {f"address:{ATTACKER}", "profile:QSECOFR"}  # said once
        assert third[f"address:{ATTACKER}"].facts["failures"] == 12  # nothing counted twice
    finally:
        storage.close()


def test_the_window_decides_what_is_judged():
    system = JournalSystem()
    attack(system, 12, start=-90.0)  # an hour and a half ago
    assert cycle(system) == []
    assert f"address:{ATTACKER}" in by_subject(cycle(system, window=7200.0))


def test_max_entries_bounds_a_cycle_and_the_backlog_is_caught_up(tmp_path: Path):
    storage = open_database(tmp_path / "warden.db", "test")
    try:
        memory = StoredJournal(storage, "PROD", clock=lambda: 1.0)
        system = JournalSystem()
        attack(system, 12)
        options = {"max_entries": 5, "burst": 10, "powerful_profiles": []}
        assert cycle(system, memory, **options) == []  # 5 read: below the burst
        assert cycle(system, memory, **options) == []  # 10 read
        [finding] = cycle(system, memory, **options)
        assert finding.facts["failures"] == 12
    finally:
        storage.close()


@given(
    failures=st.lists(
        st.tuples(st.integers(0, 20_000), st.sampled_from(["QSECOFR", "JSMITH", "ADMIN", None])), max_size=40
    ),
    window=st.sampled_from([60.0, 600.0, 3600.0]),
)
def test_the_most_within_a_window_is_the_largest_count_of_any_window(
    failures: list[tuple[int, str | None]], window: float
) -> None:
    """`most_within` against counting every window that starts at a failure (the most always is one of them)."""
    tally = Failures()
    for second, other in failures:
        tally.times.append((float(second), other))

    def brute(distinct: bool, unknown_only: bool) -> int:
        items = [(second, other) for second, other in failures if not unknown_only or other is None]
        counts = [0]
        for start, _ in items:
            inside = [other for second, other in items if start <= second <= start + window]
            counts.append(len({o for o in inside if o is not None}) if distinct else len(inside))
        return max(counts)

    assert tally.most_within(window) == brute(False, False)
    assert tally.most_within(window, distinct=True) == brute(True, False)
    assert tally.most_within(window, unknown_only=True) == brute(False, True)


@given(
    attempts=st.lists(
        st.builds(
            Attempt,
            timestamp=st.sampled_from(
                ["2026-12-03 10:00:00.000000", "2026-12-03 10:05:00.000000", "2026-12-03 11:00:00.000000"]
            ),
            at=st.floats(0, 10_000),
            kind=st.sampled_from(["P", "U", "Q"]),
            address=st.sampled_from(["203.0.113.9", "198.51.100.7", None]),
            profile=st.sampled_from(["QSECOFR", "JSMITH", "(no user name)"]),
            device=st.sampled_from(["QPADEV0001", None]),
        ),
        max_size=30,
    )
)
def test_grouping_counts_every_attempt_of_an_address_and_of_a_profile(attempts: list[Attempt]) -> None:
    by_address, by_profile = group(attempts)
    assert set(by_address) == {a.address for a in attempts if a.address is not None}
    assert set(by_profile) == {a.profile for a in attempts}
    for key, failures, of_group, other in [
        *((address, f, [a for a in attempts if a.address == address], "profile") for address, f in by_address.items()),
        *((profile, f, [a for a in attempts if a.profile == profile], "address") for profile, f in by_profile.items()),
    ]:
        others = [getattr(a, other) for a in of_group]
        assert failures.count == len(of_group), key
        assert (failures.first, failures.last) == (
            min(a.timestamp for a in of_group),
            max(a.timestamp for a in of_group),
        )
        assert failures.kinds == Counter(a.kind for a in of_group)
        assert failures.others == Counter(o for o in others if o is not None)
        assert failures.unknown_address == others.count(None)
        assert failures.devices == Counter(a.device for a in of_group if a.device)
        assert failures.times == [(a.at, o) for a, o in zip(of_group, others, strict=True)]
