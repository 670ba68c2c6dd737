"""What people did from posted alerts, read for their message: the silence keeping each quiet, and the latest
change request of each kind filed from its buttons."""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerting.render import REQUEST_BUTTONS, AlertNotes
from bot.alerting.silences import silence_matches
from storage.alerts import AlertRecord, active_silences
from storage.approvals import latest_from_alerts
from storage.database import Storage


def notes_for(storage: Storage, alerts: Sequence[AlertRecord], now: float) -> dict[str, AlertNotes]:
    """The notes of these alerts, by fingerprint; alerts with nothing to note are left out."""
    silences = active_silences(storage, now)
    requests = [
        request
        for request in latest_from_alerts(storage, [alert.fingerprint for alert in alerts])
        if request.action in REQUEST_BUTTONS
    ]
    notes = {}
    for alert in alerts:
        matching = [s for s in silences if silence_matches(s, alert.finding)]
        filed = tuple(sorted((r for r in requests if r.alert_fingerprint == alert.fingerprint), key=lambda r: r.action))
        if matching or filed:
            longest = max(matching, key=lambda s: s.expires_at) if matching else None
            notes[alert.fingerprint] = AlertNotes(longest, filed)
    return notes
