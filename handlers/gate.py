"""The one authorisation gate: every `/ibmi` sub-command, button, form and the Home tab asks it whether the
user holds the role the action needs. (Who may approve a given change request is the approval service's
decision, per request.) A refusal, should it ever be audited, is audited here."""

from __future__ import annotations

from typing import Literal

from handlers.ports import RolesPort

Role = Literal["viewer", "operator"]

_WHO = {"viewer": "viewers", "operator": "operators or approvers"}


class Gate:
    def __init__(self, roles: RolesPort):
        self._roles = roles

    def allows(self, user: str, role: Role) -> bool:
        if role == "viewer":
            return self._roles.is_viewer(user)
        return self._roles.is_operator(user)

    def refusal(self, user: str, role: Role, doing: str) -> str | None:
        """None when the user may; else the refusal to show, "Only viewers may <doing>."."""
        if self.allows(user, role):
            return None
        return f"Only {_WHO[role]} may {doing}."
