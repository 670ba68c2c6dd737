"""An audit log that cannot be quietly rewritten: the triggers, the keyed chain, anchored heads,
`ibmi-warden audit --verify [--head SEQ:HASH]`, and the key in doctor."""

from __future__ import annotations

import dataclasses
import io
import sqlite3
from pathlib import Path

import pytest

from bot import __version__
from bot.audit_anchor import REANCHOR_AFTER, anchor_head, attach_audit_key
from bot.config import Config, ConfigError, Secrets, SlackSettings, load_config
from bot.doctor import run_doctor
from storage import approvals as requests_store
from storage import audit, audit_anchors, open_database, outbox
from storage.approvals import ChangeRequest
from storage.audit_key import AuditKeyError
from storage.audit_verify import verify
from tests.test_audit import T0, add, attacker, raw_row
from tests.test_cli import CLEAN_ENV, warden, write_config

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
COLUMNS = ", ".join(audit.CSV_COLUMNS)


@pytest.fixture
def storage(tmp_path):
    storage = open_database(tmp_path / "warden.db", __version__)
    yield storage
    storage.close()


@pytest.fixture
def keyed(storage):
    audit.use_key(storage, KEY)
    return storage


def config_with(audit_channel: str | None = "C0AUDIT") -> Config:
    slack = SlackSettings(alerts_channel="C0ALERTS", approvals_channel="C0APPROVALS", audit_channel=audit_channel)
    return Config(path=Path("warden.toml"), slack=slack, systems=())


def plain(storage) -> sqlite3.Connection:
    """Someone with SQL access who does not drop the triggers."""
    return sqlite3.connect(storage.path)


def rewrite_chain(storage, changes: dict[int, dict[str, object]], key: bytes | None = None) -> str:
    """Apply `changes`, recompute every hash (with `key`) and the head, as the file's owner could; return the head."""
    with storage.lock:
        rows = [list(row) for row in storage.db.execute(f"SELECT {COLUMNS} FROM audit ORDER BY id").fetchall()]
    statements = []
    prev = audit.GENESIS
    for row in rows:
        for column, value in changes.get(row[0], {}).items():
            row[audit.CSV_COLUMNS.index(column)] = value
        row[8] = prev
        row[9] = audit.row_hash(*row[:9], key=key)
        prev = row[9]
        statements.append(
            (
                f"UPDATE audit SET {', '.join(f'{c} = ?' for c in audit.CSV_COLUMNS[1:])} WHERE id = ?",
                [*row[1:], row[0]],
            )
        )
    statements.append(("UPDATE audit_head SET rows = ?, hash = ?", [len(rows), prev]))
    attacker(storage, *statements)
    return prev


# --- finding: INSERT OR REPLACE, out-of-order rows, the head ----------------------------------------


def test_insert_or_replace_over_an_existing_row_is_refused(storage):
    add(storage, 5)
    row = raw_row(storage, 3)
    row[6] = "refused: never happened"
    conn = plain(storage)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="only ever appended"):
            conn.execute(f"INSERT OR REPLACE INTO audit ({COLUMNS}) VALUES ({', '.join('?' * 10)})", row)
    finally:
        conn.close()
    assert raw_row(storage, 3)[6] == "ok" and verify(storage).ok


