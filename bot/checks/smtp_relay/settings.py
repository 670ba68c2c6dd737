"""The smtp-relay check's id and its [checks.smtp-relay] settings, validated as they are built."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.checks.definition import DURATION_OPTION
from bot.checks.smtp_relay.probe import (
    ProbeSettingError,
    validate_address,
    validate_helo_name,
    validate_host,
    validate_port,
    validate_timeout,
)
from bot.ibmi.cl import RELAY_POLICIES, ChangeSmtpRelay, CLValidationError

CHECK_ID = "smtp-relay"


class SmtpRelaySettingError(ValueError):
    """A [checks.smtp-relay] setting is wrong. `key` names it; the message says what was expected."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True)
class SmtpRelaySettings:
    """The [checks.smtp-relay] settings.

    max_accept_prefix: *ACCEPT entries broader than this prefix length (a mask with fewer one bits)
      are reported; 24 = up to 256 addresses is acceptable, a /23 is not.
    attested_policy: the ALWRLY value an administrator has checked and states in the configuration
      (*NONE *ALL *LIST *NEAR *BOTH, asterisk and case optional); shown as "attested" wherever used.
    attested_by: who attested it and when, free text shown next to the value.
    probe: run the active relay probe (probe.py) against the system's SMTP server.
    probe_host: where to probe; None = the system's own host name (the caller decides).
    """

    max_accept_prefix: int = 24
    attested_policy: str | None = None
    attested_by: str | None = None
    probe: bool = False
    probe_host: str | None = None
    probe_port: int = 25
    probe_timeout: float = field(default=10.0, metadata=DURATION_OPTION)  # seconds, as the configuration reads it
    probe_sender: str = "relay-probe@example.org"
    probe_recipient: str = "relay-probe@example.com"
    probe_helo: str | None = None

    def __post_init__(self) -> None:
        prefix = self.max_accept_prefix
        if isinstance(prefix, bool) or not isinstance(prefix, int) or not 0 <= prefix <= 32:
            raise SmtpRelaySettingError(
                "max_accept_prefix", f"{prefix!r} is not a prefix length; expected a whole number from 0 to 32"
            )
        if self.attested_policy is not None:
            try:
                policy = ChangeSmtpRelay.build(self.attested_policy).allow_relay
            except CLValidationError:
                raise SmtpRelaySettingError(
                    "attested_policy",
                    f"{self.attested_policy!r} is not a relay policy; expected one of {', '.join(RELAY_POLICIES)}",
                ) from None
            object.__setattr__(self, "attested_policy", policy)
        if self.attested_by is not None and not isinstance(self.attested_by, str):
            raise SmtpRelaySettingError("attested_by", f"{self.attested_by!r} is not text")
        if not isinstance(self.probe, bool):
            raise SmtpRelaySettingError("probe", f"{self.probe!r} is not true or false")
        for key, validate, value in (
            ("probe_sender", validate_address, self.probe_sender),
            ("probe_recipient", validate_address, self.probe_recipient),
            ("probe_port", validate_port, self.probe_port),
            ("probe_timeout", validate_timeout, self.probe_timeout),
            ("probe_host", validate_host, self.probe_host),
            ("probe_helo", validate_helo_name, self.probe_helo),
        ):
            if value is None:
                continue
            try:
                validate(key, value)
            except ProbeSettingError as error:
                raise SmtpRelaySettingError(key, str(error).removeprefix(f"{key}: ")) from None
