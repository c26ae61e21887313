"""What a fetch yields: the target asked for, the raw exchanges, the result, and why it failed.

Most of the crawl (frontier, archive, discovery, parsing) needs these records and nothing of how
they are fetched, so they live apart from the client and the fetcher.

A URL that could not be fetched comes back as a `FetchResult` whose `error` is the reason the
frontier records. Inside the fetcher the give-up reasons are raised as

    FetchError                   a URL was not fetched; `.reason` is the recorded string
     ├── Refused                 one of our guards said no; never retried
     │    ├── BadUrl             not http(s), too long, no host               "bad-url: ..."
     │    ├── OffSite            host not allowed (also after a redirect)     "off-site: <host>"
     │    ├── RobotsDisallowed   robots.txt disallows it or is unreadable     "robots-disallowed"
     │    ├── TooLarge           Content-Length or streamed body over the cap "too-large"
     │    └── NotHtml            a page answered with another content type   "not-html: <type>"
     ├── RetryAfterTooLong       the server asks us to wait longer than we will
     └── TransientError          timeout, connection error, 408/429/5xx: retried with backoff,
          │                      recorded as "<reason> after N attempts"
          │                      Also retried: a body that does not decode as its Content-Encoding
          │                      says ("decoding-error"), and an HTML page labelled text/plain or
          │                      application/octet-stream ("mislabelled: <type>"), the labels a
          │                      misconfigured server falls back to.
          └── TooManyRedirects   more hops than `max_redirects`: a loop is a server glitch as
                                 often as not                                 "too-many-redirects"

A final status that is not retried (404, 410, 403...) is not an exception: the result has the
status and `error="http-404"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

# What a response must be: a page ("html", refused otherwise) or anything (robots.txt, sitemaps).
Expect = Literal["html", "any"]
# How a URL failed: our guard refused it, transient trouble outlasted the retry budget, the server
# asked for a longer pause than we wait, or a final status we do not retry (404, 403...).
FailureKind = Literal["refused", "transient", "retry-after", "http"]
Headers = tuple[tuple[str, str], ...]


# --- errors ---------------------------------------------------------------------------------------


class FetchError(Exception):
    """A URL was not fetched. `reason` is the short string the frontier records."""

    def __init__(self, reason: str, *, response: RawResponse | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response  # what the server sent, when it sent anything


class Refused(FetchError):
    """One of our own guards refused the URL or its response."""


class BadUrl(Refused):
    """Not an http(s) URL we can fetch."""


class OffSite(Refused):
    """The host is not one of the configured site's hosts."""


class RobotsDisallowed(Refused):
    """robots.txt does not allow us this URL."""


class TooLarge(Refused):
    """The body is larger than the configured cap."""


class NotHtml(Refused):
    """A page URL answered with something that is not HTML."""


class RetryAfterTooLong(FetchError):
    """The server asked for a pause longer than `max_retry_after_s`."""

    def __init__(self, reason: str, *, retry_after: float, response: RawResponse | None) -> None:
        super().__init__(reason, response=response)
        self.retry_after = retry_after


class TransientError(FetchError):
    """Worth another try: timeouts, connection errors, retryable statuses, damaged bodies."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, response: RawResponse | None = None
    ) -> None:
        super().__init__(reason, response=response)
        self.retry_after = retry_after


class TooManyRedirects(TransientError):
    """The redirect chain is longer than `max_redirects`."""


# --- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchTarget:
    """A URL to fetch and what we knew about it after the last visit."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None

    def conditional_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a revisit (both: servers prefer the ETag)."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True, kw_only=True)
class RawResponse:
    """One HTTP exchange as it happened: what we asked and what came back."""

    url: str
    status: int
    headers: Headers
    body: bytes | None  # None: not read (304, a refused type or size); bytes otherwise
    truncated: bool = False  # reading stopped at the size cap
    http_version: str = "HTTP/1.1"
    request_headers: Headers = ()
    wire_bytes: int = 0  # bytes received on the wire (compressed)
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    @property
    def media_type(self) -> str | None:
        value = self.header("content-type")
        if not value:
            return None
        return value.split(";", 1)[0].strip().lower() or None


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """The outcome of one URL: the final response (if any) and everything the frontier records."""

    url: str  # as asked (the frontier's key)
    final_url: str  # after redirects, canonical
    status: int | None  # final HTTP status; None when no response came back
    headers: Headers = ()  # final response headers in order, duplicates kept
    body: bytes | None = None  # decoded body of a 2xx/4xx/5xx; None for 304 and refusals
    etag: str | None = None  # validators to send next time (carried over on 304)
    last_modified: str | None = None
    content_sha256: str | None = None  # of `body`; the previous hash on 304
    not_modified: bool = False  # the server said 304
    unchanged: bool = False  # 304, or the same content hash as last visit
    error: str | None = None  # give-up reason; None when the page came back fine
    failure: FailureKind | None = None  # what kind of give-up `error` is
    bytes: int = 0  # bytes received on the wire over all attempts and hops
    elapsed: float = 0.0  # seconds from the first attempt to the result
    attempts: int = 0  # tries of the hop chain, the first and each retry (`requests`: its requests)
    # Every HTTP request this fetch sent: each attempt's every hop (the budget's count); 0 when
    # it was refused before any (robots.txt, off-site). None: not known, in a result read back
    # from a staging file (a shard's visits, a spooled batch), which keeps neither this count nor
    # the redirect hops; see `budget.requests_of`.
    requests: int | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    content_type: str | None = None  # media type of the final response
    retry_after_s: float | None = None  # a pause the server asked for and we did not wait out
    response: RawResponse | None = None  # the final exchange (for the archive)
    redirects: tuple[RawResponse, ...] = ()  # the hops before it (for the archive)

    @property
    def ok(self) -> bool:
        """A 2xx or 304 with no give-up."""
        return self.error is None and self.status is not None

    @property
    def changed(self) -> bool:
        """A body we have not seen before: the only case worth parsing and loading."""
        return self.ok and not self.unchanged and self.body is not None

    @property
    def gone(self) -> bool:
        """The page is not there any more (404/410)."""
        return self.status in (404, 410)


def failure_kind(exc: FetchError) -> FailureKind:
    """The kind of give-up an error is, as the frontier schedules it."""
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, RetryAfterTooLong):
        return "retry-after"
    return "refused"
