"""Storage trouble end to end: the running bot with its database write-locked by another process (or its
disk full) answers commands with a clear message instead of HTTP 500, says so once in Slack and in
`/ibmi status`, and keeps running its checks, saying once that their runs cannot be recorded."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.changes.render import REJECT_MODAL
from bot.checker import build_checker
from handlers import views
from handlers.actor import Actor
from handlers.ports import HandlerServices
from storage.check_runs import last_runs
from storage.database import StorageFailure
from storage.health import StorageProblem
from tests.slack_server import SlackTestServer
from tests.test_slack_e2e import BOT_SCOPES, Bot, make_config
from tests.test_sub_commands import FakeApp

OPERATOR = "U01OPERATOR"  # an operator in the example configuration


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(scopes=BOT_SCOPES) as server:
        yield server


@pytest.fixture
def http_bot(slack: SlackTestServer, tmp_path: Path) -> Iterator[Bot]:
    bot = Bot(slack, tmp_path, http=True)
    bot.bot.storage.db.execute("PRAGMA busy_timeout = 0")  # a blocked write fails at once, not after 5 s
    yield bot
    bot.stop()


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process (a sqlite3 shell, a second bot) holding the database's write lock."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_silence_with_the_database_locked_answers_clearly_and_changes_nothing(
    http_bot: Bot, slack: SlackTestServer
) -> None:
    other = hold_write_lock(http_bot.bot.storage.path)
    try:
        status, body, _, _ = http_bot.command(slack, "silence 203.0.113.7 4h vendor test", user_id=OPERATOR)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert status == 200, body
    assert body["response_type"] == "ephemeral"
    assert "The bot's database is not writable" in body["text"]
    assert "locked by another process" in body["text"] and "nothing was changed" in body["text"]
    assert "Traceback" not in json.dumps(body)
    assert http_bot.bot.storage.db.execute("SELECT count(*) FROM silences").fetchone()[0] == 0


def test_an_outage_is_said_once_in_slack_and_shown_in_status(http_bot: Bot, slack: SlackTestServer) -> None:
    other = hold_write_lock(http_bot.bot.storage.path)
    try:
        for _ in range(3):
            http_bot.command(slack, "silence 203.0.113.7 4h vendor test", user_id=OPERATOR)
        [said] = slack.wait_for("chat.postMessage", count=1, timeout=10)
        _, status_body, _, _ = http_bot.command(slack, "status")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert said.params["channel"] == http_bot.config.slack.alerts_channel
    assert "database cannot be written" in said.params["text"] and "locked by another process" in said.params["text"]
    assert len(slack.calls_to("chat.postMessage")) == 1  # three refused commands, one outage, one message
    status_text = json.dumps(status_body["blocks"])
    assert "database cannot be written" in status_text and "locked by another process" in status_text


def test_checks_keep_running_while_the_database_is_locked_and_say_once_that_runs_cannot_be_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checker = build_checker(make_config(tmp_path))
    checker.storage.db.execute("PRAGMA busy_timeout = 0")
    other = hold_write_lock(checker.storage.path)
    try:
        first = checker.checks.run_cycle()
        second = checker.checks.run_cycle()
    finally:
        other.execute("ROLLBACK")
        other.close()
    try:
        assert first.findings and second.findings  # the checks ran and found what the demo holds
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors  # one outage, one ERROR: not one per run
        assert "locked by another process" in errors[0]
        unrecorded = [r.getMessage() for r in caplog.records if "could not be recorded" in r.getMessage()]
        assert len(unrecorded) == 1, unrecorded
        assert last_runs(checker.storage) == {}
    finally:
        checker.close()


class NotWritable:
    def current_problem(self) -> StorageProblem:
        return StorageProblem("the disk holding it is full", "free space on that disk", "SQLITE_FULL", 0.0)


def test_a_form_submitted_while_the_database_cannot_be_written_says_so_and_stays_open() -> None:
    app = FakeApp()
    nothing: Any = object()
    services = HandlerServices(nothing, nothing, nothing, nothing, nothing, nothing, nothing, nothing, NotWritable())
    work: Any = object()  # nothing may be handed to the work pool
    views.register(app, services, nothing, work)  # type: ignore[arg-type]
    for callback_id in (views.SMTP_ADD, views.ALERT_REQUEST, REJECT_MODAL):
        acks: list[dict[str, Any]] = []
        ack = lambda acks=acks, **answer: acks.append(answer)  # noqa: E731
        app.listeners[callback_id](ack, {"user": {"id": OPERATOR}}, {}, nothing)
        [answer] = acks
        assert answer["response_action"] == "errors"
        assert "not writable: the disk holding it is full — nothing was changed" in answer["errors"]["reason"]


def test_a_button_whose_work_the_database_refuses_answers_clearly() -> None:
    said: list[dict[str, Any]] = []
    problem = NotWritable().current_problem()

    def refused() -> str:
        raise StorageFailure(problem, Path("warden.db"), "database or disk is full")

    class Respond:
        response_url = "https://hooks.slack.com/actions/T0WARDEN/1/x"

        def __call__(self, **answer: Any) -> Any:
            said.append(answer)
            return SimpleNamespace(status_code=200)

    Actor(cast(Any, None), OPERATOR, cast(Any, Respond())).answer("a button", "", refused)
    [answer] = said
    assert answer["text"].startswith(":x: The bot's database is not writable: the disk holding it is full")
