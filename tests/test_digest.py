"""The daily digest: its content, its size whatever the estate, its delivery, its settings and its schedule."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from slack_sdk.models.blocks import Block

from bot import __version__
from bot.config import Config, ConfigError, DigestSettings, SlackSettings, find_example_config, load_config
from bot.runtime import start_scheduler
from bot.slack.blocks import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.slack.client import make_web_client
from bot.slack.delivery import DeliveryWorker
from bot.slack.digest import HEADER, MAX_DIGEST_TEXT, build_digest, post_digest, post_scheduled_digest
from storage import Storage, approvals, open_database, outbox
from storage.alerts import AlertRecord, add_silence, end_silence, save_alert
from storage.approvals import ChangeRequest
from tests.slack_server import SlackTestServer
from tests.test_alerts_e2e import FakeClock, deliver_all, start

NOW = 1_800_000_000.0  # Fri 15 Jan 2027 08:00 UTC
HOUR = 3600.0
DAY = 86400.0
ALERTS = "C0123ALERTS"
DIGESTS = "C0DIGEST"


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_database(tmp_path / "warden.db", __version__)
    yield opened
    opened.close()


def make_config(**digest: object) -> Config:
    return Config(
        path=Path("warden.toml"),
        slack=SlackSettings(ALERTS, "C0456APPROV"),
        systems=(),
        digest=DigestSettings(**digest),
    )  # type: ignore[arg-type]


def record(
    system: str,
    check: str,
    n: int,
    severity: str,
    first_seen: float,
    *,
    title: str | None = None,
    state: str = "open",
    resolved_at: float | None = None,
) -> AlertRecord:
    return AlertRecord(
        fingerprint=f"{system}/{check}/{n}",
        system=system,
        check=check,
        subject=f"subject {n}",
        severity=severity,
        title=title or f"{check} finding {n} on {system}",
        state=state,
        first_seen=first_seen,
        last_seen=NOW if state == "open" else (resolved_at or first_seen),
        resolved_at=resolved_at,
        finding={"fingerprint": f"{system}/{check}/{n}", "subject": f"subject {n}"},
    )


def request(
    request_id: str, created_at: float, *, system: str = "PROD", summary: str = "End connection", ttl: float = 2 * HOUR
) -> ChangeRequest:
    return ChangeRequest(
        id=request_id,
        system=system,
        action="end-connection",
        params={},
        commands=("ENDTCPCNN",),
        summary=summary,
        requester="U01OPERATOR",
        reason="intruder",
        created_at=created_at,
        expires_at=created_at + ttl,
        min_approvals=1,
    )


def run_request(storage: Storage, change: ChangeRequest, at: float, state: str, text: str) -> None:
    approvals.create(storage, change)
    assert approvals.add_approval(storage, change.id, "U02APPROVER", at)
    assert approvals.claim_execution(storage, change.id, at)
    assert approvals.finish(storage, change.id, state, {"ok": state == "done", "text": text})


def texts(payload: dict) -> list[str]:
    """The text of every block: header, sections and context elements."""
    found = []
    for block in payload["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [element["text"] for element in block.get("elements", []) if "text" in element]
    return found


def section_texts(payload: dict) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def assert_within_limits(payload: dict) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= MAX_MESSAGE_BLOCKS
    assert all(0 < len(text) <= MAX_SECTION_TEXT for text in section_texts(payload))
    assert sum(len(text) for text in texts(payload)) <= MAX_DIGEST_TEXT
    assert len(payload["text"]) <= 500
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # slack_sdk validates while serialising: SlackObjectFormationError if a limit is broken
    json.dumps(payload)


# --- content ----------------------------------------------------------------------------------


def fill_small(storage: Storage) -> None:
    with storage.transaction():
        # open: PROD 2 critical + 1 warning, TEST 1 info; new in the window: PROD critical 2 and TEST info 1
        save_alert(
            storage,
            record(
                "PROD",
                "unknown-connections",
                1,
                "critical",
                NOW - 5 * DAY,
                title="connection from untrusted address <!channel> & 203.0.113.9",
            ),
        )
        save_alert(storage, record("PROD", "unknown-connections", 2, "critical", NOW - 2 * HOUR))
        save_alert(storage, record("PROD", "smtp-relay", 1, "warning", NOW - 3 * DAY))
        save_alert(storage, record("TEST", "plaintext-services", 1, "info", NOW - 30 * 60))
        # resolved in the window, and long ago (left out)
        save_alert(
            storage,
            record(
                "PROD",
                "splctl-exposure",
                1,
                "warning",
                NOW - 4 * DAY,
                state="resolved",
                resolved_at=NOW - 3 * HOUR,
                title="QPRINT exposes spooled files",
            ),
        )
        save_alert(
            storage,
            record(
                "TEST",
                "smtp-relay",
                9,
                "critical",
                NOW - 9 * DAY,
                state="resolved",
                resolved_at=NOW - 2 * DAY,
                title="long resolved",
            ),
        )
        # silences: ending in 5 h (on an alert, and on an address), in 3 days, and one ended
        add_silence(
            storage, "fingerprint", "PROD/smtp-relay/1", "known <relay>", "U02APPROVER", NOW - 19 * HOUR, NOW + 5 * HOUR
        )
        add_silence(
            storage, "address", "198.51.100.7", "vendor maintenance", "U02APPROVER", NOW - HOUR, NOW + 20 * HOUR
        )
        add_silence(storage, "address", "192.0.2.1", "far away", "U02APPROVER", NOW - HOUR, NOW + 3 * DAY)
        ended = add_silence(storage, "address", "192.0.2.2", "ended", "U02APPROVER", NOW - HOUR, NOW + HOUR)
        end_silence(storage, ended.id, NOW - 60)
    # change requests: done, failed, rejected, expired, pending in the window; one from last week
    run_request(storage, request("R0DONE", NOW - 6 * HOUR), NOW - 5 * HOUR, "done", "ENDTCPCNN: completed")
    run_request(
        storage,
        request("R0FAIL", NOW - 4 * HOUR, system="TEST"),
        NOW - 4 * HOUR,
        "failed",
        "ENDTCPCNN: CPF8601 connection <not> found\nmore detail",
    )
    approvals.create(storage, request("R0REJECT", NOW - 3 * HOUR, summary="Trust 0.0.0.0/0"))
    assert approvals.reject(storage, "R0REJECT", "U02APPROVER", "far too broad", NOW - 2 * HOUR)
    approvals.create(storage, request("R0EXPIRE", NOW - 10 * HOUR))
    assert [r.id for r in approvals.expire_due(storage, NOW - 8 * HOUR)] == ["R0EXPIRE"]
    approvals.create(storage, request("R0WAIT", NOW - 10 * 60))
    approvals.create(storage, request("R0OLD", NOW - 7 * DAY))
    approvals.expire_due(storage, NOW - 6 * DAY)


def test_a_small_digest_names_open_new_resolved_requests_and_ending_silences(storage):
    fill_small(storage)
    payload = build_digest(storage, make_config(timezone="Europe/Paris"), NOW)
    assert_within_limits(payload)
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == HEADER
    assert "Fri 15 Jan 2027 09:00 Europe/Paris" in blocks[1]["elements"][0]["text"]
    text = "\n".join(texts(payload))

    overview = section_texts(payload)[0]
    assert "*Open findings:* 4 on 2 systems" in overview
    assert ":red_circle: 2 critical · :large_orange_circle: 1 warning · :large_blue_circle: 1 info" in overview
    assert "(1 silenced)" in overview
    assert "2 new · 1 resolved · 5 change requests · 2 silences ending in the next 24 h" in overview

    # open findings by system: the most severe system first, counts by severity and check, the oldest named
    prod, test = (line for line in text.split("\n") if line.startswith(("*PROD*", "*TEST*")))
    assert text.index("*PROD*") < text.index("*TEST*")
    assert prod == "*PROD* — 3 open: :red_circle: 2 critical · :large_orange_circle: 1 warning"
    assert "`unknown-connections` 2 · `smtp-relay` 1" in text
    assert (
        "Oldest: :red_circle: connection from untrusted address &lt;!channel&gt; &amp; 203.0.113.9 (5d) · "
        ":large_orange_circle: smtp-relay finding 1 on PROD (3d) · :red_circle: unknown-connections finding 2 "
        "on PROD (2h)"
    ) in text
    assert test == "*TEST* — 1 open: :large_blue_circle: 1 info"
    assert "<!channel>" not in text and "<relay>" not in text and "<not>" not in text

    changes = next(t for t in section_texts(payload) if t.startswith("*What changed"))
    assert "*New:* 2 — :red_circle: 1 critical · :large_blue_circle: 1 info" in changes
    assert "unknown-connections finding 2 on PROD (2h ago)" in changes
    assert changes.index("on PROD (2h ago)") < changes.index("on TEST (30m ago)")  # the most severe first
    assert "plaintext-services finding 1 on TEST (30m ago)" in changes
    assert "*Resolved:* 1" in changes and "QPRINT exposes spooled files (3h ago)" in changes
    assert "long resolved" not in text

    requests = next(t for t in section_texts(payload) if t.startswith("*Change requests"))
    assert requests.startswith(
        "*Change requests in the last 24 h:* 5 — 1 done · 1 failed · 1 rejected · 1 expired · 1 pending\n"
    )
    assert "`R0WAIT`" in requests.split("\n")[1]  # the latest first
    assert ":x: failed: ENDTCPCNN: CPF8601 connection &lt;not&gt; found" in requests
    assert "more detail" not in requests
    assert ":no_entry: rejected: far too broad" in requests
    assert "R0OLD" not in text

    silences = section_texts(payload)[-1]
    assert silences.startswith("*Silences ending in the next 24 h:* 2")
    assert "smtp-relay finding 1 on PROD on *PROD* — ends in 5h · known &lt;relay&gt;" in silences
    assert "address `198.51.100.7` — ends in 20h · vendor maintenance" in silences
    assert "far away" not in text and "ended" not in silences

    assert payload["text"] == (
        "ibmi-warden daily digest: 4 open findings (2 critical) on 2 systems; in the last 24 h 2 new, 1 resolved, "
        "5 change requests; 2 silences ending in the next 24 h"
    )


def test_an_empty_database_gives_a_quiet_digest(storage):
    payload = build_digest(storage, make_config(), NOW)
    assert_within_limits(payload)
    text = "\n".join(texts(payload))
    assert "*Open findings:* none" in text and "No open findings." in text
    assert "*New:* none" in text and "*Resolved:* none" in text
    assert "*Change requests in the last 24 h:* none" in text and "*Silences ending in the next 24 h:* none" in text
    assert "Fri 15 Jan 2027 08:00 UTC" in text


# --- size -------------------------------------------------------------------------------------


def fill_large(storage: Storage, systems: int = 50, findings: int = 40) -> None:
    """A large estate with titles as long and as full of characters to escape as storage can hold."""
    noisy = "<@U0EVERYONE> & <https://evil.example|click> " * 20
    severities = ("critical", "warning", "info")
    with storage.transaction():
        for s in range(systems):
            system = f"SYSTEM{s:02d}-{'X' * 20}"
            for n in range(findings):
                check = (
                    "unknown-connections",
                    "plaintext-services",
                    "smtp-relay",
                    "splctl-exposure",
                    "reachability",
                    "check-six",
                    "check-seven",
                )[n % 7]
                first_seen = NOW - (n % 2) * 3 * DAY - n * 60 - s  # half of them new in the window
                save_alert(storage, record(system, check, n, severities[n % 3], first_seen, title=f"{n} {noisy}"))
            for n in range(5):
                save_alert(
                    storage,
                    record(
                        system,
                        "smtp-relay",
                        100 + n,
                        "warning",
                        NOW - 5 * DAY,
                        state="resolved",
                        resolved_at=NOW - HOUR - n,
                        title=noisy,
                    ),
                )
        for n in range(40):
            add_silence(
                storage,
                "address",
                f"203.0.113.{n}" + "&" * 200,
                noisy,
                "U02APPROVER" + "<" * 100,
                NOW - HOUR,
                NOW + HOUR + n,
            )
    for n in range(30):
        run_request(storage, request(f"R{n:04d}", NOW - HOUR - n, summary=noisy), NOW - HOUR, "failed", noisy)


def test_fifty_systems_of_forty_findings_fit_one_message(storage):
    fill_large(storage)
    payload = build_digest(storage, make_config(), NOW)
    assert_within_limits(payload)
    text = "\n".join(texts(payload))
    assert "*Open findings:* 2,000 on 50 systems" in text
    assert "more systems with" in text  # the systems without a line of their own are summarised
    shown = sum(1 for line in text.split("\n") if line.startswith("*SYSTEM"))
    assert 1 <= shown < 50
    assert f"…and {50 - shown} more systems with {(50 - shown) * 40:,} open findings" in text
    assert "*New:* 1,000" in text and "…and 995 more" in text
    changes = next(t for t in section_texts(payload) if t.startswith("*What changed"))
    listed_new = changes.split("*Resolved:*")[0].split("\n")[2:7]
    assert all(line.startswith("• :red_circle:") for line in listed_new), listed_new  # the most severe first
    assert "*Resolved:* 250" in text and "…and 245 more" in text
    assert "*Change requests in the last 24 h:* 30 — 30 failed" in text and "…and 25 more" in text
    assert "*Silences ending in the next 24 h:* 40" in text and "…and 35 more" in text
    assert "<@U0EVERYONE>" not in text and "<https://" not in text
    assert "&amp;" in text and "&am…" not in text and "&l…" not in text  # escapes never cut in half


# --- delivery ---------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(scopes="chat:write") as server:
        yield server


def test_the_large_digest_is_posted_through_the_outbox_and_accepted_by_slack(storage, slack):
    fill_large(storage)
    clock = FakeClock(NOW)
    config = make_config(channel=DIGESTS)
    item_id = post_digest(storage, config, clock.now())
    item = outbox.get_item(storage, item_id)
    assert item is not None and item.channel == DIGESTS and item.method == outbox.POST and item.state == "pending"
    worker = DeliveryWorker(storage, make_web_client(slack.bot_token, slack.base_url), clock)
    assert worker.deliver_due() == 1
    sent = outbox.get_item(storage, item_id)
    assert sent is not None and sent.state == "sent", sent and sent.error
    (message,) = slack.messages(DIGESTS)
    assert message["blocks"][0]["text"]["text"] == HEADER
    assert message["text"].startswith("ibmi-warden daily digest: 2,000 open findings")


def test_the_scheduled_digest_of_a_demo_cycle_reaches_the_alerts_channel(slack, tmp_path):
    clock = FakeClock(NOW)
    parts = start(slack, tmp_path, clock)
    try:
        parts.checks.run_cycle()
        deliver_all(parts, clock)
        clock.advance(HOUR)
        post_scheduled_digest(parts.storage, parts.config, parts.clock.now, parts.delivery.wake)  # the daily job
        deliver_all(parts, clock)
        digest = [m for m in slack.messages(ALERTS) if m.get("blocks", [{}])[0].get("text", {}).get("text") == HEADER]
        assert len(digest) == 1
        text = json.dumps(digest[0]["blocks"])
        assert "*DEMO*" in text and "`unknown-connections`" in text and "(1h ago)" in text
    finally:
        parts.close()


# --- settings and schedule --------------------------------------------------------------------

CONFIG = """
[slack]
alerts_channel = "C0123ALERTS"
approvals_channel = "C0456APPROV"

