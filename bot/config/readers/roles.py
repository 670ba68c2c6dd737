"""The [roles] section and the [approvals] policies (with their per-action tables) built on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.config.model import APPROVAL_ACTIONS, EVERYONE, ApprovalLimits, ApprovalPolicy, RoleSettings
from bot.config.validation import Section

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_USERGROUP = re.compile(r"@[a-z0-9._-]{1,80}")

ROLE_MEMBER_FORM = "a Slack user id like 'U01ABCDEF' or a user group handle like '@security-team'"
VIEWER_FORM = f"{ROLE_MEMBER_FORM}, or {EVERYONE!r} for everyone in the workspace"


def is_role_member(value: str) -> bool:
    """A Slack user id or a @usergroup handle."""
    return bool(_USER_ID.fullmatch(value) or _USERGROUP.fullmatch(value))


def _read_members(section: Section, name: str, everyone_allowed: bool = False) -> tuple[str, ...]:
    """A list of Slack user ids and @usergroup handles (and "*" where `everyone_allowed`); a problem for each
    other entry."""
    form = VIEWER_FORM if everyone_allowed else ROLE_MEMBER_FORM
    valid = []
    for key, value in section.strings(name, form):
        if is_role_member(value) or (everyone_allowed and value == EVERYONE):
            valid.append(value)
        else:
            problem = f"{value!r} is not a Slack user id or user group; expected {form}"
            section.problems.add(key, problem)
    return tuple(valid)


def read_roles(root: Section) -> RoleSettings:
    section = root.table("roles", ("viewers", "operators", "approvers"))
    if section is None:
        return RoleSettings()
    return RoleSettings(
        viewers=_read_members(section, "viewers", everyone_allowed=True),
        operators=_read_members(section, "operators"),
        approvers=_read_members(section, "approvers"),
    )


_POLICY_KEYS = ("approvers", "min_approvals", "ttl", "reason_required")
MIN_APPROVAL_TTL = 60.0


@dataclass
class _PolicyValues:
    """The policy keys one table sets (None: not set there), and the key path of each value set."""

    approvers: tuple[str, ...] | None = None
    min_approvals: int | None = None
    ttl: float | None = None
    reason_required: bool | None = None
    where: dict[str, str] = field(default_factory=dict)


def _read_policy_values(section: Section) -> _PolicyValues:
    values = _PolicyValues(
        approvers=_read_members(section, "approvers") if section.has("approvers") else None,
        min_approvals=section.ranged_integer("min_approvals", 1),
        ttl=section.optional_duration("ttl", MIN_APPROVAL_TTL),
        reason_required=section.boolean("reason_required"),
    )
    values.where = {name: section.key(name) for name in _POLICY_KEYS if getattr(values, name) is not None}
    return values


def read_approvals(root: Section, roles: RoleSettings) -> dict[str, ApprovalPolicy]:
    """One policy per action: [approvals.<action>] over [approvals] over the defaults ([roles].approvers, 1, 60m,
    reason required)."""
    builtin = _PolicyValues(
        approvers=roles.approvers,
        min_approvals=1,
        ttl=ApprovalPolicy.ttl,
        reason_required=True,
        where={"approvers": "roles.approvers"},
    )
    section = root.table("approvals", (*_POLICY_KEYS, LIMITS_TABLE, *APPROVAL_ACTIONS), noun="key or action")
    shared = _read_policy_values(section) if section is not None else _PolicyValues()
    policies: dict[str, ApprovalPolicy] = {}
    unmet: dict[str, str] = {}  # problems by key, so one shared mistake is reported once
    for action in APPROVAL_ACTIONS:
        table = section.table(action, _POLICY_KEYS) if section is not None else None
        own = _read_policy_values(table) if table is not None else _PolicyValues()
        layers = (own, shared, builtin)

        def pick(name: str, layers: tuple[_PolicyValues, ...] = layers) -> tuple[Any, str | None]:
            for layer in layers:
                value = getattr(layer, name)
                if value is not None:
                    return value, layer.where.get(name)
            raise AssertionError(name)  # the built-in layer sets every key

        approvers, approvers_at = pick("approvers")
        min_approvals, min_at = pick("min_approvals")
        ttl, _ = pick("ttl")
        reason_required, _ = pick("reason_required")
        policies[action] = ApprovalPolicy(
            approvers=approvers, min_approvals=min_approvals, ttl=ttl, reason_required=reason_required
        )
        problem = _unmet_policy(approvers, approvers_at, min_approvals, min_at)
        if problem is not None:
            unmet.setdefault(*problem)
    for key, text in unmet.items():
        root.problems.add(key, text)
    return policies


LIMITS_TABLE = "limits"
# key: (lowest, highest) accepted
_LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "max_commands": (1, 200),
    "smtp_accept_max_prefix": (1, 32),
    "smtp_accept_total_max_prefix": (1, 32),
    "trust_max_prefix_ipv4": (1, 32),
    "trust_max_prefix_ipv6": (1, 128),
    "dangerous_prefix_ipv4": (1, 32),
    "dangerous_prefix_ipv6": (1, 128),
    "dangerous_min_approvals": (1, 10),
}


def read_approval_limits(root: Section) -> ApprovalLimits:
    """[approvals.limits]: each key a whole number in its range; absent keys keep their defaults. The /0 prefix
    is never accepted, so no setting lets one change cover every address."""
    approvals = root.data.get("approvals")
    if not isinstance(approvals, dict) or LIMITS_TABLE not in approvals:
        return ApprovalLimits()
    holder = Section(root.problems, root.key("approvals"), {LIMITS_TABLE: approvals[LIMITS_TABLE]}, (LIMITS_TABLE,))
    section = holder.table(LIMITS_TABLE, tuple(_LIMIT_RANGES))
    if section is None:
        return ApprovalLimits()
    values = {name: section.ranged_integer(name, *bounds) for name, bounds in _LIMIT_RANGES.items()}
    return ApprovalLimits(**{name: value for name, value in values.items() if value is not None})


def _unmet_policy(
    approvers: tuple[str, ...], approvers_at: str | None, min_approvals: int, min_at: str | None
) -> tuple[str, str] | None:
    """(key, problem) when only listed user ids may approve and there are fewer than min_approvals of them.

    Empty approvers are no problem: nobody may approve that action, so it cannot be requested. A user group's
    size is known only at run time, so a list with a handle is never reported.
    """
    users = len(set(approvers))
    if not approvers or any(member.startswith("@") for member in approvers) or min_approvals <= users:
        return None
    where_min = min_at or "the default"
    where_approvers = approvers_at or "the default"

    def rank(key: str) -> int:  # the most specific table is where the two values were brought together
        return 0 if key.startswith("roles.") else key.count(".")

    key = max((k for k in (min_at, approvers_at) if k), key=rank)
    ids = f"{users} user id{'s' if users != 1 else ''}"
    required = f"{min_approvals}" if key == min_at else f"min_approvals = {min_approvals} ({where_min})"
    return key, (
        f"{required} can never be met: approvers ({where_approvers}) lists only {ids} and no @usergroup; "
        f"expected min_approvals of at most {users}, or more approvers"
    )