@pytest.mark.parametrize("row_id", [7, 10, None])
def test_an_out_of_order_or_unlinked_insert_is_refused(storage, row_id):
    events = add(storage, 5)
    conn = plain(storage)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="only ever appended"):
            conn.execute(
                "INSERT INTO audit (id, at, actor, action, subject, outcome, details_json, prev_hash, hash) "
                "VALUES (?, ?, 'U0X', 'approve', 'R1', 'ok', '{}', ?, ?)",
                [row_id, T0, events[-1].hash, "f" * 64],
            )
        with pytest.raises(sqlite3.IntegrityError, match="only ever appended"):  # the next id, linked elsewhere
            conn.execute(
                "INSERT INTO audit (id, at, actor, action, subject, outcome, details_json, prev_hash, hash) "
                "VALUES (6, ?, 'U0X', 'approve', 'R1', 'ok', '{}', ?, ?)",
                [T0, events[1].hash, "f" * 64],
            )
    finally:
        conn.close()
    assert verify(storage).rows == 5


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_head SET rows = 3, hash = (SELECT hash FROM audit WHERE id = 3)",
        "UPDATE audit_head SET rows = rows + 1",
        "UPDATE audit_head SET key_check = 'x', keyed_from = 1",
        "DELETE FROM audit_head",
        "INSERT OR REPLACE INTO audit_head (id, rows, hash) VALUES (1, 0, '" + "0" * 64 + "')",
    ],
)
def test_the_head_cannot_be_moved_deleted_or_replaced(storage, sql):
    add(storage, 5)
    conn = plain(storage)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="audit head"):
            conn.execute(sql)
    finally:
        conn.close()
    assert verify(storage).ok and verify(storage).rows == 5


def test_anchors_cannot_be_changed_or_deleted(storage):
    add(storage, 3)
    anchor_head(storage, config_with(), T0)
    conn = plain(storage)
    try:
        for sql in ("UPDATE audit_anchors SET seq = 1", "DELETE FROM audit_anchors"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()


# --- finding: the request tables --------------------------------------------------------------------


def a_request(request_id: str = "R1") -> ChangeRequest:
    return ChangeRequest(
        id=request_id,
        system="PROD",
        action="smtp-add",
        params={},
        commands=("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')",),
        summary="accept 10.1.1.0/24",
        requester="U01OPERATOR",
        reason="vendor",
        created_at=T0,
        expires_at=T0 + 3600,
        min_approvals=1,
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE change_requests SET commands_json = '[\"CHGSMTPA ALWRLY(*ALL)\"]'",
        "UPDATE change_requests SET requester = 'U09SOMEONE'",
        "DELETE FROM change_requests",
        "INSERT OR REPLACE INTO change_requests SELECT * FROM change_requests",
        "DELETE FROM change_approvals",
        "UPDATE change_approvals SET approver = 'U09SOMEONE'",
    ],
)
def test_a_requests_content_and_approvals_cannot_be_rewritten_or_deleted(storage, sql):
    requests_store.create(storage, a_request())
    assert requests_store.add_approval(storage, "R1", "U02APPROVER", T0 + 1)
    conn = plain(storage)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
    finally:
        conn.close()
    stored = requests_store.get(storage, "R1")
    assert stored is not None and stored.commands == a_request().commands and stored.approvals == ("U02APPROVER",)


def test_a_decided_request_cannot_change_and_a_repeated_approval_is_a_no_op(storage):
    requests_store.create(storage, a_request())
    assert requests_store.add_approval(storage, "R1", "U02APPROVER", T0 + 1)
    assert not requests_store.add_approval(storage, "R1", "U02APPROVER", T0 + 2)  # a second click
    assert requests_store.claim_execution(storage, "R1", T0 + 3)
    assert requests_store.finish(storage, "R1", "done", {"ok": True})
    conn = plain(storage)
    try:
        for sql in (
            "UPDATE change_requests SET state = 'pending'",
            "UPDATE change_requests SET outcome_json = '{\"ok\": false}'",
            "UPDATE change_requests SET decided_by = '[\"U09SOMEONE\"]'",
            "INSERT INTO change_approvals (request_id, approver, at) VALUES ('R1', 'U03APPROVER', 1)",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql)
        conn.execute(
            "INSERT OR REPLACE INTO change_approvals (request_id, approver, at) VALUES ('R1', 'U02APPROVER', 9)"
        )
        conn.commit()
    finally:
        conn.close()
    stored = requests_store.get(storage, "R1")
    assert stored is not None and stored.state == "done" and stored.decided_by == ("U02APPROVER",)
    with storage.lock:
        assert storage.db.execute("SELECT at FROM change_approvals").fetchall() == [(T0 + 1,)]


