"""Doctor: Slack messages parked in the outbox (the bot not in a channel, a refused token), per channel, with
the fix. The database is opened read-only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from bot.config import Config
from bot.doctor.report import FAIL, OK, UNKNOWN, Report
from bot.slack.parking import fix_for
from storage import outbox
from storage.database import StorageError, open_read_only


def check_outbox(config: Config, report: Report) -> None:
    path = config.storage.path
    if not path.is_file():
        report.add(OK, "Slack: outbox", f"no database at {path} yet: nothing waits")
        return
    try:
        storage = open_read_only(path)
        try:
            parked = outbox.parked_channels(storage)
            waiting = outbox.pending_count(storage)
        finally:
            storage.close()
    except (sqlite3.Error, StorageError) as error:
        report.add(UNKNOWN, "Slack: outbox", f"{path} could not be read ({error}); start the bot once to update it")
        return
    if not parked:
        report.add(OK, "Slack: outbox", f"nothing parked ({waiting} message(s) waiting to be sent)")
    for channel in parked:
        since = datetime.fromtimestamp(channel.oldest_enqueued_at, UTC).isoformat(timespec="seconds")
        report.add(
            FAIL,
            f"Slack: messages for {channel.channel}",
            f"{channel.waiting} parked since {since}: Slack answered {channel.error}",
            fix=fix_for(channel.error, channel.channel),
        )
