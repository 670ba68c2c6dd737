"""What the Slack handlers may ask of the bot: exactly the methods they call, and nothing else.

`bot.services.WardenServices` (with its `Remediation` and `ApprovalService`) is the implementation; a test may
pass any object with these methods. `remediation` and `approvals` are None only when the bot was not assembled
with Slack (then `/ibmi` answers that the sub-command needs it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bot.command_parsing import (
    ClRequest,
    EndRequest,
    SilenceRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
)
from bot.reports import NetstatReport, SystemStatus


class Outcome(Protocol):
    """A submitted change request, as its requester is told about it."""

    @property
    def text(self) -> str: ...


class RemediationPort(Protocol):
    """The `/ibmi` sub-commands that read slowly or change something."""

    def trace(self, address: str) -> str: ...

    def smtp_lists(self, system: str, list_type: str | None) -> str: ...

    def request_end(self, system: str, request: EndRequest, requester: str) -> Outcome: ...

    def request_cl(self, system: str, request: ClRequest, requester: str) -> Outcome: ...

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

    def may_view(self, user_id: str) -> bool: ...

    def may_operate(self, user_id: str) -> bool: ...


class HandlerServices(RolesPort, Protocol):
    """Everything the handlers call on the services object they are given."""

    on_change: Callable[[], None] | None  # called whenever alerts or change requests change

    @property
    def remediation(self) -> RemediationPort | None: ...

    @property
    def approvals(self) -> ApprovalsPort | None: ...

    def system_names(self) -> list[str]: ...

    def system_statuses(self) -> list[SystemStatus]: ...

    def netstat(self, system: str, port: int | None = None) -> NetstatReport: ...

    def silence_alert(self, fingerprint: str, author: str, seconds: float, reason: str) -> str: ...

    def trace_alert(self, fingerprint: str) -> str: ...

    def request_from_alert(self, fingerprint: str, action: str, user: str, reason: str) -> str: ...

    def home(self, user_id: str) -> dict[str, Any]: ...