# --- the keyed chain --------------------------------------------------------------------------------


def test_keyed_appends_verify_with_the_right_key_and_fail_with_another_or_none(keyed):
    events = add(keyed, 10)
    assert events[0].hash == audit.row_hash(*raw_row(keyed, 1)[:9], key=KEY) != audit.row_hash(*raw_row(keyed, 1)[:9])
    result = verify(keyed, key=KEY)
    assert result.ok and result.rows == 10 and result.keyed_from == 1 and result.last_hash == events[-1].hash

    wrong = verify(keyed, key=OTHER_KEY)
    assert not wrong.ok and "not the key this log was keyed with" in wrong.problem
    keyed.audit_key = None
    missing = verify(keyed)
    assert not missing.ok and missing.needs_key and "set WARDEN_AUDIT_KEY" in missing.problem


def test_a_log_keyed_later_keeps_its_plain_rows_and_keys_the_rest(storage):
    add(storage, 3)
    audit.use_key(storage, KEY)
    add(storage, 2)
    result = verify(storage, key=KEY)
    assert result.ok and result.rows == 5 and result.keyed_from == 4
    assert raw_row(storage, 3)[9] == audit.row_hash(*raw_row(storage, 3)[:9])
    assert raw_row(storage, 4)[9] == audit.row_hash(*raw_row(storage, 4)[:9], key=KEY)


def test_a_keyed_log_refuses_to_be_written_without_its_key_or_with_another(keyed, tmp_path):
    add(keyed, 2)
    reopened = open_database(tmp_path / "warden.db", __version__)
    try:
        with pytest.raises(AuditKeyError, match="set WARDEN_AUDIT_KEY"):
            audit.use_key(reopened, None)
        with pytest.raises(AuditKeyError, match="not the key"):
            audit.use_key(reopened, OTHER_KEY)
        with pytest.raises(AuditKeyError):  # an append on a storage never given the key
            audit.append(reopened, actor="bot", action="expire", subject="R1", outcome="ok", at=T0)
    finally:
        reopened.close()
    assert verify(keyed, key=KEY).rows == 2


@pytest.mark.parametrize("attacker_key", [None, OTHER_KEY])
def test_a_whole_chain_rewrite_without_the_key_fails_keyed_verify(keyed, attacker_key):
    add(keyed, 10)
    rewrite_chain(keyed, {4: {"outcome": "refused: wrong role"}}, key=attacker_key)
    result = verify(keyed, key=KEY)
    assert not result.ok and result.first_bad_id == 1
    assert "rewritten without WARDEN_AUDIT_KEY" in result.problem


def test_a_keyed_log_made_plain_again_fails_verify_with_the_key(keyed):
    add(keyed, 10)
    rewrite_chain(keyed, {4: {"outcome": "refused: wrong role"}})
    attacker(keyed, ("UPDATE audit_head SET keyed_from = NULL, key_check = NULL, mac = NULL", []))
    result = verify(keyed, key=KEY)
    assert not result.ok and "the audit head is not keyed" in result.problem


def test_the_tail_cut_and_the_head_set_back_fails_a_keyed_verify_without_an_anchor(keyed):
    add(keyed, 10)
    attacker(
        keyed,
        ("DELETE FROM audit WHERE id > 7", []),
        ("UPDATE audit_head SET rows = 7, hash = (SELECT hash FROM audit WHERE id = 7)", []),
    )
    result = verify(keyed, key=KEY)
    assert not result.ok and result.first_bad_id is None and "MAC does not match" in result.problem


# --- anchored heads ---------------------------------------------------------------------------------


def test_the_tail_cut_and_the_head_set_back_is_caught_by_an_anchored_head(storage):
    events = add(storage, 10)
    anchor = (10, events[-1].hash)
    attacker(
        storage,
        ("DELETE FROM audit WHERE id > 7", []),
        ("UPDATE audit_head SET rows = 7, hash = (SELECT hash FROM audit WHERE id = 7)", []),
    )
    assert verify(storage).ok  # unkeyed and never anchored: nothing on the host can tell
    result = verify(storage, anchor=anchor)
    assert not result.ok and result.first_bad_id == 8
    assert "vouches for 10 rows, but the log has 7: rows 8–10 are missing" in result.problem


