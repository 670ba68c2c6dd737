"""Slack listeners only: parse, authorise, ack, and hand the slow part to the bot.

`origin` refuses replayed requests and requests from another workspace or app before any listener runs;
`slash_command` dispatches `/ibmi` to the sub-commands declared in `commands/`; `actions` (buttons), `views`
(forms) and `home` (the App Home tab) are the other listeners; `gate` authorises all of them and audits
every refusal; `membership` retries parked messages when the bot joins a channel; `ports` lists what they
may call on the bot's services; `actor` answers the person who clicked or submitted wherever they are
(response_url, an ephemeral message in the form's channel, a direct message from the App Home), and
`storage_errors` and `ibmi_errors` say what failed when the database or an IBM i refused the work."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, home, membership, origin, slash_command, views
from handlers.gate import Gate
from handlers.ports import HandlerServices, WorkPort


def register(
    app: App, services: HandlerServices, gate: Gate, requests_origin: origin.Origin, slash: str, work: WorkPort
) -> None:
    """`slash` is the configured slash command (e.g. /ibmi); `work` runs what cannot be answered within Slack's
    3 seconds: in the system's own lane when it talks to IBM i. `requests_origin` checks every request first;
    one gate authorises every listener."""
    origin.register(app, requests_origin)
    slash_command.register(app, services, gate, slash, work)
    home.register(app, services, gate, work)
    actions.register(app, services, gate, work)
    views.register(app, services, gate, work)
    membership.register(app, services)