[[systems]]
name = "DEMO"
connection = "demo"
"""


def load(tmp_path: Path, digest: str) -> Config:
    path = tmp_path / "warden.toml"
    path.write_text(textwrap.dedent(CONFIG) + textwrap.dedent(digest), encoding="utf-8")
    return load_config(path, env={})


def problems(tmp_path: Path, digest: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, digest)
    return caught.value.problems


def test_the_digest_is_off_by_default_and_posts_to_the_alerts_channel(tmp_path):
    assert load(tmp_path, "").digest == DigestSettings(enabled=False, time="08:00", timezone="UTC", channel=ALERTS)
    assert load(tmp_path, "[digest]\nenabled = true\n").digest == DigestSettings(True, "08:00", "UTC", ALERTS)
    example = load_config(find_example_config(), env={})
    assert not example.digest.enabled and example.digest.channel == example.slack.alerts_channel


def test_digest_settings_are_read(tmp_path):
    digest = load(
        tmp_path,
        """
        [digest]
        enabled = true
        time = "7:05"
        timezone = "America/Chicago"
        channel = "#security-digest"
    """,
    ).digest
    assert digest == DigestSettings(True, "07:05", "America/Chicago", "#security-digest")
    assert (digest.hour, digest.minute) == (7, 5)


@pytest.mark.parametrize(
    ("digest", "key", "words"),
    [
        ('time = "25:00"', "digest.time", "'25:00' is not a time of day; expected a 24-hour time"),
        ('time = "08:60"', "digest.time", "'08:60' is not a time of day"),
        ('time = "8am"', "digest.time", "'8am' is not a time of day"),
        ("time = 08:00:00", "digest.time", "expected a string, got a date or time"),
        ('timezone = "Mars/Olympus"', "digest.timezone", "'Mars/Olympus' is not a known time zone; expected an IANA"),
        ('timezone = "../etc/passwd"', "digest.timezone", "is not a known time zone"),
        ('timezone = "Europe"', "digest.timezone", "is not a known time zone"),
        ('channel = "security"', "digest.channel", "'security' is not a Slack channel"),
        ("enabled = 1", "digest.enabled", "expected a boolean, got an integer"),
        ('every = "1d"', "digest.every", "unknown key"),
    ],
)
def test_bad_digest_settings_are_named(tmp_path, digest, key, words):
    (problem,) = problems(tmp_path, f"[digest]\n{digest}\n")
    assert f": {key}: " in problem and words in problem, problem


def scheduler_services(config: Config, **parts: object) -> SimpleNamespace:
    """The parts of the bot the scheduler reaches, with no system to check."""
    return SimpleNamespace(
        config=config,
        storage=None,
        clock=SimpleNamespace(now=lambda: NOW),
        delivery=SimpleNamespace(wake=lambda: None),
        systems=SimpleNamespace(names=lambda: []),
        maintenance=SimpleNamespace(run=lambda: None),
        approvals=SimpleNamespace(expire=lambda: None),
        roles=SimpleNamespace(prefetch=lambda: None, ttl=300.0),
        **parts,
    )


def test_the_scheduler_runs_the_digest_daily_at_its_local_time_only_when_enabled():
    scheduler = start_scheduler(scheduler_services(make_config()))  # type: ignore[arg-type]
    try:
        assert scheduler.get_job("daily-digest") is None
    finally:
        scheduler.shutdown(wait=False)
    config = make_config(enabled=True, time="07:30", timezone="Europe/Paris")
    scheduler = start_scheduler(scheduler_services(config))  # type: ignore[arg-type]
    try:
        job = scheduler.get_job("daily-digest")
        assert job is not None and job.func is post_scheduled_digest
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"], fields["day"]) == ("7", "30", "*")
        assert str(job.trigger.timezone) == "Europe/Paris"
        assert job.next_run_time.strftime("%H:%M") == "07:30" and str(job.next_run_time.tzinfo) == "Europe/Paris"
    finally:
        scheduler.shutdown(wait=False)


def test_the_scheduled_job_queues_the_digest_and_wakes_delivery(storage):
    woken = []
    post_scheduled_digest(storage, make_config(), lambda: NOW, lambda: woken.append(True))
    (item,) = outbox.items(storage)
    assert item.channel == ALERTS and item.payload["blocks"][0]["text"]["text"] == HEADER
    assert woken == [True]
