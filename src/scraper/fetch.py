"""Polite fetching: one configured `httpx.AsyncClient` and a fetcher that keeps the rules.

A batch of `FetchTarget`s (URL + the validators of the last visit) goes in, one `FetchResult` per
target comes out, in the same order. Nothing is raised for a URL that could not be fetched: the
result carries the reason (`error`), which the frontier records. Per host the fetcher keeps a
request interval (`1 / rate`, raised by robots.txt Crawl-delay, stretched while the host errors,
paused by Retry-After) and a cap on requests in flight.

Give-up reasons are raised inside the fetcher as

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

and turned into results by `Fetcher.fetch`. A final status that is not retried (404, 410, 403...) is
not an exception: the result has the status and `error="http-404"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import SplitResult, urlsplit

import httpx
import tenacity
from protego import Protego

from scraper.config import CrawlConfig
from scraper.transport import make_transport
from scraper.urls import canonicalize

log = logging.getLogger(__name__)

Expect = Literal["html", "any"]
# How a URL failed: our guard refused it, transient trouble outlasted the retry budget, the server
# asked for a longer pause than we wait, or a final status we do not retry (404, 403...).
FailureKind = Literal["refused", "transient", "retry-after", "http"]
Headers = tuple[tuple[str, str], ...]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Labels a misconfigured server or proxy puts on whatever it sends (WHATWG MIME sniffing does not
# trust them either): an HTML body under one of them is a glitch worth a retry, not a refusal.
FALLBACK_TYPES = frozenset({"text/plain", "application/octet-stream"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# robots.txt files are small; RFC 9309 asks crawlers to read at least the first 500 KiB.
ROBOTS_MAX_BYTES = 512 * 1024
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


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
    attempts: int = 0  # requests made for the final hop chain, retries included
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

    def without_exchanges(self) -> FetchResult:
        """This result without its bytes (body, headers, the exchanges): what the frontier and
        the run's report need once the responses are archived and the body parsed."""
        return replace(self, headers=(), body=None, response=None, redirects=())


# --- robots.txt -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RobotsPolicy:
    """robots.txt of one origin, as read (or the RFC 9309 default when it could not be)."""

    parser: Protego | None  # None: no usable file
    allow_all: bool  # 4xx: no robots.txt means no restrictions
    delay_s: float | None = None  # the stricter of Crawl-delay and Request-rate for our agent
    sitemaps: tuple[str, ...] = ()
    note: str = ""  # how it was obtained, for logs

    def allows(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, agent))

    @classmethod
    def parse(cls, text: str, agent: str) -> RobotsPolicy:
        parser = Protego.parse(text)
        delays = []
        if (delay := parser.crawl_delay(agent)) is not None:
            delays.append(float(delay))
        if (rate := parser.request_rate(agent)) is not None and rate.requests:
            delays.append(float(rate.seconds) / float(rate.requests))
        return cls(
            parser,
            allow_all=True,
            delay_s=max(delays) if delays else None,
            sitemaps=tuple(parser.sitemaps),
            note="parsed",
        )


# --- per-host politeness --------------------------------------------------------------------------


