"""The fixed identity of the stand-in workspace: default tokens and scopes, team, bot user and app."""

from __future__ import annotations

DEFAULT_BOT_TOKEN = "xoxb-test-token"
DEFAULT_APP_TOKEN = "xapp-test-token"
DEFAULT_SCOPES = "chat:write,commands,users:read,usergroups:read,im:write"

TEAM_ID = "T0WARDEN"
TEAM_NAME = "Warden Test"
TEAM_DOMAIN = "wardentest"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "ibmi-warden"
BOT_ID = "B0BOT"
APP_ID = "A0WARDEN"
# The deprecated verification token Slack still puts in every payload.
VERIFICATION_TOKEN = "Wt3stVer1f1cat10nT0ken"
