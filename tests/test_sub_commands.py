"""The declared `/ibmi` sub-commands: discovered from `handlers/commands/`, listed by help, dispatched and
authorised from their declarations alone; and the one gate every listener asks."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest

import handlers.commands
import tests.example_sub_commands
from bot.command_parsing import ParsedCommand
from bot.slack import blocks
from bot.systems import NetstatReport, SystemStatus
from handlers import home, views
from handlers.commands import SUB_COMMANDS, discover, parse_command_text, usage_of
from handlers.gate import Attempt, Gate
from handlers.ports import HandlerServices
from handlers.slash_command import IbmiCommand
from storage import Storage, audit, open_database

VIEWER, OPERATOR, STRANGER = "U0VIEWER", "U0OPERATOR", "U0STRANGER"
EXTENDED = tuple(sorted((*SUB_COMMANDS, *discover(tests.example_sub_commands)), key=lambda s: (s.order, s.name)))


AUDITED: list[Storage] = []  # the database the gates of this module record their refusals in


@pytest.fixture(autouse=True)
def audit_storage(tmp_path: Path) -> Any:
    storage = open_database(tmp_path / "gate.db", "test")
    AUDITED[:] = [storage]
    yield storage
    storage.close()


def new_gate(roles: Any) -> Gate:
    return Gate(roles, AUDITED[0], lambda: 1_800_000_000.0)


def refusals() -> list[audit.AuditEvent]:
    return [event for event in audit.recent(AUDITED[0], 100) if event.action == "refused"]


class Inline(Executor):
    """Runs submitted work at once, so a test sees the answer without waiting."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future

    def submit_for(self, system: str, what: str, job: Callable[[], None]) -> None:
        job()

    def busy(self, system: str) -> Exception | None:
        return None


class Recorder:
    """Stands in for Bolt's ack and respond: records each call's keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)

    @property
    def texts(self) -> list[str]:
        return [call.get("text", "") for call in self.calls]


class FakeRoles:
    def is_viewer(self, user_id: str) -> bool:
        return user_id in (VIEWER, OPERATOR)

    def is_operator(self, user_id: str) -> bool:
        return user_id == OPERATOR


class FakeSystems:
    def __init__(self, names: list[str]) -> None:
        self._names = names

    def names(self) -> list[str]:
        return self._names

    def statuses(self) -> list[SystemStatus]:
        return []

    def netstat(self, system: str, port: int | None = None) -> NetstatReport:
        return NetstatReport(system, (), port)


class FakeHome:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def view(self, user_id: str) -> dict[str, Any]:
        self.asked.append(user_id)
        return {"type": "home", "blocks": []}


class FakeStorage:
    """A database that takes writes."""

    def current_problem(self) -> None:
        return None


class FakeRequests:
    """Only the listing is answered; anything else would fail loudly."""

    def pending_text(self) -> str:
        return "No change requests are waiting for approval."

    def smtp_lists(self, system: str, list_type: str | None) -> str:
        return f"No {list_type or 'SMTP list'} entries on {system}."


class FakePublisher:
    """Stands in for the Home publisher: who opened the tab (and is republished to from then on)."""

    def __init__(self) -> None:
        self.opened_by: list[str] = []

    def opened(self, user: str) -> None:
        self.opened_by.append(user)


def fake_services(systems: list[str]) -> HandlerServices:
    """The handlers' services built from fakes; a port no test reaches is an object without methods."""
    nothing: Any = object()
    return HandlerServices(
        roles=FakeRoles(),
        systems=FakeSystems(systems),
        alerts=nothing,
        requests=FakeRequests(),  # type: ignore[arg-type]
        approvals=nothing,
        home=FakeHome(),
        home_publisher=FakePublisher(),
        delivery=nothing,
        storage=FakeStorage(),
    )


def run(text: str, user: str = OPERATOR, systems: list[str] | None = None) -> tuple[Recorder, Recorder]:
    """`/ibmi TEXT` through the dispatcher with the test-only `ping` declared too: the ack and the responses."""
    services = fake_services(["PROD"] if systems is None else systems)
    command = IbmiCommand(services, new_gate(services.roles), "/ibmi", Inline(), EXTENDED)
    ack, respond = Recorder(), Recorder()
    command.handle(ack, {"text": text, "user_id": user, "trigger_id": "t"}, None, respond)  # type: ignore[arg-type]
    return ack, respond


