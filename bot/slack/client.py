"""The Slack Web API client: base URL from SLACK_API_URL, retries for connection errors, 429 and 5xx; and its
copy without retries, for calls that must answer within Slack's 3 seconds (a form opened inside an ack: its
trigger_id expires while Retry-After is waited out) and for callers that schedule their own retries."""

from __future__ import annotations

import copy

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

DEFAULT_API_URL = "https://slack.com/api/"
IN_ACK_TIMEOUT = 2  # seconds a call inside an ack may take: Slack waits 3 for the ack, a trigger_id lives 3


def retry_handlers() -> list[RetryHandler]:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        RateLimitErrorRetryHandler(max_retry_count=3),  # sleeps for Retry-After
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]


def api_base_url(slack_api_url: str | None) -> str:
    """slack_sdk joins method names onto the base URL, so it must end with '/'."""
    url = slack_api_url or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def make_web_client(token: str | None, slack_api_url: str | None) -> WebClient:
    return WebClient(token=token, base_url=api_base_url(slack_api_url), retry_handlers=retry_handlers())


def without_retries(client: WebClient, timeout: int | None = None) -> WebClient:
    """A copy of ``client`` that never retries by itself (same token, base URL, proxy …), waiting at most
    ``timeout`` seconds for an answer when given; the original is untouched."""
    copied = copy.copy(client)
    copied.retry_handlers = []
    if timeout is not None:
        copied.timeout = timeout
    return copied


def in_ack_client(client: WebClient) -> WebClient:
    """For a call made before the ack is sent: one try, answered within IN_ACK_TIMEOUT or given up."""
    return without_retries(client, IN_ACK_TIMEOUT)
