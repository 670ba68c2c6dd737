"""Parsing the text of `/ibmi …`: which sub-command, which system, which validated values — or what was wrong.

Nothing unvalidated leaves this package. `read_command` returns a `ParsedCommand` whose `request` holds the
sub-command's values as parsed objects (addresses from `ipaddress`, CL commands built by `bot.ibmi.cl`, whole
numbers, checked reasons), or raises `UsageError` with a problem fit to show the user and the right form. Which
sub-commands exist, and which grammar each uses, is declared in `handlers.commands`; the grammar functions are
here (`grammar`). The request classes check their values again when constructed, so a request made by hand is
held to the same rules.

What each sub-command gives as `request`:

- help, status, approvals: None; netstat: None, with `system` and `port` on the ParsedCommand
- trace IP: `TraceRequest(address)`
- end IP [PORT] [REASON]: `EndRequest(address, port or None, reason)`
- smtp list [accept|reject]: `SmtpListRequest(list_type)`, "*ACCEPT", "*REJECT" or None for both
- smtp add (nothing more): `SmtpAddFormRequest()`, open the modal
- smtp add|remove accept|reject IP [MASK] [REASON]: `ClRequest(AddSmtpListEntry or RemoveSmtpListEntry, reason)`
- smtp restart [REASON]: `SmtpRestartRequest(reason)` (ENDTCPSVR then STRTCPSVR, SERVER(*SMTP))
- relay set none|list|near|both [REASON]: `ClRequest(ChangeSmtpRelay, reason)`
- trust IP|CIDR [REASON] / untrust IP|CIDR [REASON]: `TrustRequest(network, reason)` / `UntrustRequest(…)`
- silence IP|FINGERPRINT DURATION [REASON]: `SilenceRequest(kind, target, seconds, reason)`
- unsilence IP|FINGERPRINT: `UnsilenceRequest(kind, target)`
- audit [N]: `AuditRequest(count)`, 10 by default

A reason is "" when none was given: whether one is required is the approval policy's decision.
IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are unwrapped to IPv4 for trace, end and silence, as NETSTAT rows
are (`bot.ibmi.rows.parse_address`); a trusted network must be given in its IPv4 form.

Modules: `usage` (the error and the safe echo of user text), `words` (splitting, reading, system selection),
`addresses`, `reasons` (reasons and durations), `requests` (what a command asks for), `grammar` (one parse
function per sub-command) and `reader` (text → ParsedCommand). Names with a leading underscore are shared
between these modules only.
"""

from bot.command_parsing.reader import Grammar, read_command
from bot.command_parsing.reasons import reason_problem
from bot.command_parsing.requests import (
    AuditRequest,
    ClRequest,
    EndRequest,
    ParsedCommand,
    Request,
    SilenceRequest,
    SmtpAddFormRequest,
    SmtpListRequest,
    SmtpRestartRequest,
    TraceRequest,
    TrustRequest,
    UnsilenceRequest,
    UntrustRequest,
)
from bot.command_parsing.usage import UsageError
from bot.command_parsing.words import Arguments

__all__ = [
    "Arguments",
    "AuditRequest",
    "ClRequest",
    "EndRequest",
    "Grammar",
    "ParsedCommand",
    "Request",
    "SilenceRequest",
    "SmtpAddFormRequest",
    "SmtpListRequest",
    "SmtpRestartRequest",
    "TraceRequest",
    "TrustRequest",
    "UnsilenceRequest",
    "UntrustRequest",
    "UsageError",
    "read_command",
    "reason_problem",
]
