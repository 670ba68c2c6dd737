"""`/ibmi smtp list|add|remove|restart …`: show the SMTP lists (viewers), or request ADDSMTPLE / RMVSMTPLE, or
an SMTP restart (ENDTCPSVR then STRTCPSVR) so that list changes take effect (operators); `smtp add` alone opens
the form."""

from __future__ import annotations

from bot.command_parsing import ClRequest, SmtpAddFormRequest, SmtpListRequest, SmtpRestartRequest, grammar
from handlers.gate import Role
from handlers.sub_command import Invocation, Reply, SubCommand, open_form, say, working
from handlers.views import smtp_add_modal

SmtpRequest = SmtpListRequest | SmtpAddFormRequest | ClRequest | SmtpRestartRequest


def _role(request: SmtpRequest) -> Role:
    return "viewer" if isinstance(request, SmtpListRequest) else "operator"


def _ack(invocation: Invocation[SmtpRequest]) -> Reply:
    if isinstance(invocation.request, SmtpAddFormRequest):
        return open_form(smtp_add_modal(invocation.system, invocation.channel))
    if isinstance(invocation.request, SmtpListRequest):
        return working(f"Reading the SMTP lists of {invocation.system}…")
    return working("Preparing the change request…")


def _answer(invocation: Invocation[SmtpRequest]) -> Reply:
    request, requests = invocation.request, invocation.services.requests
    if isinstance(request, SmtpListRequest):
        return say(requests.smtp_lists(invocation.system, request.list_type))
    if isinstance(request, ClRequest):
        return say(requests.request_cl(invocation.system, request, invocation.user).text)
    if isinstance(request, SmtpRestartRequest):
        return say(requests.request_smtp_restart(invocation.system, request, invocation.user).text)
    raise TypeError("the form is answered by its ack")


COMMAND = SubCommand[SmtpRequest](
    name="smtp",
    usage=(
        "smtp list [accept|reject] | add [accept|reject IP [MASK] REASON] | remove accept|reject IP [MASK] [REASON]"
        " | restart [REASON]"
    ),
    example="smtp add accept 10.1.2.0 255.255.255.0 branch office",
    summary=(
        "show the SMTP lists; request ADDSMTPLE / RMVSMTPLE (MASK: 255.255.255.0 or /24); "
        "request an SMTP restart, after which list changes take effect"
    ),
    required_role=_role,
    needs_system=True,
    parse=grammar.parse_smtp,
    ack=_ack,
    answer=_answer,
    order=60,
)
