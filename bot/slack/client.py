"""The Slack Web API client: base URL from SLACK_API_URL, retries for connection errors, 429 and 5xx."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

DEFAULT_API_URL = "https://slack.com/api/"


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