def test_an_unkeyed_whole_chain_rewrite_is_caught_by_the_anchored_head(storage):
    events = add(storage, 10)
    anchor_head(storage, config_with(), T0 + 100)  # recorded locally at 10
    rewrite_chain(storage, {4: {"outcome": "refused: wrong role"}})
    result = verify(storage)  # the local record of the anchor catches it
    assert not result.ok and result.first_bad_id == 1 and "anchored to C0AUDIT" in result.problem

    attacker(storage, ("DELETE FROM audit_anchors", []))
    assert verify(storage).ok  # the local record gone too: only the copy in Slack is left
    result = verify(storage, anchor=(10, events[-1].hash))
    assert not result.ok and result.first_bad_id == 1
    assert "row 10 is not the row in the anchored head 10:" in result.problem
    assert "at least one of rows 1–10 changed" in result.problem


def test_a_rewrite_after_an_earlier_anchor_names_the_rows_since(storage):
    add(storage, 5)
    anchor_head(storage, config_with(), T0)
    events = add(storage, 5)
    rewrite_chain(storage, {8: {"actor": "U09SOMEONE"}})
    result = verify(storage, anchor=(10, events[-1].hash))
    assert not result.ok and result.first_bad_id == 6 and "at least one of rows 6–10 changed" in result.problem


def test_deleting_everything_is_detected(storage):
    events = add(storage, 5)
    anchor_head(storage, config_with(), T0)
    attacker(storage, ("DELETE FROM audit", []), ("DELETE FROM audit_head", []))
    result = verify(storage)
    assert not result.ok and result.first_bad_id == 1 and "rows 1–5 are missing" in result.problem

    attacker(storage, ("DELETE FROM audit_anchors", []))
    result = verify(storage, anchor=(5, events[-1].hash))
    assert not result.ok and result.first_bad_id == 1 and "the log has 0" in result.problem


def test_an_emptied_log_with_change_requests_left_is_detected(storage):
    requests_store.create(storage, a_request())
    add(storage, 2)
    attacker(storage, ("DELETE FROM audit", []), ("DELETE FROM audit_head", []))
    result = verify(storage)
    assert not result.ok and "1 change request is stored" in result.problem


def test_an_intact_log_verifies_against_its_anchored_heads(storage):
    first = add(storage, 4)
    anchor_head(storage, config_with(), T0)
    add(storage, 3)
    result = verify(storage, anchor=(4, first[-1].hash))
    assert result.ok and result.rows == 7


# --- anchor_head ------------------------------------------------------------------------------------


def test_anchor_head_posts_each_new_head_once_and_an_unchanged_one_daily(storage):
    config = config_with()
    assert anchor_head(storage, config, T0) is None  # an empty log: nothing to anchor
    events = add(storage, 3)
    first = anchor_head(storage, config, T0 + 60)
    assert first is not None and (first.seq, first.hash, first.channel) == (3, events[-1].hash, "C0AUDIT")
    item = outbox.get_item(storage, first.outbox_id)
    assert item is not None and item.channel == "C0AUDIT" and item.method == outbox.POST
    assert item.payload["text"].startswith(f"audit head 3:{events[-1].hash} at ")
    assert f"ibmi-warden audit --verify --head 3:{events[-1].hash}" in item.payload["text"]

    assert anchor_head(storage, config, T0 + 120) is None  # the same head, anchored a minute ago
    add(storage, 1)
    second = anchor_head(storage, config, T0 + 180)
    assert second is not None and second.seq == 4
    assert anchor_head(storage, config, T0 + 180 + REANCHOR_AFTER - 1) is None
    daily = anchor_head(storage, config, T0 + 180 + REANCHOR_AFTER)
    assert daily is not None and daily.seq == 4
    assert [a.seq for a in _anchors(storage)] == [3, 4, 4]


