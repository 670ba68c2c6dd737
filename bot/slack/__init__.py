"""Everything that speaks Slack: the Web API client, delivery from the outbox, roles resolved through Slack,
Block Kit rendering (mrkdwn basics, the App Home view, the daily digest)."""
