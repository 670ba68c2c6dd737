"""smtp-relay is pure: SMTP status, list entries, an optional probe result and settings in, findings out."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.checks import smtp_relay
from bot.checks.smtp_relay import (
    CHECK_ID,
    SmtpRelaySettingError,
    SmtpRelaySettings,
    accept_prefix,
    evaluate,
    smtp_running,
    too_broad,
)
from bot.checks.smtp_relay.probe import ProbeResult
from bot.ibmi import sql
from bot.ibmi.rows import ActiveJob, RelayPolicy, SmtpListEntry, SmtpListReading, SmtpStatus
from bot.ibmi_settings import open_system
from tests.conftest import demo_settings

UNKNOWN = RelayPolicy(None, "unknown", sql.RELAY_POLICY_UNREADABLE)
SERVER = ActiveJob("012301/QTCP/QTSMTPSRVD", "SELW", "QSYSWRK")
CLIENT = ActiveJob("012302/QTCP/QTSMTPCLTD", "DEQW", "QSYSWRK")
RUNNING = SmtpStatus(True, (SERVER, CLIENT), UNKNOWN)
NO_LISTS = SmtpListReading(readable=True, members=("ACCEPT", "REJECT"))
FORBIDDEN_WORDS = re.compile(r"\b(fine|ok|okay|safe)\b", re.IGNORECASE)


def lists(*entries: tuple[str, str, str | None]) -> SmtpListReading:
    rows = tuple(
        SmtpListEntry(member, address, mask, (f"{address} {mask or ''}".strip(),)) for member, address, mask in entries
    )
    return SmtpListReading(readable=True, entries=rows, members=("ACCEPT", "REJECT"))


def text_of(finding) -> str:
    return " ".join((finding.title, *finding.details))


def by_subject(findings) -> dict:
    return {f.subject: f for f in findings}


def probe_result(accepted: bool | None, code: int | None = 250, error: str | None = None) -> ProbeResult:
    return ProbeResult(
        accepted=accepted,
        stage="connect" if error else "rcpt",
        code=code,
        message="" if code is None else {250: "OK", 550: "5.7.1 Relaying denied", 451: "4.3.0 Later"}.get(code, "x"),
        transcript=()
        if error
        else ("C: (connect to 192.0.2.5 port 25)", "S: 220 ready", "C: RCPT TO:<x@example.com>", f"S: {code} reply"),
        error=error,
        host="192.0.2.5",
        port=25,
        local_address=None if error else "10.20.30.40",
        sender="relay-probe@example.org",
        recipient="relay-probe@example.com",
    )


# --- is SMTP running --------------------------------------------------------------------------------


def test_smtp_not_running_gives_no_findings_even_with_risky_lists_or_attested_all():
    stopped = SmtpStatus(False, (CLIENT,), UNKNOWN)  # the client daemon alone does not relay
    assert smtp_running(stopped) is False
    risky = lists(("ACCEPT", "0.0.0.0", "0.0.0.0"))
    assert evaluate("PROD", stopped, risky, None, SmtpRelaySettings(attested_policy="*ALL")) == []
    assert evaluate("PROD", SmtpStatus(False, None, UNKNOWN), None) == []
    assert evaluate("PROD", SmtpStatus(None, (), UNKNOWN), SmtpListReading(False, problem="x")) == []


def test_listening_or_a_server_job_or_an_answering_probe_each_mean_running():
    assert smtp_running(SmtpStatus(True, (), UNKNOWN)) is True
    assert smtp_running(SmtpStatus(False, (SERVER,), UNKNOWN)) is True
    prestart = ActiveJob("012399/QTCP/QTMSMTPSRVP", "PSRW", "QSYSWRK")
    assert smtp_running(SmtpStatus(None, (prestart,), UNKNOWN)) is True
    assert smtp_running(SmtpStatus(False, (), UNKNOWN), probe_result(False, 550)) is True
    assert smtp_running(SmtpStatus(False, (), UNKNOWN), probe_result(None, None, "connection refused")) is False


def test_cannot_see_whether_smtp_runs_is_one_info_finding_and_the_rest_still_applies():
    blind = SmtpStatus(None, None, UNKNOWN)
    findings = evaluate("PROD", blind, NO_LISTS)
    subjects = by_subject(findings)
    assert list(subjects) == ["smtp-visibility", "relay-policy-unknown"]
    assert subjects["smtp-visibility"].severity == "info"
    assert subjects["smtp-visibility"].title == "Cannot see whether SMTP runs"
    attested = evaluate("PROD", blind, NO_LISTS, None, SmtpRelaySettings(attested_policy="*NONE"))
    assert [f.subject for f in attested] == ["smtp-visibility"]


# --- the relay policy ---------------------------------------------------------------------------------


def test_unknown_policy_is_one_info_finding_that_says_what_would_help_and_never_that_it_is_fine():
    [finding] = evaluate("PROD", RUNNING, NO_LISTS)
    assert (finding.check, finding.severity, finding.subject) == (CHECK_ID, "info", "relay-policy-unknown")
    assert finding.title == "Cannot determine the SMTP relay policy"
    text = text_of(finding)
    assert "no SQL service, API or file" in text and "CHGSMTPA ALWRLY" in text
    assert "set attested_policy under [checks.smtp-relay]" in text
    assert "the prompt (F4) or IBM Navigator" in text
    assert "enable the active probe (probe = true)" in text
    assert not FORBIDDEN_WORDS.search(text)
    assert finding.facts["relay_policy"] is None


def test_attested_all_is_critical_and_labelled_attested():
    configured = SmtpRelaySettings(attested_policy="all", attested_by="J. Smith, 2025-03-01")
    [finding] = evaluate("PROD", RUNNING, NO_LISTS, None, configured)
    assert (finding.severity, finding.subject) == ("critical", "relay-policy")
    assert finding.title.startswith("Open relay: anyone can send mail through this system")
    assert "attested in config by J. Smith, 2025-03-01" in finding.title
    assert "open access, very risky" in text_of(finding)
    assert finding.facts["relay_policy"] == "*ALL" and finding.facts["source"].startswith("attested")
    assert finding.facts["fix_command"] == "QSYS/CHGSMTPA ALWRLY(*LIST)"
    assert "ALWRLY(*NONE) also blocks mail the system itself sends" in text_of(finding)


@pytest.mark.parametrize("policy", ["*NONE", "*LIST", "*NEAR", "*BOTH", "list", "*near"])
def test_restricted_policies_give_no_policy_finding(policy: str):
    assert evaluate("PROD", RUNNING, NO_LISTS, None, SmtpRelaySettings(attested_policy=policy)) == []


def test_a_policy_set_by_ibmi_warden_is_used_and_labelled_with_its_source():
    set_by_bot = SmtpStatus(True, (SERVER,), RelayPolicy("*ALL", "set by ibmi-warden", "approval 42"))
    [finding] = evaluate("PROD", set_by_bot, NO_LISTS)
    assert finding.severity == "critical" and "set by ibmi-warden" in finding.title
    restricted = SmtpStatus(True, (SERVER,), RelayPolicy("*LIST", "set by ibmi-warden"))
    assert evaluate("PROD", restricted, NO_LISTS) == []


def test_conflicting_claims_report_the_open_one_and_name_the_other():
    restricted = SmtpStatus(True, (SERVER,), RelayPolicy("*LIST", "set by ibmi-warden"))
    [finding] = evaluate("PROD", restricted, NO_LISTS, None, SmtpRelaySettings(attested_policy="*ALL"))
    assert finding.severity == "critical" and "attested in config" in finding.title
    assert "Note: another source (set by ibmi-warden) gives ALWRLY(*LIST)." in finding.details


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"attested_policy": "*OPEN"}, "attested_policy"),
        ({"max_accept_prefix": 33}, "max_accept_prefix"),
        ({"max_accept_prefix": True}, "max_accept_prefix"),
        ({"probe": "yes"}, "probe"),
        ({"probe_recipient": "x@example.com\r\nDATA"}, "probe_recipient"),
        ({"probe_sender": "not an address"}, "probe_sender"),
        ({"probe_port": 70000}, "probe_port"),
        ({"probe_timeout": -1}, "probe_timeout"),
        ({"probe_host": "bad host"}, "probe_host"),
    ],
)
def test_bad_settings_name_the_key(arguments: dict, key: str):
    with pytest.raises(SmtpRelaySettingError) as raised:
        SmtpRelaySettings(**arguments)
    assert raised.value.key == key and str(raised.value).startswith(f"{key}: ")


def test_settings_normalise_the_attested_policy():
    assert SmtpRelaySettings(attested_policy=" both ").attested_policy == "*BOTH"
    assert SmtpRelaySettings().probe is False


# --- the *ACCEPT list ---------------------------------------------------------------------------------

ATTESTED_LIST = SmtpRelaySettings(attested_policy="*LIST")


def test_mask_zero_accepts_relay_from_every_address():
    [finding] = evaluate("PROD", RUNNING, lists(("ACCEPT", "0.0.0.0", "0.0.0.0")), None, ATTESTED_LIST)
    assert (finding.severity, finding.subject) == ("warning", "accept:0.0.0.0/0")
    assert "accepts relay from every address" in finding.title
    assert finding.facts["member"] == "ACCEPT" and "unconfirmed" in finding.facts["member_heuristic"]
    assert finding.facts["remove_command"] == "QSYS/RMVSMTPLE TYPE(*ACCEPT) INTNETADR('0.0.0.0') SUBNETMASK('0.0.0.0')"
    assert any("member ACCEPT" in line for line in finding.details)


def test_the_default_boundary_is_slash_24():
    reading = lists(
        ("ACCEPT", "10.1.1.0", "255.255.255.0"),
        ("ACCEPT", "10.2.0.0", "255.255.254.0"),
        ("ACCEPT", "10.3.3.3", None),
    )
    [finding] = evaluate("PROD", RUNNING, reading, None, ATTESTED_LIST)
    assert finding.subject == "accept:10.2.0.0/23" and finding.severity == "warning"
    assert "512 addresses" in finding.title and "broader than /24" in finding.title


def test_the_boundary_follows_max_accept_prefix():
    reading = lists(("ACCEPT", "10.1.1.0", "255.255.255.0"))
    strict = SmtpRelaySettings(attested_policy="*LIST", max_accept_prefix=28)
    assert [f.subject for f in evaluate("PROD", RUNNING, reading, None, strict)] == ["accept:10.1.1.0/24"]
    lax = SmtpRelaySettings(attested_policy="*LIST", max_accept_prefix=0)
    assert evaluate("PROD", RUNNING, reading, None, lax) == []
    everyone = lists(("ACCEPT", "0.0.0.0", "0.0.0.0"))
    assert [f.subject for f in evaluate("PROD", RUNNING, everyone, None, lax)] == ["accept:0.0.0.0/0"]


def test_only_members_named_like_an_accept_list_are_judged():
    reading = SmtpListReading(
        readable=True,
        entries=(
            SmtpListEntry("REJECT", "198.51.100.0", "255.255.0.0"),
            SmtpListEntry("ACCEPTRLY", "172.16.0.0", "255.240.0.0"),
            SmtpListEntry("relayacc", "192.168.0.0", "255.255.0.0"),
        ),
        members=("REJECT", "ACCEPTRLY", "relayacc"),
    )
    findings = evaluate("PROD", RUNNING, reading, None, ATTESTED_LIST)
    assert [(f.subject, f.facts["member"]) for f in findings] == [
        ("accept:172.16.0.0/12", "ACCEPTRLY"),
        ("accept:192.168.0.0/16", "relayacc"),
    ]


def test_no_member_named_like_an_accept_list_is_said_not_ignored():
    reading = SmtpListReading(
        readable=True, entries=(SmtpListEntry("LIST1", "0.0.0.0", "0.0.0.0"),), members=("LIST1", "LIST2")
    )
    [finding] = evaluate("PROD", RUNNING, reading, None, ATTESTED_LIST)
    assert (finding.severity, finding.subject) == ("info", "accept-list-not-found")
    assert "LIST1, LIST2" in text_of(finding) and "unconfirmed" in text_of(finding)


def test_a_mask_that_cannot_be_read_is_a_warning_not_silence():
    reading = lists(("ACCEPT", "10.1.1.0", "garbage"))
    [finding] = evaluate("PROD", RUNNING, reading, None, ATTESTED_LIST)
    assert (finding.severity, finding.subject) == ("warning", "accept:10.1.1.0/?")


def test_a_non_contiguous_mask_counts_its_free_bits():
    reading = lists(("ACCEPT", "10.0.0.0", "255.0.255.0"))
    [finding] = evaluate("PROD", RUNNING, reading, None, ATTESTED_LIST)
    assert finding.subject == "accept:10.0.0.0/16" and "not contiguous" in text_of(finding)
    assert "remove_command" not in finding.facts  # the CL builder accepts contiguous masks only


@pytest.mark.parametrize(
    ("reading", "problem"),
    [
        (
            SmtpListReading(readable=False, problem="QUSRSYS/QATMADRLST not found or not readable"),
            "QUSRSYS/QATMADRLST not found or not readable",
        ),
        (None, "they were not read"),
    ],
)
def test_unreadable_lists_are_one_info_finding_never_no_risky_entries(reading, problem):
    [finding] = evaluate("PROD", RUNNING, reading, None, ATTESTED_LIST)
    assert (finding.severity, finding.subject) == ("info", "lists-unreadable")
    assert finding.title == f"SMTP lists not readable: {problem}"
    assert "cannot be ruled out" in text_of(finding) and not FORBIDDEN_WORDS.search(text_of(finding))


masks = st.integers(min_value=0, max_value=32).map(lambda n: str(ipaddress.IPv4Network((0, n)).netmask))
raw_masks = st.integers(min_value=0, max_value=0xFFFFFFFF).map(lambda n: str(ipaddress.IPv4Address(n)))
addresses = st.integers(min_value=0, max_value=0xFFFFFFFF).map(lambda n: str(ipaddress.IPv4Address(n)))


@settings(deadline=None)
@given(address=addresses, mask=st.one_of(masks, raw_masks), limit=st.integers(min_value=0, max_value=32))
def test_breadth_rule_over_every_mask_and_limit(address: str, mask: str, limit: int):
    entry = SmtpListEntry("ACCEPT", address, mask)
    ones = bin(int(ipaddress.IPv4Address(mask))).count("1")
    assert accept_prefix(entry) == ones
    assert too_broad(entry, limit) == (ones == 0 or ones < limit)
    findings = evaluate(
        "PROD",
        RUNNING,
        SmtpListReading(True, (entry,), ("ACCEPT",)),
        None,
        SmtpRelaySettings(attested_policy="*LIST", max_accept_prefix=limit),
    )
    if too_broad(entry, limit):
        [finding] = findings
        assert finding.subject == f"accept:{address}/{ones}" and finding.severity == "warning"
        assert finding.facts["addresses"] == 2 ** (32 - ones)
        assert ("accepts relay from every address" in finding.title) == (ones == 0)
    else:
        assert findings == []


@settings(deadline=None)
@given(
    narrow=st.integers(min_value=0, max_value=32),
    broad=st.integers(min_value=0, max_value=32),
    limit=st.integers(min_value=0, max_value=32),
)
def test_a_broader_entry_is_never_judged_less_risky(narrow: int, broad: int, limit: int):
    narrow, broad = max(narrow, broad), min(narrow, broad)
    narrow_entry = SmtpListEntry("ACCEPT", "10.0.0.0", str(ipaddress.IPv4Network((0, narrow)).netmask))
    broad_entry = SmtpListEntry("ACCEPT", "10.0.0.0", str(ipaddress.IPv4Network((0, broad)).netmask))
    assert too_broad(broad_entry, limit) or not too_broad(narrow_entry, limit)


# --- the probe ------------------------------------------------------------------------------------------


def test_probe_accepted_is_critical_with_the_dialogue():
    findings = evaluate("PROD", RUNNING, NO_LISTS, probe_result(True, 250), SmtpRelaySettings(probe=True))
    subjects = by_subject(findings)
    finding = subjects["probe-relay-accepted"]
    assert finding.severity == "critical"
    assert finding.title.startswith("SMTP relay accepted from 10.20.30.40")
    assert any(line.startswith("Dialogue: C: (connect to 192.0.2.5 port 25)") for line in finding.details)
    assert "No DATA was sent" in text_of(finding)
    assert finding.facts["probe"]["accepted"] is True
    assert subjects["relay-policy-unknown"].severity == "info"


def test_probe_accepted_from_a_host_on_the_accept_list_says_it_may_be_intended():
    reading = lists(("ACCEPT", "10.20.30.40", "255.255.255.255"))
    findings = evaluate("PROD", RUNNING, reading, probe_result(True, 250), ATTESTED_LIST)
    [finding] = findings
    assert finding.severity == "critical" and "inside *ACCEPT entry 10.20.30.40/32" in text_of(finding)


def test_probe_refused_gives_no_probe_finding_but_is_noted_in_the_unknown_policy_finding():
    [finding] = evaluate("PROD", RUNNING, NO_LISTS, probe_result(False, 550), SmtpRelaySettings(probe=True))
    assert finding.subject == "relay-policy-unknown" and finding.severity == "info"
    assert finding.facts["probe"]["accepted"] is False
    assert "was refused" in text_of(finding) and "evidence against *ALL" in text_of(finding)
    assert "enable the active probe" not in text_of(finding)
    assert "set attested_policy under [checks.smtp-relay]" in text_of(finding)
    assert not FORBIDDEN_WORDS.search(text_of(finding))
    assert evaluate("PROD", RUNNING, NO_LISTS, probe_result(False, 550), ATTESTED_LIST) == []


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (probe_result(None, None, "connection refused by 192.0.2.5 port 25"), "connection refused by 192.0.2.5"),
        (probe_result(None, 451), "the server answered 451 4.3.0 Later"),
    ],
)
def test_probe_errors_and_temporary_replies_are_info(result: ProbeResult, expected: str):
    subjects = by_subject(evaluate("PROD", RUNNING, NO_LISTS, result, ATTESTED_LIST))
    finding = subjects["probe-inconclusive"]
    assert finding.severity == "info" and expected in finding.title


# --- the demo system ------------------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path):
    connection = open_system(demo_settings(tmp_path / "demo"))
    yield connection
    connection.close()


def test_demo_without_attestation_reports_the_unknown_policy_and_the_everyone_entry(demo):
    status, reading = sql.read_smtp_status(demo), sql.read_smtp_lists(demo)
    findings = evaluate("DEMO", status, reading, None, SmtpRelaySettings())
    assert [(f.severity, f.subject) for f in findings] == [
        ("info", "relay-policy-unknown"),
        ("warning", "accept:0.0.0.0/0"),
    ]
    assert "accepts relay from every address" in findings[1].title


def test_demo_with_attested_all_is_critical(demo):
    status, reading = sql.read_smtp_status(demo), sql.read_smtp_lists(demo)
    findings = evaluate("DEMO", status, reading, None, SmtpRelaySettings(attested_policy="*ALL"))
    assert [(f.severity, f.subject) for f in findings] == [
        ("critical", "relay-policy"),
        ("warning", "accept:0.0.0.0/0"),
    ]
    assert "attested in config" in findings[0].title


def test_findings_have_stable_fingerprints():
    first = evaluate("PROD", RUNNING, lists(("ACCEPT", "0.0.0.0", "0.0.0.0")))
    second = evaluate("prod", RUNNING, lists(("ACCEPT", "0.0.0.0", "0.0.0.0")))
    assert [f.fingerprint for f in first] == [f.fingerprint for f in second]
    assert smtp_relay.CHECK_ID == "smtp-relay"