# --- discovery and help -------------------------------------------------------------------------------------


def test_every_module_in_handlers_commands_declares_one_sub_command_of_its_name() -> None:
    modules = sorted(m.name for m in pkgutil.iter_modules(handlers.commands.__path__))
    assert sorted(sub.name for sub in SUB_COMMANDS) == modules
    for name in modules:
        assert importlib.import_module(f"handlers.commands.{name}").COMMAND.name == name


def test_sub_commands_keep_their_help_order() -> None:
    assert [sub.name for sub in SUB_COMMANDS] == [
        "help",
        "status",
        "netstat",
        "trace",
        "end",
        "smtp",
        "relay",
        "trust",
        "untrust",
        "silence",
        "unsilence",
        "approvals",
        "audit",
    ]


def test_help_lists_exactly_the_declared_sub_commands() -> None:
    ack, _ = run("help")
    [reply] = ack.calls
    assert reply["text"] == blocks.help_text("/ibmi", EXTENDED)
    listed = [line for line in reply["text"].splitlines()]
    assert len(listed) == len(EXTENDED)
    for sub, line in zip(EXTENDED, listed, strict=True):
        assert line == f"/ibmi {sub.usage}  (e.g. /ibmi {sub.example})"
    shown = " ".join(b["text"]["text"] for b in reply["blocks"] if b["type"] == "section")
    assert shown.count("• `/ibmi ") == len(EXTENDED)


def test_without_the_test_declaration_help_does_not_list_it() -> None:
    assert "ping" not in blocks.help_text("/ibmi", SUB_COMMANDS)
    assert "ping" in blocks.help_text("/ibmi", EXTENDED)


