"""CL commands the bot runs through ``CALL QSYS2.QCMDEXC(?)``, and the parser the demo system uses.

A command object holds only parsed addresses, whole-number ports and known keyword values, so
``to_cl()`` never carries free text; ``parse(cmd.to_cl()) == cmd`` for every command. ``to_cl()`` always
qualifies the command with QSYS (``QSYS/CHGSMTPA …``): an unqualified name is resolved through the server job's
library list, where a same-named command in an earlier library would run instead.
Untrusted values enter through each command's ``build()`` (the parser uses it too) and are
rejected with a `CLValidationError` whose message is safe to show in Slack.

IBM sources:

- ENDTCPCNN (End TCP/IP Connection): IBM i CL command page (IBM RDP 9.5 update site; V5R4
  Information Center ``endtcpcnn.htm``).
- ADDSMTPLE (Add SMTP List Entry): https://ibm.com/support/knowledgecenter/en/ssw_ibm_i_74/cl/addsmtple.htm
- CHGSMTPA (Change SMTP Attributes): https://www.ibm.com/support/knowledgecenter/ssw_ibm_i_73/cl/chgsmtpa.htm;
  the ALWRLY values as named in Kisco's "SMTP relay controls"
  (https://www.kisco.com/u/content/smtp-relay-controls.html).
- ENDTCPSVR (End TCP/IP Server): https://www.ibm.com/docs/en/i/7.5.0?topic=ssw_ibm_i_75/cl/endtcpsvr.htm
- STRTCPSVR (Start TCP/IP Server): https://www.ibm.com/docs/en/i/7.5.0?topic=ssw_ibm_i_75/cl/strtcpsvr.htm;
  the bot ends and starts only SERVER(*SMTP), because ADDSMTPLE and RMVSMTPLE changes apply when the SMTP server
  next starts (the note on IBM's ADDSMTPLE and RMVSMTPLE pages).
- QCMDEXC takes commands of up to 32000 characters:
  https://www.ibm.com/docs/en/i/7.5.0?topic=services-qcmdexc-scalar-function
"""

from bot.ibmi.cl.commands import (
    LIBRARY,
    AddSmtpListEntry,
    ChangeSmtpRelay,
    ClCommand,
    EndTcpConnection,
    EndTcpServer,
    RemoveSmtpListEntry,
    StartTcpServer,
)
from bot.ibmi.cl.parser import parse
from bot.ibmi.cl.values import (
    MAX_COMMAND_LENGTH,
    RELAY_POLICIES,
    SMTP_LIST_TYPES,
    CLParseError,
    CLValidationError,
    IPAddress,
    quote_cl_string,
    show,
)

__all__ = [
    "LIBRARY",
    "MAX_COMMAND_LENGTH",
    "RELAY_POLICIES",
    "SMTP_LIST_TYPES",
    "AddSmtpListEntry",
    "CLParseError",
    "CLValidationError",
    "ChangeSmtpRelay",
    "ClCommand",
    "EndTcpConnection",
    "EndTcpServer",
    "IPAddress",
    "RemoveSmtpListEntry",
    "StartTcpServer",
    "parse",
    "quote_cl_string",
    "show",
]
