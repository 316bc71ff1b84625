"""Calls to Helicone's API: the user-metrics query, and the request endpoints paged through.

- `query_user_metrics` / `send_query` (`user_metrics.py`): one page of users.
- `iter_requests` / `query_requests` (`requests.py`): every request a filter selects between
  two moments, or one page of them, as typed `HeliconeRequest` records; bodies on request.
- `calls.py`: what every call shares: the deadline, retries, the API key kept out of errors,
  the capped answer; `HeliconeAPIError` is what any of them raises.

Needs httpx, the `client` extra (from a clone: `pip install -e '.[client]'`); it is imported
only when a request is sent, so this package imports without it.
"""

from __future__ import annotations

from helicone_filter.client.calls import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    EU_BASE_URL,
    MAX_REPLY_BYTES,
    REDACTED,
    HeliconeAPIError,
    Retries,
    check_api_key,
)
from helicone_filter.client.records import HeliconeRequest
from helicone_filter.client.requests import (
    QUERY_PATH,
    RequestPage,
    iter_requests,
    query_requests,
)
from helicone_filter.client.user_metrics import (
    ENDPOINT,
    UserMetricsPage,
    endpoint_url,
    query_user_metrics,
    send_query,
)
from helicone_filter.defaults import API_KEY_ENV

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "ENDPOINT",
    "EU_BASE_URL",
    "MAX_REPLY_BYTES",
    "QUERY_PATH",
    "REDACTED",
    "HeliconeAPIError",
    "HeliconeRequest",
    "RequestPage",
    "Retries",
    "UserMetricsPage",
    "check_api_key",
    "endpoint_url",
    "iter_requests",
    "query_requests",
    "query_user_metrics",
    "send_query",
]
