"""The bodies of requests, fetched from the presigned URLs Helicone hands out with them.

A request whose bodies Helicone keeps in S3 (`storage_location` "s3", the default) comes with
`signed_body_url`, a presigned GET URL valid for a day, and placeholder strings as its
`request_body` and `response_body`. `fetch_bodies` GETs those URLs, a bounded number at once (a
thread pool of `workers`), WITHOUT the API key (the URL carries its own signature; the key is
never sent to another host, and S3 refuses a request signed two ways), and puts the object's
`request` and `response` in the record. A body that cannot be had is reported on its record,
in `body_error`, never dropped in silence: a missing object (S3's 404), an expired or refused
URL (403), a body Helicone did not store, or no answer after the retries of `calls.send`
(429, 5xx and dropped connections are tried again; 403 and 404 are not). A body stored in
ClickHouse (`storage_location` "clickhouse") comes inline and needs no fetch.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from helicone_filter.client.calls import HeliconeAPIError, Retries, clean, send
from helicone_filter.client.records import HeliconeRequest

if TYPE_CHECKING:
    import httpx

# How many bodies are fetched at once, by default.
BODY_WORKERS = 8

# What an answer of S3's other than 200 means for the body, by status.
_MEANINGS = {
    403: "the body URL has expired or was refused",
    404: "the body is missing from storage",
}
# What a record without a URL to fetch means, by `storage_location`.
_NOT_FETCHED = {
    "not_stored_exceeded_free": "Helicone did not store this body (not_stored_exceeded_free)",
}
_S3_PART = re.compile(r"<(Code|Message)>([^<]*)</\1>")


class BodyFetcher:
    """Fetches bodies with a client of its own (never the caller's API client, which may
    carry the key), at most `workers` at once; a context manager that closes both."""

    def __init__(
        self,
        *,
        workers: int = BODY_WORKERS,
        timeout: float,
        retries: Retries,
        secret: str = "",
    ) -> None:
        import httpx

        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise HeliconeAPIError(f"body_workers is a whole number above 0, not {workers!r}")
        self.timeout = timeout
        self.retries = retries
        self.secret = secret  # only to keep it out of an error's text, never sent
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        self.client: httpx.Client = httpx.Client(limits=limits, follow_redirects=False)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="helicone-body")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def fetch(self, records: list[HeliconeRequest]) -> list[HeliconeRequest]:
        """The records with their bodies in, or `body_error` set; in the same order."""
        return list(self.pool.map(self.one, records))

    def one(self, record: HeliconeRequest) -> HeliconeRequest:
        """One record with its bodies, or the reason it has none."""
        url = record.signed_body_url
        if not url:
            reason = _NOT_FETCHED.get(record.storage_location or "")
            return record if reason is None else record.replace(body_error=reason)
        try:
            status, _headers, content = send(
                self.client, url, method="GET", headers={"Accept": "application/json"},
                timeout=self.timeout, secret=self.secret, retries=self.retries,
            )  # fmt: skip
        except HeliconeAPIError as e:
            return record.replace(body_error=f"the body could not be fetched: {e.message}")
        if status != 200:
            return record.replace(body_error=_refusal(status, content))
        try:
            both: Any = json.loads(content)
        except (ValueError, RecursionError):
            both = None
        if not isinstance(both, dict):
            return record.replace(body_error="the body's object is not a JSON object")
        return record.replace(request_body=both.get("request"), response_body=both.get("response"))


def _refusal(status: int, content: bytes) -> str:
    """What an answer of S3's other than 200 means, with S3's own code and message."""
    parts = dict(_S3_PART.findall(content[:4096].decode("utf-8", "replace")))
    said = ": ".join(p for p in (parts.get("Code", ""), parts.get("Message", "")) if p)
    meaning = _MEANINGS.get(status, "the body could not be fetched")
    return f"{meaning} (HTTP {status}{': ' + clean(said, 200) if said else ''})"
