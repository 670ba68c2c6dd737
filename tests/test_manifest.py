"""app.json: valid against Slack's manifest schema, set up for Socket Mode, and asking for exactly the bot
scopes the code needs."""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import json
import re
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from slack_sdk import WebClient
from slack_sdk.socket_mode.client import BaseSocketModeClient

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "app.json"
SCHEMA = REPO / "tests" / "fixtures" / "schemas" / "slack-manifest.schema.1.0.0.json"  # see its README.md
SOURCE_FOLDERS = ("bot", "handlers")

# Web API method → the bot scope it needs (None: no scope). From the Slack reference's bot-scope table.
METHOD_SCOPES: dict[str, str | None] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "usergroups.list": "usergroups:read",
    "conversations.open": "im:write",
    "views.open": None,
    "views.publish": None,
    "views.update": None,
    "views.push": None,
    "auth.test": None,
}
# Events the bot subscribes to → the bot scope they need.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_mention": ("app_mentions:read",),
    "member_joined_channel": ("channels:read", "groups:read"),  # public and private channels
}


@functools.cache
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def errors_of(validator: Draft7Validator, document: dict) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


# --- the manifest itself ------------------------------------------------------------------------------------


def test_manifest_validates_against_slacks_schema(validator: Draft7Validator) -> None:
    assert errors_of(validator, manifest()) == []


def test_manifest_is_set_up_for_socket_mode_and_the_slash_command() -> None:
    features, settings = manifest()["features"], manifest()["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert features["app_home"]["home_tab_enabled"] is True
    assert [c["command"] for c in features["slash_commands"]] == ["/ibmi"]
    # With Socket Mode, payloads come over the WebSocket: a request URL would be ignored, and is a sign of a
    # half-converted manifest.
    assert "url" not in features["slash_commands"][0]
    assert "request_url" not in settings["interactivity"]
    assert "request_url" not in settings.get("event_subscriptions", {})


def test_manifest_command_is_the_configured_default() -> None:
    from bot.config import SlackSettings

    example = tomllib.loads((REPO / "bot" / "warden.example.toml").read_text(encoding="utf-8"))
    command = manifest()["features"]["slash_commands"][0]["command"]
    assert example["slack"]["command"] == command
    assert SlackSettings.__dataclass_fields__["command"].default == command


def test_manifest_usage_hint_lists_the_available_sub_commands() -> None:
    from handlers.commands import SUB_COMMANDS

    hint = manifest()["features"]["slash_commands"][0]["usage_hint"]
    for sub in SUB_COMMANDS:
        if sub.available:
            assert sub.name in hint


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda m: m["features"]["slash_commands"][0].update(command="/" + "i" * 32), "slash_commands/0/command"),
        (lambda m: m["features"]["slash_commands"][0].update(command="ibmi"), "slash_commands/0/command"),
        (lambda m: m["features"]["slash_commands"][0].update(colour="blue"), "slash_commands/0"),
        (lambda m: m.update(bogus_section={}), "<root>"),
        (lambda m: m["settings"]["interactivity"].pop("is_enabled"), "settings/interactivity"),
        (lambda m: m["display_information"].update(name="n" * 36), "display_information/name"),
    ],
)
def test_schema_rejects_a_broken_manifest(validator: Draft7Validator, change, where: str) -> None:
    broken = copy.deepcopy(manifest())
    change(broken)
    errors = errors_of(validator, broken)
    assert errors, "the schema accepted a broken manifest"
    assert any(error.startswith(where) or f"/{where}" in error for error in errors), errors


def test_schema_reports_both_problems_of_an_over_long_command_with_an_unknown_key(validator) -> None:
    broken = copy.deepcopy(manifest())
    broken["features"]["slash_commands"][0].update(command="/" + "x" * 40, unknown_key=True)
    errors = errors_of(validator, broken)
    assert any("command" in e and "too long" in e for e in errors), errors
    assert any("unknown_key" in e for e in errors), errors


# --- scopes -------------------------------------------------------------------------------------------------


@functools.cache
def _web_api_methods() -> dict[str, str | None]:
    """slack_sdk WebClient method name → the Web API method it calls (None when it calls none directly)."""
    methods: dict[str, str | None] = {}
    for name, function in vars(WebClient).items():
        if name.startswith("_") or not callable(function):
            continue
        calls = re.findall(r"api_call\(\s*[\"']([\w.]+)[\"']", inspect.getsource(function))
        methods[name] = calls[0] if len(set(calls)) == 1 else None
    return methods


# Calls on something named `client` that are not Web API methods (Socket Mode clients, the base client).
_NOT_WEB_API = {name for name in dir(BaseSocketModeClient) if not name.startswith("_")}