def test_anchor_head_without_an_audit_channel_posts_nothing(storage):
    add(storage, 3)
    assert anchor_head(storage, config_with(None), T0) is None
    assert outbox.pending_count(storage) == 0


def test_the_anchor_says_when_the_log_is_keyed(keyed):
    add(keyed, 1)
    anchor = anchor_head(keyed, config_with(), T0)
    assert anchor is not None
    item = outbox.get_item(keyed, anchor.outbox_id)
    assert item is not None and "(HMAC-SHA256 with WARDEN_AUDIT_KEY)" in item.payload["text"]


def _anchors(storage) -> list[audit_anchors.Anchor]:
    with storage.lock:
        rows = storage.db.execute("SELECT id, seq, hash, at, channel, outbox_id FROM audit_anchors ORDER BY id")
        return [audit_anchors.Anchor(*row) for row in rows.fetchall()]


@pytest.mark.parametrize("text", ["10", "10:abc", "0:" + "a" * 64, "x:" + "a" * 64, "10:" + "g" * 64])
def test_a_malformed_head_is_refused_saying_what_is_accepted(text):
    with pytest.raises(ValueError, match="expected SEQ:HASH"):
        audit_anchors.parse_head(text)
    assert audit_anchors.parse_head(" 10:" + "A" * 64) == (10, "a" * 64)


# --- the key from the environment -------------------------------------------------------------------


def test_the_key_comes_from_the_environment_is_redacted_and_must_be_long_enough(storage):
    secrets = Secrets.from_env({"WARDEN_AUDIT_KEY": "  " + "s" * 40 + " "})
    assert secrets.audit_key_bytes() == b"s" * 40 and "s" * 40 in secrets.values() and "s" * 40 not in repr(secrets)
    with pytest.raises(ConfigError, match="WARDEN_AUDIT_KEY is 12 characters long; a key needs at least 32"):
        Secrets.from_env({"WARDEN_AUDIT_KEY": "short-secret"}).audit_key_bytes()
    assert Secrets.from_env({}).audit_key_bytes() is None
    attach_audit_key(storage, secrets)
    assert storage.audit_key == b"s" * 40 and "s" * 40 not in repr(storage)


def test_audit_channel_is_read_and_checked(tmp_path):
    config = write_config(
        tmp_path, **{'approvals_channel = "': 'audit_channel = "#security-audit"\napprovals_channel = "'}
    )
    assert load_config(config).slack.audit_channel == "#security-audit"
    bad = write_config(tmp_path, **{'approvals_channel = "': 'audit_channel = "audit log"\napprovals_channel = "'})
    with pytest.raises(ConfigError, match="slack.audit_channel: 'audit log' is not a Slack channel"):
        load_config(bad)


