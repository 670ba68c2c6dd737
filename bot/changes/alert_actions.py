"""The buttons on an alert: Silence, Trace owner, and Trust… / End connection… (a change request about the
alert's address). The button carries only the alert's fingerprint; the alert is read from storage."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bot.alerting.lifecycle import AlertManager
from bot.alerting.silences import SilenceService
from bot.changes.render import reply
from bot.changes.requests import ChangeRequests
from bot.command_parsing import EndRequest, TrustRequest
from bot.slack.blocks import escape_mrkdwn
from bot.trace import TraceError, Tracer, describe_owner
from storage import Storage
from storage.alerts import alert as stored_alert


@dataclass(frozen=True)
class AlertAddress:
    """What a Trust… / End connection… form is about."""

    address: str
    system: str


class AlertActions:
    def __init__(
        self,
        storage: Storage,
        tracer: Tracer,
        silences: SilenceService,
        requests: ChangeRequests,
        alerts: AlertManager,
    ) -> None:
        self.storage = storage
        self.tracer = tracer
        self.silences = silences
        self.requests = requests
        self.alerts = alerts

    def silence_alert(self, fingerprint: str, author: str, seconds: float, reason: str) -> str:
        return self.silences.silence_alert(fingerprint, author, seconds, reason)

    def address_of(self, fingerprint: str) -> AlertAddress | None:
        """The address and system an alert is about; None when it is not known or about no address."""
        record = stored_alert(self.storage, fingerprint)
        address = record.finding.get("facts", {}).get("remote_address") if record else None
        return AlertAddress(str(address), record.system) if record is not None and address else None

    def request_from_alert(self, fingerprint: str, action: str, user: str, reason: str) -> str:
        """Trust… / End connection… on an unknown-connections alert: a change request about its address. The
        alert's message then shows the request, without the button that filed it."""
        about = self.address_of(fingerprint)
        if about is None:
            return "That alert is not about an address the bot can act on."
        address = about.address
        if action == "trust":
            request = TrustRequest(ipaddress.ip_network(address), reason)
            submitted = self.requests.request_trust(about.system, request, user, alert_fingerprint=fingerprint)
        else:
            end = EndRequest(ipaddress.ip_address(address), None, reason)
            submitted = self.requests.request_end(about.system, end, user, alert_fingerprint=fingerprint)
        self.alerts.reply(fingerprint, reply(f"<@{user}> {submitted.text}"))  # a form has no reply of its own
        if submitted.ok:
            self.alerts.refresh([fingerprint])
        return submitted.text

    def trace_alert(self, fingerprint: str) -> str:
        """The owner of the address an alert is about (slow: an RDAP lookup unless cached)."""
        record = stored_alert(self.storage, fingerprint)
        if record is None:
            return "That alert is no longer known to the bot."
        address = record.finding.get("facts", {}).get("remote_address")
        if not address:
            return "This alert is not about an address."
        try:
            return f"Owner of {address}: {escape_mrkdwn(describe_owner(self.tracer.trace(address)).summary)}"
        except TraceError as error:
            return f"Could not trace {address}: {escape_mrkdwn(error.message)}"