def _receiver_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def slack_usage(source: str, filename: str = "<source>") -> tuple[set[str], set[str], bool]:
    """Web API methods called (as `chat.postMessage`), events subscribed to, and whether a slash command or
    shortcut is registered, found in one Python source."""
    web_methods = _web_api_methods()
    methods: set[str] = set()
    events: set[str] = set()
    commands = False
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        first = node.args[0] if node.args else None
        constant = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if isinstance(func, ast.Name) and func.id == "say":  # Bolt's say() is chat.postMessage
            methods.add("chat.postMessage")
        if not isinstance(func, ast.Attribute):
            continue
        receiver = _receiver_name(func.value)
        where = f"{filename}:{node.lineno}"
        if func.attr == "api_call":
            assert constant, f"{where}: api_call with a method name that is not a literal"
            methods.add(constant)
        elif func.attr in web_methods or (receiver == "client" and func.attr not in _NOT_WEB_API):
            api = web_methods.get(func.attr)
            assert api, (
                f"{where}: `{receiver}.{func.attr}(` is not a slack_sdk WebClient method that calls one "
                "Web API method; add its scope to METHOD_SCOPES by hand"
            )
            methods.add(api)
        elif receiver == "app" and func.attr in ("command", "shortcut"):
            commands = True
        elif receiver == "app" and func.attr == "event":
            assert constant, f"{where}: app.event with an event type that is not a literal"
            events.add(constant)
        elif receiver == "app" and func.attr == "message":
            events.add("message")
    return methods, events, commands


def usage_in_code() -> tuple[set[str], set[str], bool]:
    methods: set[str] = set()
    events: set[str] = set()
    commands = False
    files = [path for folder in SOURCE_FOLDERS for path in sorted((REPO / folder).rglob("*.py"))]
    assert files
    for path in files:
        found = slack_usage(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
        methods |= found[0]
        events |= found[1]
        commands = commands or found[2]
    return methods, events, commands


def required_scopes(methods: set[str], events: set[str], commands: bool) -> set[str]:
    unknown = sorted(methods - METHOD_SCOPES.keys())
    assert not unknown, (
        f"the code calls {', '.join(unknown)}, which METHOD_SCOPES does not know: add the "
        "method with its scope from the Slack reference (bot scopes table)"
    )
    unknown_events = sorted(events - EVENT_SCOPES.keys())
    assert not unknown_events, f"the code subscribes to {', '.join(unknown_events)}, unknown to EVENT_SCOPES"
    scopes = {METHOD_SCOPES[m] for m in methods} | {scope for e in events for scope in EVENT_SCOPES[e]}
    if commands:
        scopes.add("commands")
    return scopes - {None}


def test_manifest_bot_scopes_are_exactly_what_the_code_needs() -> None:
    methods, events, commands = usage_in_code()
    assert commands, "the app registers its slash command with app.command(…)"
    assert "views.publish" in methods  # the Home tab: the scan does find the calls
    needed = required_scopes(methods, events, commands)
    granted = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert granted == needed, (
        f"missing from app.json: {sorted(needed - granted)}; not needed by the code: {sorted(granted - needed)} "
        f"(methods called: {sorted(methods)})"
    )


def test_manifest_bot_events_are_the_events_the_code_handles() -> None:
    _, events, _ = usage_in_code()
    assert set(manifest()["settings"]["event_subscriptions"]["bot_events"]) == events


def test_scope_scan_finds_the_call_styles() -> None:
    source = """
def handler(client, say, app, body):
    client.chat_postMessage(channel="C1", text="x")
    app.client.users_info(user="U1")
    self.client.usergroups_users_list(usergroup="S1")
    say("hello")
    client.api_call("chat.delete", json={})
    web.conversations_open(users="U1")
    app.command("/ibmi")(lambda ack: ack())
    app.event("app_mention")(lambda ack: ack())
    # client.chat_update( in a comment is not a call
    socket_mode.client.connect()
    client.close()
"""
    methods, events, commands = slack_usage(source)
    assert methods == {"chat.postMessage", "users.info", "usergroups.users.list", "chat.delete", "conversations.open"}
    assert events == {"app_mention"} and commands
    assert required_scopes(methods, events, commands) == {
        "chat:write",
        "users:read",
        "usergroups:read",
        "im:write",
        "commands",
        "app_mentions:read",
    }


def test_a_method_the_table_does_not_know_fails_clearly() -> None:
    methods, events, commands = slack_usage("client.reactions_add(channel='C1', name='eyes', timestamp='1')")
    assert methods == {"reactions.add"}
    with pytest.raises(AssertionError, match="reactions.add, which METHOD_SCOPES does not know"):
        required_scopes(methods, events, commands)


def test_a_call_on_a_client_that_is_not_a_web_api_method_fails_clearly() -> None:
    with pytest.raises(AssertionError, match=r"`client.chat_post_message\(` is not a slack_sdk WebClient method"):
        slack_usage("client.chat_post_message(channel='C1')")
