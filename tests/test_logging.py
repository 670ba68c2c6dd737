"""No token or password reaches a log: RedactingFilter, and configure_logging installing it for every logger."""

from __future__ import annotations

import io
import itertools
import logging

import pytest

from bot.logging_setup import (
    MAX_MESSAGE_CHARS,
    REDACTED,
    OneLineFormatter,
    RedactingFilter,
    configure_logging,
    escape_controls,
)

BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef"
USER_TOKEN = "xoxp-1111-2222-3333-abcdef"
CONFIG_TOKEN = "xoxe.xoxp-1-Mi0yLTExMTEtMjIy"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
IBMI_PASSWORD = "Sup3r;Secret"


@pytest.fixture
def root_logging():
    """configure_logging replaces the root logger's handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("slack_bolt", "apscheduler")}
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


_CAPTURES = itertools.count()


class Capture:
    """A logger with its own handler that formats through the filter, as configure_logging sets it up."""

    def __init__(self, secrets=()):
        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        handler.addFilter(RedactingFilter(secrets))
        # a name of its own: id() is reused once an earlier Capture is gone, and its logger would still
        # hold that Capture's handler
        self.logger = logging.getLogger(f"test_logging.capture.{next(_CAPTURES)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.handlers[:] = [handler]

    @property
    def text(self) -> str:
        return self.stream.getvalue()


def redact(text: str, secrets=()) -> str:
    return RedactingFilter(secrets).redact(text)


# --- the patterns -------------------------------------------------------------------------------------------


def test_known_secret_values_are_masked() -> None:
    text = redact(f"signing secret {SIGNING_SECRET}, password {IBMI_PASSWORD}.", [SIGNING_SECRET, IBMI_PASSWORD])
    assert text == f"signing secret {REDACTED}, password {REDACTED}."


def test_longer_secret_masked_before_a_shorter_one_inside_it() -> None:
    assert redact("pw=abcd1234", ["abcd", "abcd1234"]) == f"pw={REDACTED}"


def test_empty_and_very_short_secrets_do_not_blank_the_log() -> None:
    assert redact("a normal message", ["", "a", "no"]) == "a normal message"


@pytest.mark.parametrize("token", [BOT_TOKEN, APP_TOKEN, USER_TOKEN, CONFIG_TOKEN, "xoxe-1-refresh-ABC", "xoxa-2-abc"])
def test_slack_token_shapes_are_masked_without_being_configured(token: str) -> None:
    for template in ("{}", "Bearer {}", "token={}&x=1", "'{}'", "SLACK_BOT_TOKEN={}\nnext"):
        text = redact(template.format(token))
        assert text == template.format(REDACTED), text
        assert "xox" not in text and "xapp" not in text


def test_words_that_merely_start_like_tokens_stay() -> None:
    assert redact("the xoxb prefix and xapp tokens") == "the xoxb prefix and xapp tokens"


@pytest.mark.parametrize(
    "connection, expected",
    [
        (
            "DRIVER={IBM i Access ODBC Driver};SYSTEM=prod;UID=WARDEN;PWD=s3cret;NAM=1",
            "DRIVER={IBM i Access ODBC Driver};SYSTEM=prod;UID=WARDEN;PWD=[redacted];NAM=1",
        ),
        ("SYSTEM=prod;UID=WARDEN;PWD=s3cret", "SYSTEM=prod;UID=WARDEN;PWD=[redacted]"),
        ("SYSTEM=prod;pwd=s3cret;", "SYSTEM=prod;pwd=[redacted];"),
        ("SYSTEM=prod;PASSWORD={se;cr=et};UID=W", "SYSTEM=prod;PASSWORD=[redacted];UID=W"),
        ("SYSTEM=prod;PASSWORD={a}}b;c};UID=W", "SYSTEM=prod;PASSWORD=[redacted];UID=W"),  # "}}" escapes "}"
        ("SYSTEM=prod; PWD = s3cret ;UID=W", "SYSTEM=prod; PWD = [redacted];UID=W"),
        ("WARDEN_PROD_PASSWORD=s3cret", "WARDEN_PROD_PASSWORD=[redacted]"),
        ("PWD=s3cret\nTraceback continues here", "PWD=[redacted]\nTraceback continues here"),
    ],
)
def test_odbc_passwords_are_masked(connection: str, expected: str) -> None:
    assert redact(connection) == expected


def test_text_without_secrets_is_unchanged() -> None:
    text = "NETSTAT on PROD: 3 connections, UID=WARDEN; 10.0.0.1:23 (PWDCHECK=on)"
    assert redact(text) == text


# --- records ------------------------------------------------------------------------------------------------


def test_secret_in_the_message() -> None:
    capture = Capture()
    capture.logger.warning(f"connecting with SYSTEM=prod;PWD=s3cret; as {BOT_TOKEN}")
    assert capture.text == f"WARNING connecting with SYSTEM=prod;PWD={REDACTED}; as {REDACTED}\n"


def test_secret_in_percent_args() -> None:
    capture = Capture([IBMI_PASSWORD])
    capture.logger.info("token %s, password %r, %d tries", APP_TOKEN, IBMI_PASSWORD, 3)
    assert capture.text == f"INFO token {REDACTED}, password '{REDACTED}', 3 tries\n"


def test_secret_in_mapping_args() -> None:
    capture = Capture()
    capture.logger.info("%(name)s uses %(token)s", {"name": "bot", "token": BOT_TOKEN})
    assert capture.text == f"INFO bot uses {REDACTED}\n"


def test_secret_in_an_exception_traceback() -> None:
    capture = Capture([IBMI_PASSWORD])

    def connect() -> None:
        try:
            raise OSError(f"driver said: bad password {IBMI_PASSWORD}")
        except OSError as error:
            raise RuntimeError(f"connect failed for SYSTEM=prod;UID=W;PWD={IBMI_PASSWORD}") from error

    try:
        connect()
    except RuntimeError:
        capture.logger.exception("connection to %s failed with %s", "PROD", BOT_TOKEN)
    text = capture.text
    assert "Traceback (most recent call last)" in text and "RuntimeError: connect failed" in text
    assert "OSError: driver said: bad password [redacted]" in text
    assert IBMI_PASSWORD not in text and "Secret" not in text and BOT_TOKEN not in text
    assert text.startswith(f"ERROR connection to PROD failed with {REDACTED}\n")


def test_traceback_formatted_earlier_by_another_handler_is_redacted_too() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    record.exc_text = f"Traceback ...\nValueError: {USER_TOKEN}"
    RedactingFilter().filter(record)
    assert record.exc_text == f"Traceback ...\nValueError: {REDACTED}"


def test_secret_in_stack_info() -> None:
    capture = Capture()
    capture.logger.warning("look here", stack_info=True)  # the stack shows this line: xoxb-9-9-leaked
    assert "Stack (most recent call last)" in capture.text
    assert "xoxb-9-9-leaked" not in capture.text and f"this line: {REDACTED}" in capture.text


def test_unformattable_record_is_logged_not_raised() -> None:
    capture = Capture()
    capture.logger.info("%d connections with %s", "many", BOT_TOKEN)
    assert "unformattable" in capture.text and BOT_TOKEN not in capture.text


# --- configure_logging --------------------------------------------------------------------------------------


def test_configure_logging_redacts_records_from_any_logger(root_logging) -> None:
    stream = io.StringIO()
    redactor = configure_logging("INFO", [SIGNING_SECRET, IBMI_PASSWORD], stream=stream)
    assert isinstance(redactor, RedactingFilter)
    logging.getLogger("slack_sdk").warning("Sending a request with token %s", BOT_TOKEN)
    logging.getLogger("slack_bolt.App").warning("signature check with %s", SIGNING_SECRET)
    logging.getLogger("pyodbc.something").error("DSN=PROD;UID=W;PWD=%s", IBMI_PASSWORD)
    logging.getLogger("slack_sdk").debug("below the level: %s", "not shown")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith(f"WARNING slack_sdk: Sending a request with token {REDACTED}")
    assert lines[1].endswith(f"WARNING slack_bolt.App: signature check with {REDACTED}")
    assert lines[2].endswith(f"ERROR pyodbc.something: DSN=PROD;UID=W;PWD={REDACTED}")


def test_configure_logging_writes_to_stderr_by_default(root_logging, capsys) -> None:
    configure_logging("warning")  # the level's case does not matter
    logging.getLogger("slack_sdk.socket_mode").warning("connecting with %s", APP_TOKEN)
    logging.getLogger("slack_sdk.socket_mode").info("quiet")
    captured = capsys.readouterr()
    assert captured.err.endswith(f"WARNING slack_sdk.socket_mode: connecting with {REDACTED}\n")
    assert APP_TOKEN not in captured.err and "quiet" not in captured.err


def test_configure_logging_replaces_earlier_handlers(root_logging) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", stream=first)
    configure_logging("INFO", stream=second)
    logging.getLogger("any").warning("once")
    assert first.getvalue() == "" and second.getvalue().count("once") == 1


# --- one line a record ------------------------------------------------------------------------------------

FORGED = "2026-01-01 12:00:00,000 INFO bot.approvals: request R1 approved by U0APPROVER"


def one_line_capture(secrets=()) -> Capture:
    capture = Capture(secrets)
    capture.logger.handlers[0].setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    return capture


def test_a_newline_in_a_value_cannot_forge_a_line() -> None:
    capture = one_line_capture()
    capture.logger.warning("unknown command %r from %s", "x", f"U0OPERATOR\n{FORGED}\r\n{FORGED}")
    lines = capture.text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("WARNING ")
    assert f"U0OPERATOR\\n{FORGED}\\r\\n{FORGED}" in lines[0]


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x00", "\\x00"),
        ("\x1b", "\\x1b"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),
        ("\x9b", "\\x9b"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\x0b", "\\x0b"),
        ("\x0c", "\\x0c"),
    ],
)
def test_every_control_character_is_escaped(char: str, shown: str) -> None:
    assert escape_controls(f"a{char}b") == f"a{shown}b"
    capture = one_line_capture()
    capture.logger.info("value %s", f"a{char}b")
    assert capture.text == f"INFO {capture.logger.name}: value a{shown}b\n"
    assert len(capture.text.splitlines()) == 1


def test_printable_text_is_left_alone() -> None:
    text = "naïve café 東京 — ✓ C:\\path\\to 'quoted' \"double\""
    assert escape_controls(text) == text


def test_a_traceback_is_one_line_after_the_message_and_still_redacted() -> None:
    capture = one_line_capture([SIGNING_SECRET])
    try:
        raise RuntimeError(f"refused with {SIGNING_SECRET}\n{FORGED}")
    except RuntimeError:
        capture.logger.exception("request failed")
    lines = capture.text.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"ERROR {capture.logger.name}: request failed | Traceback (most recent call last):\\n")
    assert SIGNING_SECRET not in lines[0] and REDACTED in lines[0] and f"\\n{FORGED}" in lines[0]


def test_stack_info_is_on_the_same_line() -> None:
    capture = one_line_capture()
    capture.logger.info("here", stack_info=True)
    lines = capture.text.splitlines()
    assert len(lines) == 1 and " | Stack (most recent call last):\\n" in lines[0]


def test_a_long_message_is_cut_saying_how_long_it_was() -> None:
    capture = one_line_capture()
    capture.logger.info("body: %s", "\n" * 10 + "x" * 5_000_000)
    (line,) = capture.text.splitlines()
    assert len(line) < MAX_MESSAGE_CHARS + 100
    assert line.endswith("… [cut: 5000016 characters in all]")


def test_a_secret_is_redacted_before_the_message_is_cut() -> None:
    capture = one_line_capture([SIGNING_SECRET])
    capture.logger.info("%s%s", "x" * (MAX_MESSAGE_CHARS - 5), SIGNING_SECRET)
    assert SIGNING_SECRET[:10] not in capture.text and "[cut:" in capture.text


def test_configure_logging_keeps_bolt_below_warning_out_unless_debugging(root_logging) -> None:
    stream = io.StringIO()
    bolt = logging.getLogger("slack_bolt.RequestVerification")
    bolt.setLevel(logging.INFO)  # as Bolt sets it on an App built before logging was configured
    try:
        configure_logging("INFO", stream=stream)
        bolt.info("Invalid request signature detected (body: %s)", f"text=x\n{FORGED}")
        bolt.warning("something Bolt warns about")
        assert "Invalid request signature" not in stream.getvalue() and "Bolt warns" in stream.getvalue()
        debug = io.StringIO()
        configure_logging("DEBUG", stream=debug)
        bolt.info("Invalid request signature detected (body: %s)", f"text=x\n{FORGED}")
        assert debug.getvalue().count("\n") == 1 and f"\\n{FORGED}" in debug.getvalue()
    finally:
        bolt.setLevel(logging.NOTSET)