def test_discovery_refuses_a_module_without_a_sub_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "broken_commands"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "odd.py").write_text("COMMAND = 'not a declaration'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="is not a SubCommand"):
        discover(importlib.import_module("broken_commands"))


# --- a new declaration is dispatched with no other edit -----------------------------------------------------


def test_a_new_declaration_is_parsed_acked_and_answered() -> None:
    ack, respond = run("ping")
    assert ack.texts == ["Pinging PROD…"]
    assert respond.texts == [f"pong from PROD for <@{OPERATOR}>"]
    assert parse_command_text("ping @prod", ["PROD"], "/ibmi", EXTENDED) == ParsedCommand("ping", "PROD")


def test_a_new_declaration_gets_its_usage_errors() -> None:
    ack, respond = run("ping twice")
    assert ack.texts == ["`ping` takes no arguments (got `twice`). Usage: /ibmi ping"]
    ack, _ = run("ping", systems=["PROD", "DEV"])
    assert ack.texts == ["Several systems are configured; name one of PROD, DEV with @SYSTEM. Usage: /ibmi ping"]
    ack, _ = run("pong")
    assert ack.calls[0]["text"].startswith("`pong` is not a sub-command. Sub-commands: help, ping, status, netstat")
    assert respond.calls == []
    assert usage_of("ping", "/warden", EXTENDED) == "/warden ping"


def test_a_new_declaration_gets_its_role_refusal() -> None:
    ack, respond = run("ping", user=VIEWER)
    assert ack.texts == ["Only operators or approvers may do that ([roles] operators)."]
    assert respond.calls == []
    ack, _ = run("ping", user=STRANGER)
    assert ack.texts == ["Only viewers may use /ibmi ([roles] viewers)."]


def test_approvals_is_answered_in_the_ack_and_netstat_from_the_work_pool() -> None:
    ack, respond = run("approvals", user=VIEWER)
    assert ack.texts == ["No change requests are waiting for approval."]
    ack, respond = run("netstat", user=VIEWER)
    assert ack.texts == ["Reading connections on PROD…"]
    assert respond.texts == ["Connections on PROD"]


def test_smtp_list_is_for_viewers_and_smtp_changes_for_operators() -> None:
    assert run("smtp list", user=VIEWER)[1].texts == ["No SMTP list entries on PROD."]
    refused = ["Only operators or approvers may do that ([roles] operators)."]
    assert run("smtp add", user=VIEWER)[0].texts == refused
    assert run("smtp remove accept 10.1.1.0", user=VIEWER)[0].texts == refused


# --- the gate -----------------------------------------------------------------------------------------------


def test_the_gate_says_who_may() -> None:
    gate = new_gate(FakeRoles())
    attempt = Attempt("trace", "fp1")
    assert gate.refusal(VIEWER, "viewer", "trace addresses", attempt) is None
    assert gate.refusal(OPERATOR, "operator", "request changes", attempt) is None
    assert refusals() == []  # what is allowed leaves no row
    assert gate.refusal(STRANGER, "viewer", "trace addresses", attempt) == "Only viewers may trace addresses."
    assert (
        gate.refusal(VIEWER, "operator", "request changes", Attempt("silence", "fp2", "PROD"))
        == "Only operators or approvers may request changes."
    )
    second, first = refusals()
    assert (first.actor, first.subject, first.outcome) == (STRANGER, "fp1", "refused: trace: not one of the viewers")
    assert (second.actor, second.system, second.subject) == (VIEWER, "PROD", "fp2")
    assert second.outcome == "refused: silence: not one of the operators or approvers"


def test_a_refusal_whose_subject_looks_like_a_secret_is_recorded_without_it() -> None:
    gate = new_gate(FakeRoles())
    gate.refusal(STRANGER, "viewer", "trace addresses", Attempt("/ibmi trace", "xoxb-1234567890-abcdef"))
    [event] = refusals()
    assert event.subject == "(withheld: it looked like a secret)" and event.actor == STRANGER


def test_a_redrawn_home_tab_refusal_is_not_an_attempt_and_is_not_recorded() -> None:
    assert new_gate(FakeRoles()).refusal(STRANGER, "viewer", "see it", None) == "Only viewers may see it."
    assert refusals() == []


class FakeApp:
    """Collects the listeners a handler module registers."""

    def __init__(self) -> None:
        self.listeners: dict[str, Callable[..., None]] = {}

    def _collect(self, key: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        def decorator(listener: Callable[..., None]) -> Callable[..., None]:
            self.listeners[key] = listener
            return listener

        return decorator

    def view(self, callback_id: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return self._collect(callback_id)

    def event(self, name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return self._collect(name)


def test_a_request_from_an_alert_is_refused_at_submission_to_a_non_operator() -> None:
    services, app, ack = fake_services(["PROD"]), FakeApp(), Recorder()
    views.register(app, services, new_gate(services.roles), Inline())  # type: ignore[arg-type]
    view = {"private_metadata": "{}", "state": {"values": {"reason": {"value": {"value": "why not"}}}}}
    app.listeners[views.ALERT_REQUEST](ack=ack, body={"user": {"id": VIEWER}}, view=view, client=None)
    assert ack.calls == [
        {"response_action": "errors", "errors": {"reason": "Only operators or approvers may request changes."}}
    ]


def test_the_home_tab_of_a_non_viewer_is_the_gate_refusal() -> None:
    services, app = fake_services(["PROD"]), FakeApp()
    home.register(app, services, new_gate(services.roles), Inline())  # type: ignore[arg-type]
    published: list[dict[str, Any]] = []

    class Client:
        def views_publish(self, user_id: str, view: dict[str, Any]) -> None:
            published.append(view)

    app.listeners["app_home_opened"](event={"tab": "home", "user": STRANGER}, client=Client())
    app.listeners["app_home_opened"](event={"tab": "home", "user": VIEWER}, client=Client())
    assert published[0] == {
        "type": "home",
        "blocks": blocks.text_blocks("Only viewers may see the state of the IBM i systems."),
    }
    assert published[1] == {"type": "home", "blocks": []}
    assert isinstance(services.home, FakeHome) and services.home.asked == [VIEWER]


def test_opening_the_home_tab_hands_the_user_to_the_publisher() -> None:
    services, app = fake_services(["PROD"]), FakeApp()
    home.register(app, services, new_gate(services.roles), Inline())  # type: ignore[arg-type]
    published: list[str] = []

    class Client:
        def views_publish(self, user_id: str, view: dict[str, Any]) -> None:
            published.append(user_id)

    app.listeners["app_home_opened"](event={"tab": "home", "user": VIEWER}, client=Client())
    app.listeners["app_home_opened"](event={"tab": "messages", "user": OPERATOR}, client=Client())
    assert published == [VIEWER]
    assert isinstance(services.home_publisher, FakePublisher) and services.home_publisher.opened_by == [VIEWER]
