"""What the Slack handlers may ask of the bot: exactly the methods they call, and nothing else.

The handlers receive one `HandlerServices`; each field is typed by a port listing what they call on it. The
running bot's parts satisfy the ports (bot.wiring builds it, and mypy checks it there); a test may build one
from fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.changes.alert_actions import AlertAddress
from bot.command_parsing import (
    ClRequest,
    EndRequest,
    SilenceRequest,
    SmtpRestartRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
)
from bot.systems import NetstatReport, SystemStatus
from storage.health import StorageProblem


class Outcome(Protocol):
    """A submitted change request, as its requester is told about it."""

    @property
    def text(self) -> str: ...


class RequestsPort(Protocol):
    """The `/ibmi` sub-commands that read slowly or change something."""

    def trace(self, address: str) -> str: ...

    def smtp_lists(self, system: str, list_type: str | None) -> str: ...

    def request_end(self, system: str, request: EndRequest, requester: str) -> Outcome: ...

    def request_cl(self, system: str, request: ClRequest, requester: str) -> Outcome: ...
    def request_smtp_restart(self, system: str, request: SmtpRestartRequest, requester: str) -> Outcome: ...

    def request_trust(self, system: str, request: TrustRequest | UntrustRequest, requester: str) -> Outcome: ...

    def silence(self, request: SilenceRequest, author: str) -> str: ...

    def unsilence(self, request: UnsilenceRequest, author: str) -> str: ...

    def pending_text(self) -> str: ...

    def audit_text(self, count: int) -> str: ...


class ApprovalsPort(Protocol):
    """Approve and Reject on a change request; who may decide it is the approval service's own check."""

    def approve(self, request_id: str, user: str, system_in_payload: str | None = None) -> str: ...

    def refusal(self, request_id: str, user: str, system_in_payload: str | None, verb: str) -> str | None: ...

    def reject(self, request_id: str, user: str, reason: str, system_in_payload: str | None = None) -> str: ...


class RolesPort(Protocol):
    """What the gate asks about a user."""

    def is_viewer(self, user_id: str) -> bool: ...

    def is_operator(self, user_id: str) -> bool: ...


class SystemsPort(Protocol):
    """The configured systems and what `status` and `netstat` show of them."""

    def names(self) -> list[str]: ...

    def statuses(self) -> list[SystemStatus]: ...

    def netstat(self, system: str, port: int | None = None) -> NetstatReport: ...


class AlertActionsPort(Protocol):
    """The buttons on an alert."""

    def silence_alert(self, fingerprint: str, author: str, seconds: float, reason: str) -> str: ...

    def trace_alert(self, fingerprint: str) -> str: ...

    def request_from_alert(self, fingerprint: str, action: str, user: str, reason: str) -> str: ...

    def address_of(self, fingerprint: str) -> AlertAddress | None: ...


class HomePort(Protocol):
    """The App Home view of one user."""

    def view(self, user_id: str) -> dict[str, Any]: ...


class HomePublisherPort(Protocol):
    """Republishes the App Home, on a worker of its own, to the users who opened it and may see it."""

    def opened(self, user: str) -> None: ...


class DeliveryPort(Protocol):
    """The Slack outbox's worker: messages parked on a channel error are tried again once it may be fixed."""

    def retry_parked(self, reason: str = "") -> int: ...


class StoragePort(Protocol):
    """Whether the bot's database takes writes (`/ibmi status` and the forms say so when it does not)."""

    def current_problem(self) -> StorageProblem | None: ...


class WorkPort(Protocol):
    """Where slow work runs, off the request's thread: `submit` for work that waits for no IBM i; `submit_for`
    in the system's own lane (raises bot.lanes.SystemBusy when it is full); `busy` asks before acking."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> object: ...

    def submit_for(self, system: str, what: str, job: Callable[[], None]) -> None: ...

    def busy(self, system: str) -> Exception | None: ...


@dataclass(frozen=True)
class HandlerServices:
    """Everything the handlers call, one port each."""

    roles: RolesPort
    systems: SystemsPort
    alerts: AlertActionsPort
    requests: RequestsPort
    approvals: ApprovalsPort
    home: HomePort
    home_publisher: HomePublisherPort
    delivery: DeliveryPort
    storage: StoragePort
