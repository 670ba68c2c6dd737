"""Doctor: Slack — the bot token, its scopes, and the channels (unknown until the bot posts)."""

from __future__ import annotations

from bot.config import Config, Secrets
from bot.doctor.report import (
    FAIL,
    OK,
    SKIPPED,
    UNKNOWN,
    WARN,
    Report,
)

# The bot token scopes the code needs: the same list as app.json's oauth_config.scopes.bot (a test keeps
# them equal; app.json sits beside the package, not inside it).
BOT_SCOPES: tuple[str, ...] = ("channels:read", "chat:write", "commands", "groups:read", "usergroups:read")
# Only for member_joined_channel: without them, parked messages wait for the 5-minute retry after an invite.
JOIN_SCOPES: tuple[str, ...] = ("channels:read", "groups:read")


def check_slack(config: Config, secrets: Secrets, report: Report, http_port: int | None = None) -> None:
    if not secrets.slack_bot_token:
        report.add(SKIPPED, "Slack", "SLACK_BOT_TOKEN not set")
        return
    check_token_pair(secrets, report, http_port)
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack.client import api_base_url, make_web_client

    client = make_web_client(secrets.slack_bot_token, secrets.slack_api_url)
    try:
        response = client.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else str(error)
        report.add(
            FAIL,
            "Slack: bot token",
            f"the token was refused: {reason}",
            fix="reinstall the app to the workspace and copy its bot token (xoxb-…) into SLACK_BOT_TOKEN",
        )
        return
    except (SlackClientError, OSError) as error:
        report.add(
            FAIL,
            "Slack: reachable",
            f"{api_base_url(secrets.slack_api_url)}: {error}",
            fix="check the network path (and proxy) to Slack, or SLACK_API_URL when it is set",
        )
        return
    team, user = response.get("team"), response.get("user")
    report.add(OK, "Slack: bot token", f"accepted: workspace {team}, bot user {user}")

    headers = {str(key).lower(): value for key, value in (response.headers or {}).items()}
    granted_header = headers.get("x-oauth-scopes")
    if isinstance(granted_header, list):
        granted_header = ",".join(granted_header)
    if granted_header is None:
        report.add(UNKNOWN, "Slack: scopes", "Slack did not report the token's scopes (no x-oauth-scopes header)")
    else:
        granted = {scope.strip() for scope in str(granted_header).split(",") if scope.strip()}
        missing = [scope for scope in BOT_SCOPES if scope not in granted and scope not in JOIN_SCOPES]
        optional = [scope for scope in JOIN_SCOPES if scope not in granted]
        if optional and not missing:
            report.add(
                WARN,
                "Slack: scopes",
                f"missing {', '.join(optional)}: messages parked because the bot was not in a channel are sent up "
                "to 5 minutes after it is invited instead of at once",
                fix=f"add {', '.join(optional)} to the app's bot token scopes (as in app.json), reinstall the app, "
                "and copy the new bot token into SLACK_BOT_TOKEN",
            )
        elif missing:
            report.add(
                FAIL,
                "Slack: scopes",
                f"missing {', '.join(missing)}",
                fix=f"add {', '.join(missing)} to the app's bot token scopes (OAuth & Permissions, as in "
                "app.json), reinstall the app, and copy the new bot token into SLACK_BOT_TOKEN",
            )
        else:
            report.add(OK, "Slack: scopes", ", ".join(BOT_SCOPES))

    channels = list(
        dict.fromkeys(
            [config.slack.alerts_channel, config.slack.approvals_channel]
            + [route.channel for route in config.slack.routes]
            + ([config.slack.audit_channel] if config.slack.audit_channel else [])
        )
    )
    report.add(
        UNKNOWN,
        f"Slack: channels {', '.join(channels)}",
        "checked when the bot first posts: reading a channel needs channels:read, which the bot does not ask for",
        fix="invite the bot to each channel: /invite @ibmi-warden",
    )


def check_token_pair(secrets: Secrets, report: Report, http_port: int | None) -> None:
    """The second secret the chosen mode needs beside the bot token: SLACK_APP_TOKEN for Socket Mode (the default),
    SLACK_SIGNING_SECRET for HTTP (`--http PORT`)."""
    if http_port is None:
        name, value = "Slack: Socket Mode", secrets.slack_app_token
        missing = "SLACK_APP_TOKEN is not set: the bot cannot connect over Socket Mode"
        fix = (
            "create an app-level token with the connections:write scope (the app's Basic Information, App-Level "
            "Tokens) and put it (xapp-…) in SLACK_APP_TOKEN; for HTTP mode instead, set SLACK_SIGNING_SECRET and "
            "run doctor --http PORT"
        )
    else:
        name, value = f"Slack: HTTP on port {http_port}", secrets.slack_signing_secret
        missing = "SLACK_SIGNING_SECRET is not set: the bot cannot check that requests come from Slack"
        fix = "copy the app's Signing Secret (Basic Information, App Credentials) into SLACK_SIGNING_SECRET"
    if value:
        report.add(OK, name, "SLACK_APP_TOKEN set" if http_port is None else "SLACK_SIGNING_SECRET set")
    else:
        report.add(FAIL, name, missing, fix=fix)
