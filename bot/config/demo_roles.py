"""The example configuration's placeholder roles, and the demo's way round them: WARDEN_DEMO_OPERATORS and
WARDEN_DEMO_APPROVERS name who may request and approve changes in `ibmi-warden demo`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.config.model import Config, ConfigError
from bot.config.readers.roles import ROLE_MEMBER_FORM, is_role_member

# The member ids bot/warden.example.toml puts in [roles]: nobody in a real workspace has them.
PLACEHOLDER_MEMBERS = ("U01OPERATOR", "U02APPROVER")
DEMO_ROLE_VARIABLES = {"operators": "WARDEN_DEMO_OPERATORS", "approvers": "WARDEN_DEMO_APPROVERS"}
DEMO_ROLES_FIX = (
    "put your team's Slack member ids (profile → ⋮ → Copy member ID) or @usergroup handles in [roles]; "
    "for `ibmi-warden demo`, set WARDEN_DEMO_OPERATORS and WARDEN_DEMO_APPROVERS to them instead "
    "(nobody approves their own request: name a second person as approver)"
)


def demo_roles(env: Mapping[str, str]) -> dict[str, list[str]]:
    """The [roles] lists the environment gives `ibmi-warden demo`: Slack user ids or @usergroup handles separated
    by commas or spaces. Raises ConfigError naming the variable when one is neither."""
    roles: dict[str, list[str]] = {}
    problems: list[str] = []
    for key, variable in DEMO_ROLE_VARIABLES.items():
        members = [member for member in re.split(r"[\s,]+", env.get(variable, "")) if member]
        wrong = [member for member in members if not is_role_member(member)]
        if wrong:
            problems.append(
                f"{variable}: {wrong[0]!r} is not a Slack user id or user group; expected {ROLE_MEMBER_FORM}, "
                "several separated by commas"
            )
        elif members:
            roles[key] = members
    if problems:
        raise ConfigError(problems)
    return roles


def placeholder_members(config: Config) -> list[str]:
    """The example's placeholder ids that the roles or an approval policy still name."""
    named = {*config.roles.operators, *config.roles.approvers}
    for policy in config.approvals.values():
        named.update(policy.approvers)
    return [member for member in PLACEHOLDER_MEMBERS if member in named]
