"""The composition root: every service built once, none missing, and the handlers' one object satisfying its
ports."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

from bot.check_runner import NotAnnounced
from bot.checker import build_checker
from bot.config import Secrets, load_config
from bot.wiring import build_bot, handler_services
from handlers import ports
from tests.test_cli import write_config


def _config(tmp_path: Path):
    return load_config(write_config(tmp_path), env={})


def test_the_bot_is_built_with_every_service_and_none_missing(tmp_path: Path) -> None:
    bot = build_bot(_config(tmp_path), Secrets(slack_bot_token="xoxb-test"))
    try:
        for field in dataclasses.fields(bot):
            assert getattr(bot, field.name) is not None, field.name
        assert bot.checks.systems is bot.systems and bot.home.systems is bot.systems
        assert bot.requests.approvals is bot.approvals and bot.alert_actions.requests is bot.requests
        assert bot.requests.silences is bot.silences is bot.alert_actions.silences
        assert bot.approvals.alerts is bot.alerts and bot.silences.alerts is bot.alerts
    finally:
        bot.close()
        bot.close()  # a second close does nothing


def test_the_handlers_get_one_object_whose_ports_the_bot_satisfies(tmp_path: Path) -> None:
    bot = build_bot(_config(tmp_path), Secrets(slack_bot_token="xoxb-test"))
    try:
        services = handler_services(bot)
        assert isinstance(services, ports.HandlerServices)
        hints = {f.name: f.type for f in dataclasses.fields(ports.HandlerServices)}
        for name, port_name in hints.items():
            port = getattr(ports, str(port_name))
            value = getattr(services, name)
            assert value is not None, name
            for method, _ in inspect.getmembers(port, inspect.isfunction):
                if not method.startswith("_"):
                    assert callable(getattr(value, method, None)), f"{name}.{method}"
    finally:
        bot.close()


def test_the_terminal_checker_returns_findings_without_announcing_them(tmp_path: Path) -> None:
    checker = build_checker(_config(tmp_path))
    try:
        assert isinstance(checker.checks.announcer, NotAnnounced)
        result = checker.checks.run_cycle()
        assert any(f.subject == "210.107.73.73" for f in result.findings) and result.errors == {}
    finally:
        checker.close()
