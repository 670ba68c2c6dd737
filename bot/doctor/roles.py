"""Doctor: who may request and approve changes — not the example configuration's placeholders, not nobody."""

from __future__ import annotations

from bot.config import Config
from bot.config.demo_roles import DEMO_ROLES_FIX, placeholder_members
from bot.doctor.report import OK, WARN, Report

NAME = "roles"


def check_roles(config: Config, report: Report) -> None:
    placeholders = placeholder_members(config)
    roles = config.roles
    if placeholders:
        report.add(
            WARN,
            NAME,
            f"{', '.join(placeholders)} {'is' if len(placeholders) == 1 else 'are'} the example configuration's "
            "placeholders: no one in Slack has them, so nobody they stand for can request or approve a change",
            fix=DEMO_ROLES_FIX,
        )
    elif not roles.operators and not roles.approvers:
        report.add(WARN, NAME, "no operators or approvers: nobody can request or approve a change", fix=DEMO_ROLES_FIX)
    else:
        report.add(OK, NAME, f"{len(roles.operators)} operator(s), {len(roles.approvers)} approver(s)")