class HostLimiter:
    """Spaces request starts on one host and caps requests in flight.

    The interval is `1 / rate`, raised to robots.txt's delay when that is stricter, multiplied by a
    slow-down factor while the host errors, and a Retry-After pauses the whole host. A shard of a
    split crawl is given `rate / shards`, so the host's total budget never grows with the shards.
    """

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        max_slowdown: float = 8.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_interval = 1.0 / rate
        self.crawl_delay = 0.0
        self.slowdown = 1.0
        self.max_slowdown = max_slowdown
        self._clock = clock
        self._sleep = sleep
        self._semaphore = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()  # one start at a time, each spaced from the last
        self._last_start = float("-inf")
        self._next_start = 0.0
        self._paused_until = 0.0

    @property
    def interval(self) -> float:
        return max(self.base_interval, self.crawl_delay) * self.slowdown

    def set_crawl_delay(self, seconds: float | None, *, shards: int = 1) -> None:
        """robots.txt's delay between requests, kept by `shards` fetchers together."""
        self.crawl_delay = max(0.0, seconds or 0.0) * shards
        # The request that fetched robots.txt already counts: the next one waits the new interval.
        self._next_start = max(self._next_start, self._last_start + self.interval)

    async def quiet(self) -> None:
        """Wait until the next request may start (the interval since the last one, a pause)."""
        while (start := max(self._next_start, self._paused_until)) > self._clock():
            await self._sleep(start - self._clock())

    def pause(self, seconds: float) -> None:
        """Retry-After: no request to this host before `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def slow_down(self) -> None:
        self.slowdown = min(self.max_slowdown, self.slowdown * 2)

    def recover(self) -> None:
        self.slowdown = max(1.0, self.slowdown / 2)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the host's concurrent slots, starting no sooner than the interval allows.

        Starts are taken one at a time and spaced from the previous *actual* start, so a waiter
        that wakes late on a busy machine delays the next start instead of bunching with it;
        a pause (Retry-After) that arrives while a waiter sleeps is honoured when it wakes.
        """
        async with self._semaphore:
            async with self._start_lock:
                await self.quiet()
                self._last_start = self._clock()
                self._next_start = self._last_start + self.interval
            yield


# --- the client -----------------------------------------------------------------------------------


