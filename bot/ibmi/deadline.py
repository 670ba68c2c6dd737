"""A wall-clock deadline for one DB-API call, enforced by the bot rather than the driver.

The IBM i Access ODBC driver never interrupts a running statement and can hang on network trouble, so each
call runs on a worker thread while the caller waits with a timeout. When the deadline passes, the call is
abandoned: its connection is closed (on a thread of its own, since closing a hung connection may block too)
and forgotten, the worker is left to end whenever the driver lets it, and the caller is told.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long the caller waits for an event; tests replace it to expire a call without waiting.
Waiter = Callable[[threading.Event, float], bool]


def wait_for(event: threading.Event, seconds: float) -> bool:
    return event.wait(seconds)


class DeadlinePassed(Exception):
    """The call did not finish in time; its connection has been abandoned."""


class Call(Generic[T]):
    """One call in flight: the connection it uses (opened by the worker when there is none yet) and its end:
    the body's result or what the worker raised."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.cancelled = False
        self.guard = threading.Lock()

    def cancel(self) -> None:
        """Give up on the call now, as if its deadline had passed (the bot is stopping)."""
        self.cancelled = True
        self.done.set()


def call_within(
    deadline: float,
    connection: Any,
    connect: Callable[[], Any],
    body: Callable[[Any], T],
    name: str,
    wait: Waiter = wait_for,
    started: Callable[[Call[Any]], None] = lambda _call: None,
) -> Call[T]:
    """Run `body(connection)` (connecting first through `connect` when `connection` is None) on a worker
    thread and wait at most `deadline` seconds for the finished call (`started` is given it, to cancel it).
    Raises DeadlinePassed when the deadline passes or the call is cancelled; the call's connection is then
    closed and must not be reused."""
    call: Call[T] = Call(connection)
    started(call)
    if call.cancelled:  # cancelled before it began: nothing is sent
        raise DeadlinePassed()

    def work() -> None:
        try:
            if call.connection is None:
                opened = connect()
                with call.guard:
                    if call.abandoned:
                        close_quietly(opened, name)
                        return
                    call.connection = opened
            call.result = body(call.connection)
        except BaseException as error:  # handed to the waiting caller
            call.error = error
        finally:
            call.done.set()

    threading.Thread(target=work, name=f"ibmi-{name}", daemon=True).start()
    if not wait(call.done, deadline) or call.cancelled:
        with call.guard:
            call.abandoned = True
            hung = call.connection
        if hung is not None:
            threading.Thread(target=close_quietly, args=(hung, name), name=f"ibmi-close-{name}", daemon=True).start()
        raise DeadlinePassed()
    return call


def close_quietly(connection: Any, name: str) -> None:
    try:
        connection.close()
    except Exception:  # an abandoned or dropped connection often fails to close; nothing to do about it
        log.debug("closing an abandoned connection to %s failed", name, exc_info=True)
