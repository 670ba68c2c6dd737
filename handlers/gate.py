"""The one authorisation gate: every `/ibmi` sub-command, button, form and the Home tab asks it whether the
user holds the role the action needs, and every refusal, whatever the path, becomes one audit row (action
``refused``: who, what was attempted, why). Who may approve a given change request is the approval
service's decision, per request, and it audits its own refusals; requests refused for their origin
(`handlers.origin`) are recorded through `record`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from handlers.ports import RolesPort
from storage import audit
from storage.database import Storage

log = logging.getLogger(__name__)

Role = Literal["viewer", "operator"]

_WHO = {"viewer": "viewers", "operator": "operators or approvers"}
_LONGEST = 200  # characters of an attempt's description kept in the audit


@dataclass(frozen=True)
class Attempt:
    """What a user tried, as the audit records it: `verb` ("/ibmi end", "silence"), the `subject` it was
    done to (an alert fingerprint, a request id, a form) and the system when one is named."""

    verb: str
    subject: str = ""
    system: str | None = None


class Gate:
    def __init__(self, roles: RolesPort, storage: Storage, clock: Callable[[], float]):
        self._roles = roles
        self._storage = storage
        self._clock = clock

    def allows(self, user: str, role: Role) -> bool:
        if role == "viewer":
            return self._roles.is_viewer(user)
        return self._roles.is_operator(user)

    def refusal(self, user: str, role: Role, doing: str, attempt: Attempt | None) -> str | None:
        """None when the user may; else the refusal to show ("Only viewers may <doing>."), recorded once in the
        audit. `attempt` None: the bot itself is redrawing what the user sees, nothing is recorded."""
        if self.allows(user, role):
            return None
        if attempt is not None:
            self.record(user, attempt, f"not one of the {_WHO[role]}")
        return f"Only {_WHO[role]} may {doing}."

    def record(self, user: str, attempt: Attempt, why: str) -> None:
        """One audit row for one refusal. A failure to record is logged; it never turns a refusal into a grant."""
        subject = _short(attempt.subject)
        for _ in range(2):
            try:
                audit.append(
                    self._storage,
                    actor=user or "unknown",
                    action="refused",
                    system=attempt.system,
                    subject=subject,
                    outcome=f"refused: {_short(attempt.verb)}: {why}",
                    at=self._clock(),
                )
                return
            except ValueError:  # the subject looked like a secret: record the refusal without it
                subject = "(withheld: it looked like a secret)"
            except Exception:
                break
        log.error("recording a refusal of %s (%s) in the audit failed", user or "unknown", why, exc_info=True)


def _short(text: str) -> str:
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"
