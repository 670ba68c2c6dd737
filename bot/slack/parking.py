"""Slack errors only a person can fix, and the fix to tell them: the delivery worker parks a row that met one
(it waits, holding its channel, instead of failing), and the log, the App Home and `doctor` name the fix."""

from __future__ import annotations

BOT_NAME = "@ibmi-warden"  # the bot user's display name in app.json; a workspace may have renamed it

# The channel refuses the bot: fixed by inviting it, unarchiving the channel or changing the configuration.
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
# The token is refused or lacks a scope: fixed by a new token (and a restart, which retries at once).
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
PARK_ERRORS = CHANNEL_ERRORS | TOKEN_ERRORS


def fix_for(error: str, channel: str) -> str:
    """What a person does so that the rows parked on ``error`` in ``channel`` can be sent."""
    if error == "not_in_channel":
        return f"invite the bot to {channel}: /invite {BOT_NAME} in that channel"
    if error == "channel_not_found":
        return (
            f"{channel} does not exist or is private without the bot: invite the bot there (/invite {BOT_NAME}) "
            "or correct the channel in the configuration"
        )
    if error == "is_archived":
        return f"{channel} is archived: unarchive it, or name another channel in the configuration"
    if error == "restricted_action":
        return f"a workspace setting stops the bot posting in {channel}: ask a Slack admin to allow it"
    if error == "missing_scope":
        return (
            "add the missing scope to the app's bot token scopes (as in app.json), reinstall the app, put the new "
            "bot token in SLACK_BOT_TOKEN and restart the bot"
        )
    return "reinstall the app, put its bot token (xoxb-…) in SLACK_BOT_TOKEN and restart the bot"