def make_client(
    config: CrawlConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one configured client: identity, timeouts, keep-alive pool, compression, no redirects.

    Redirects are followed by the fetcher so each hop is checked against the allowed hosts and
    robots.txt. `trust_env=False`: proxies and certificates come from here, not from whatever the
    environment of a worker happens to hold.
    """
    limits = httpx.Limits(
        max_connections=config.concurrency * 2,
        max_keepalive_connections=config.concurrency,
        keepalive_expiry=30.0,
    )
    return CookielessClient(
        headers={"User-Agent": config.user_agent, "Accept": ACCEPT_HTML, "Accept-Language": "en"},
        timeout=httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.read_timeout_s,
            write=config.read_timeout_s,
            pool=config.pool_timeout_s,
        ),
        follow_redirects=False,
        trust_env=False,
        transport=transport if transport is not None else make_transport(limits),
        event_hooks={"response": [_log_response]},
    )


class CookielessClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` that keeps no cookies: a `Set-Cookie` is archived, never sent back.

    The crawl is stateless on purpose: a page is fetched the same way whichever worker or shard
    fetches it, and whatever other pages set before. httpx has no switch for it
    (encode/httpx#2992), and takes every response apart for cookies through urllib's request and
    response wrappers: 7% of a crawl worker's CPU on a recrawl answered 304 (sampled with py-spy).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._none = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._none

    @cookies.setter
    def cookies(self, _cookies: object) -> None:
        raise TypeError("the crawler's client keeps no cookies")


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        """Nothing is kept."""


async def _log_response(response: httpx.Response) -> None:
    log.debug("%s %s -> %s", response.request.method, response.request.url, response.status_code)


# --- the fetcher ----------------------------------------------------------------------------------


class Fetcher:
    """Fetches batches politely. Use as `async with Fetcher(config) as fetcher:`.

    `client` is injected for tests (`make_client(config, transport=httpx.MockTransport(...))`); a
    client made here is closed on exit. `clock` and `sleep` are injectable so unit tests can check
    waits without spending them.
    """

    def __init__(
        self,
        config: CrawlConfig,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.config = config
        self._own_client = client is None
        self.client = client if client is not None else make_client(config)
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[str, HostLimiter] = {}
        self._robots: dict[str, tuple[float, RobotsPolicy]] = {}  # origin -> (read at, policy)
        # robots.txt answers fetched on the side of a batch, until the caller archives them
        self._side_results: list[FetchResult] = []
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._backoff = tenacity.wait_exponential_jitter(
            multiplier=config.backoff_initial_s,
            max=config.backoff_max_s,
            jitter=config.backoff_jitter_s,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    # --- public API -------------------------------------------------------------------------------

    async def fetch_batch(
        self, targets: Sequence[FetchTarget | str], *, expect: Expect = "html"
    ) -> list[FetchResult]:
        """Fetch all targets concurrently (within each host's limits); results in input order."""
        return await in_order(
            targets, lambda target: self.fetch(target, expect=expect), self.runners
        )

    @property
    def runners(self) -> int:
        """Fetches of a batch going at once: one host's requests in flight. A batch's pages are
        on the site's canonical host; a batch spread over its www twin as well shares them."""
        return self.config.concurrency

    async def fetch(
        self, target: FetchTarget | str, *, expect: Expect = "html", max_bytes: int | None = None
    ) -> FetchResult:
        """Fetch one URL with retries; every failure comes back as a result with a reason."""
        if isinstance(target, str):
            target = FetchTarget(url=target)
        cap = max_bytes if max_bytes is not None else self.config.max_body_bytes
        started = self._clock()
        attempts = 0
        wire: list[int] = []

        async def chain() -> list[RawResponse]:
            nonlocal attempts
            attempts += 1
            return await self._follow(target, expect, cap, wire)

        try:
            hops = await self._with_retries(chain)
        except FetchError as exc:
            return self._failure(target, exc, attempts, sum(wire), self._clock() - started)
        return self._success(target, hops, attempts, sum(wire), self._clock() - started)

    async def robots(self, url: str) -> RobotsPolicy:
        """robots.txt of the URL's origin, read again once it is `robots_ttl_s` old (concurrent
        callers wait for one fetch)."""
        origin = _origin(url)
        if self._robots_fresh(origin):
            return self._robots[origin][1]
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if not self._robots_fresh(origin):
                policy = await self._load_robots(origin)
                self._robots[origin] = (self._clock(), policy)
                self.limiter(url).set_crawl_delay(policy.delay_s, shards=self.config.shards)
            return self._robots[origin][1]

    def _robots_fresh(self, origin: str) -> bool:
        cached = self._robots.get(origin)
        return cached is not None and self._clock() - cached[0] < self.config.robots_ttl_s

    async def quiet(self) -> None:
        """Wait until every host this fetcher asked would take its next request, so that other
        fetchers taking over (crawl workers) keep the spacing it kept."""
        for limiter in self._limiters.values():
            await limiter.quiet()

    def take_side_results(self) -> list[FetchResult]:
        """The robots.txt responses fetched since the last call (for the archive)."""
        taken, self._side_results = self._side_results, []
        return taken

    def limiter(self, url: str) -> HostLimiter:
        """The rate limiter of the URL's host (created on first use)."""
        key = urlsplit(url).netloc.lower()
        if key not in self._limiters:
            self._limiters[key] = HostLimiter(
                self.config.rate,
                self.config.concurrency,
                max_slowdown=self.config.max_slowdown,
                clock=self._clock,
                sleep=self._sleep,
            )
        return self._limiters[key]

    # --- retries ----------------------------------------------------------------------------------

    async def _with_retries(
        self, chain: Callable[[], Awaitable[list[RawResponse]]]
    ) -> list[RawResponse]:
        """`chain` until it succeeds, fails for good, or runs out of attempts.

        The first attempt runs bare: nearly every request succeeds at once, and entering
        tenacity's async machinery costs about 0.1 ms a request (measured), a tenth of a 304's
        whole cost. A transient failure hands over to tenacity, whose first attempt replays that
        failure without a request, so attempt numbers, backoff and Retry-After waits are the ones
        tenacity alone would give.
        """
        try:
            return await chain()
        except TransientError as exc:
            replay: list[TransientError] = [exc]

        async def again() -> list[RawResponse]:
            if replay:
                raise replay.pop()
            return await chain()

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(TransientError),
            sleep=self._sleep,
            reraise=True,
        )
        hops: list[RawResponse] = []
        async for attempt in retrying:
            with attempt:
                hops = await again()
        return hops

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Exponential backoff with jitter, but never shorter than a Retry-After we were given."""
        backoff = float(self._backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        told = exc.retry_after if isinstance(exc, TransientError) else None
        return max(backoff, told or 0.0)

    # --- one attempt: a chain of hops -------------------------------------------------------------

    async def _follow(
        self, target: FetchTarget, expect: Expect, cap: int, wire: list[int]
    ) -> list[RawResponse]:
        """Request the URL and follow redirects by hand, checking every hop."""
        url = target.url
        hops: list[RawResponse] = []
        for _ in range(self.config.max_redirects + 1):
            await self._check_allowed(url)
            response = await self._request(url, target.conditional_headers(), expect, cap, wire)
            hops.append(response)
            location = response.header("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return hops
            url = canonicalize(location, base=url)
        raise TooManyRedirects("too-many-redirects", response=hops[-1])

    async def _check_allowed(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadUrl(f"bad-url: {url[:80]}")
        if len(url) > self.config.max_url_length:
            raise BadUrl(f"bad-url: longer than {self.config.max_url_length} characters")
        if parts.hostname.lower() not in self.config.hosts:
            raise OffSite(f"off-site: {parts.hostname.lower()}")
        if not self.config.allows_port(parts.scheme, _port(parts)):
            raise OffSite(f"off-site: {parts.netloc.lower()}")
        if self.config.obey_robots and not (await self.robots(url)).allows(
            url, self.config.robots_agent
        ):
            raise RobotsDisallowed("robots-disallowed")

    async def _request(
        self, url: str, headers: dict[str, str], expect: Expect, cap: int, wire: list[int]
    ) -> RawResponse:
        """One GET through the host's limiter. Transient failures raise `TransientError`."""
        limiter = self.limiter(url)
        async with limiter.slot():
            try:
                async with asyncio.timeout(self.config.request_deadline_s):
                    response = await self._stream(url, headers, expect, cap, wire)
            except (TimeoutError, httpx.TimeoutException) as exc:
                limiter.slow_down()
                raise TransientError("timeout") from exc
            except httpx.TransportError as exc:
                limiter.slow_down()
                raise TransientError(f"connection-error: {type(exc).__name__}") from exc
            except httpx.DecodingError as exc:
                # The body is not what its Content-Encoding says: damaged on the way, not a page
                # to give up on for a month.
                raise TransientError("decoding-error") from exc
            except httpx.InvalidURL as exc:
                raise BadUrl(f"bad-url: {exc}") from exc
        self._check_status(response, limiter)
        return response

    async def _stream(
        self, url: str, headers: dict[str, str], expect: Expect, cap: int, wire: list[int]
    ) -> RawResponse:
        async with self.client.stream("GET", url, headers=headers) as response:
            try:
                raw = _raw(url, response, body=None)
                _check_declared(raw, expect, cap)
                body, truncated = await _read_capped(response, cap)
            finally:
                wire.append(response.num_bytes_downloaded)
        raw = _raw(url, response, body=body, truncated=truncated)
        if truncated:
            raise TooLarge("too-large", response=raw)
        if expect == "html" and _is_success(raw) and raw.media_type in FALLBACK_TYPES:
            if _sniff_html(body):
                raise TransientError(f"mislabelled: {raw.media_type}", response=_without_body(raw))
            raise NotHtml(f"not-html: {raw.media_type}", response=_without_body(raw))
        if (
            expect == "html"
            and raw.media_type is None
            and _is_success(raw)
            and not _sniff_html(body)
        ):
            raise NotHtml("not-html: unlabelled", response=_without_body(raw))
        return raw

    def _check_status(self, response: RawResponse, limiter: HostLimiter) -> None:
        if response.status not in self.config.retry_statuses:
            limiter.recover()
            return
        limiter.slow_down()
        retry_after = parse_retry_after(response.header("retry-after"), response.received_at)
        reason = f"http-{response.status}"
        if retry_after is not None:
            if retry_after > self.config.max_retry_after_s:
                raise RetryAfterTooLong(
                    f"{reason} retry-after {retry_after:.0f}s",
                    retry_after=retry_after,
                    response=response,
                )
            limiter.pause(retry_after)
        raise TransientError(reason, retry_after=retry_after, response=response)

    # --- robots.txt -------------------------------------------------------------------------------

    async def _load_robots(self, origin: str) -> RobotsPolicy:
        """RFC 9309: 2xx -> parse; 4xx -> no restrictions; 5xx or unreachable -> disallow all."""
        wire: list[int] = []
        target = FetchTarget(url=f"{origin}/robots.txt")

        async def chain() -> list[RawResponse]:
            return await self._follow_robots(target.url, wire)

        try:
            hops = await self._with_retries(chain)
            response = hops[-1]
            self._side_results.append(self._success(target, hops, 1, sum(wire), 0.0))
        except TooLarge as exc:
            body = exc.response.body if exc.response else None
            return _robots_from_body(body or b"", self.config.robots_agent)
        except FetchError as exc:
            log.warning("robots.txt of %s unreadable (%s): not crawling it", origin, exc.reason)
            return RobotsPolicy(None, allow_all=False, note=f"unreachable: {exc.reason}")
        if 200 <= response.status < 300:
            return _robots_from_body(response.body or b"", self.config.robots_agent)
        if 400 <= response.status < 500:
            return RobotsPolicy(None, allow_all=True, note=f"http-{response.status}")
        return RobotsPolicy(None, allow_all=False, note=f"http-{response.status}")

    async def _follow_robots(self, url: str, wire: list[int]) -> list[RawResponse]:
        """robots.txt and its redirects (RFC 9309 asks crawlers to follow at least five), each
        hop on the site itself: a redirect elsewhere leaves robots.txt unreachable."""
        hops: list[RawResponse] = []
        for _ in range(self.config.max_redirects + 1):
            hops.append(await self._request(url, {}, "any", ROBOTS_MAX_BYTES, wire))
            location = hops[-1].header("location")
            if hops[-1].status not in REDIRECT_STATUSES or not location:
                return hops
            url = canonicalize(location, base=url)
            parts = urlsplit(url)
            on_site = (parts.hostname or "").lower() in self.config.hosts
            if not on_site or not self.config.allows_port(parts.scheme, _port(parts)):
                raise OffSite(f"off-site: {parts.netloc.lower()}", response=hops[-1])
        raise TooManyRedirects("too-many-redirects", response=hops[-1])

    # --- results ----------------------------------------------------------------------------------

    def _success(
        self,
        target: FetchTarget,
        hops: list[RawResponse],
        attempts: int,
        wire_bytes: int,
        elapsed: float,
    ) -> FetchResult:
        final = hops[-1]
        not_modified = final.status == 304
        body = None if not_modified else final.body
        digest = hashlib.sha256(body).hexdigest() if body is not None else None
        if not_modified:
            digest = target.content_sha256
        error = None if (200 <= final.status < 300 or not_modified) else f"http-{final.status}"
        same = digest is not None and digest == target.content_sha256
        return FetchResult(
            url=target.url,
            final_url=final.url,
            status=final.status,
            headers=final.headers,
            body=body,
            etag=final.header("etag") or (target.etag if not_modified else None),
            last_modified=final.header("last-modified")
            or (target.last_modified if not_modified else None),
            content_sha256=digest,
            not_modified=not_modified,
            unchanged=error is None and (not_modified or same),
            error=error,
            failure="http" if error else None,
            bytes=wire_bytes,
            elapsed=elapsed,
            attempts=attempts,
            fetched_at=final.received_at,
            content_type=final.media_type,
            response=final,
            redirects=tuple(hops[:-1]),
        )

    def _failure(
        self, target: FetchTarget, exc: FetchError, attempts: int, wire_bytes: int, elapsed: float
    ) -> FetchResult:
        reason = exc.reason
        if isinstance(exc, TransientError):
            reason = f"{reason} after {attempts} attempt{'s' if attempts != 1 else ''}"
        response = exc.response
        return FetchResult(
            url=target.url,
            final_url=response.url if response else target.url,
            status=response.status if response else None,
            headers=response.headers if response else (),
            body=None,
            error=reason,
            failure=_failure_kind(exc),
            bytes=wire_bytes,
            elapsed=elapsed,
            attempts=attempts,
            fetched_at=response.received_at if response else datetime.now(UTC),
            content_type=response.media_type if response else None,
            retry_after_s=exc.retry_after if isinstance(exc, RetryAfterTooLong) else None,
            response=response,
        )


# --- helpers --------------------------------------------------------------------------------------


async def in_order(
    items: Sequence[_Item], work: Callable[[_Item], Awaitable[_Result]], runners: int
) -> list[_Result]:
    """`work` on every item, `runners` at a time; the results in the order of `items`.

    A few runners pulling from one iterator rather than a task per item: a batch of hundreds of
    tasks queued on a host's semaphore costs ~0.2 ms a request (measured on 304s), because
    asyncio's Semaphore scans every waiter on each acquire (Python 3.11). An exception cancels the
    other runners and propagates, as from a TaskGroup.
    """
    results: list[_Result | None] = [None] * len(items)
    queue = iter(enumerate(items))

    async def runner() -> None:
        for index, item in queue:
            results[index] = await work(item)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(runners, len(items))):
            group.create_task(runner())
    return results  # type: ignore[return-value]  # every index was filled, or we raised


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent/bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _failure_kind(exc: FetchError) -> FailureKind:
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, RetryAfterTooLong):
        return "retry-after"
    return "refused"