def test_doctor_warns_without_the_key_and_names_the_anchor_channel(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    out = io.StringIO()
    assert run_doctor(config, Secrets(), env=CLEAN_ENV, out=out) == 0
    assert "  WARN    audit log: WARDEN_AUDIT_KEY (not set: audit hashes are plain SHA-256" in out.getvalue()
    out = io.StringIO()
    run_doctor(config, Secrets(audit_key="k" * 40), env=CLEAN_ENV, out=out)
    assert "  WARN    audit log: WARDEN_AUDIT_KEY (set, but [slack] audit_channel is not" in out.getvalue()
    out = io.StringIO()
    assert run_doctor(config, Secrets(audit_key="short"), env=CLEAN_ENV, out=out) == 1
    assert "  FAIL    audit log: WARDEN_AUDIT_KEY (WARDEN_AUDIT_KEY is 5 characters long" in out.getvalue()
    assert "short" not in out.getvalue().replace("is 5 characters", "")


# --- ibmi-warden audit --verify ---------------------------------------------------------------------


@pytest.fixture
def keyed_db(tmp_path) -> tuple[Path, list[audit.AuditEvent]]:
    """A configuration whose database holds six events keyed with KEY."""
    config = write_config(tmp_path)
    storage = open_database(tmp_path / "warden-demo.db", __version__)
    try:
        audit.use_key(storage, KEY)
        events = add(storage, 6)
    finally:
        storage.close()
    return config, events


def with_key(key: bytes | None) -> dict[str, str]:
    return {**CLEAN_ENV, "WARDEN_AUDIT_KEY": key.decode()} if key else CLEAN_ENV


def test_cli_verify_of_a_keyed_log_needs_the_right_key(keyed_db):
    config, events = keyed_db
    ok = warden("audit", "--config", str(config), "--verify", cwd=config.parent, env=with_key(KEY))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"audit log intact: 6 rows, head 6:{events[-1].hash} (keyed with WARDEN_AUDIT_KEY")

    wrong = warden("audit", "--config", str(config), "--verify", cwd=config.parent, env=with_key(OTHER_KEY))
    assert wrong.returncode == 1 and "not the key this log was keyed with" in wrong.stdout
    assert OTHER_KEY.decode() not in wrong.stdout + wrong.stderr

    missing = warden("audit", "--config", str(config), "--verify", cwd=config.parent)
    assert missing.returncode == 2 and "cannot verify: the log is keyed" in missing.stderr


def test_cli_verify_with_an_anchored_head(keyed_db):
    config, events = keyed_db
    head = f"3:{events[2].hash}"
    ok = warden("audit", "--config", str(config), "--verify", "--head", head, cwd=config.parent, env=with_key(KEY))
    assert ok.returncode == 0, ok.stderr
    assert f"rows 1–3 are present and unchanged since head {head} was anchored" in ok.stdout

    storage = open_database(config.parent / "warden-demo.db", __version__)
    try:  # cut to two rows; with the key in hand, the head is reset and re-MACed
        attacker(storage, ("DELETE FROM audit WHERE id > 2", []))
        attacker(
            storage, ("UPDATE audit_head SET rows = 2, hash = ?, mac = ?", [events[1].hash, _mac(2, events[1].hash)])
        )
    finally:
        storage.close()
    assert warden("audit", "--config", str(config), "--verify", cwd=config.parent, env=with_key(KEY)).returncode == 0
    cut = warden("audit", "--config", str(config), "--verify", "--head", head, cwd=config.parent, env=with_key(KEY))
    assert cut.returncode == 1
    assert cut.stdout.startswith("audit log tampered: first bad row 3: the anchored head 3:")


def _mac(rows: int, head_hash: str) -> str:
    from storage.audit_key import head_mac

    return head_mac(KEY, rows, head_hash, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--verify", "--head", "3:abc"), "expected SEQ:HASH"),
        (("--head", "3:" + "a" * 64), "--head goes with --verify"),
    ],
)
def test_cli_refuses_a_malformed_head_or_one_without_verify(keyed_db, args, message):
    config, _ = keyed_db
    result = warden("audit", "--config", str(config), *args, cwd=config.parent, env=with_key(KEY))
    assert result.returncode == 2 and message in result.stderr


def test_the_bot_refuses_to_start_on_a_keyed_log_without_its_key(keyed_db, monkeypatch):
    config, _ = keyed_db
    monkeypatch.chdir(config.parent)  # storage.path is relative
    from bot.wiring import build_bot

    loaded = load_config(config)
    with pytest.raises(AuditKeyError, match="set WARDEN_AUDIT_KEY"):
        build_bot(loaded, Secrets())
    parts = build_bot(loaded, Secrets(audit_key=KEY.decode()))
    try:
        assert parts.storage.audit_key == KEY
    finally:
        parts.close()


def test_secrets_dataclass_fields_stay_out_of_repr():
    secrets = Secrets(audit_key="k" * 40)
    assert "k" * 40 not in repr(secrets)
    assert {f.name for f in dataclasses.fields(secrets) if not f.repr} >= {"audit_key"}