def _port(parts: SplitResult) -> int | None:
    """The URL's port; -1 (no site's port) when it is not a number in range."""
    try:
        return parts.port
    except ValueError:
        return -1


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _raw(
    url: str, response: httpx.Response, *, body: bytes | None, truncated: bool = False
) -> RawResponse:
    return RawResponse(
        url=url,
        status=response.status_code,
        headers=tuple(response.headers.multi_items()),
        body=body,
        truncated=truncated,
        http_version=response.http_version,
        request_headers=tuple(response.request.headers.multi_items()),
        wire_bytes=response.num_bytes_downloaded,
    )


def _without_body(raw: RawResponse) -> RawResponse:
    return RawResponse(
        url=raw.url,
        status=raw.status,
        headers=raw.headers,
        body=None,
        http_version=raw.http_version,
        request_headers=raw.request_headers,
        wire_bytes=raw.wire_bytes,
        received_at=raw.received_at,
    )


def _is_success(raw: RawResponse) -> bool:
    return 200 <= raw.status < 300


def _check_declared(raw: RawResponse, expect: Expect, cap: int) -> None:
    """Refuse before reading when the headers already say too large or not HTML."""
    length = raw.header("content-length")
    if length and length.strip().isdigit() and int(length) > cap:
        raise TooLarge("too-large", response=raw)
    media = raw.media_type
    # A fallback label is judged after reading (`_stream`): the body may well be the HTML page.
    known = HTML_TYPES | FALLBACK_TYPES
    if expect == "html" and _is_success(raw) and media is not None and media not in known:
        raise NotHtml(f"not-html: {media}", response=raw)


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes | None, bool]:
    """The decoded body, stopping once it passes `cap` (which also stops a compression bomb).

    Returns (body, truncated); a truncated body is the first `cap` bytes, kept for robots.txt (RFC
    9309 reads the head of an oversized file) and never parsed as a page.
    """
    if response.status_code == 304:
        # No body, but the stream is still read to its end: closed unread, httpcore drops the
        # connection instead of pooling it, and every revisit would open a new one (a TCP and
        # TLS handshake per 304, at the site's expense as much as ours).
        await response.aread()
        return None, False
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True
    return b"".join(chunks), False


def _sniff_html(body: bytes | None) -> bool:
    head = (body or b"")[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _robots_from_body(body: bytes, agent: str) -> RobotsPolicy:
    return RobotsPolicy.parse(body.decode("utf-8", errors="replace"), agent)
