"""The fetcher: a batch of `FetchTarget`s in, one `FetchResult` per target out, in order.

It keeps the crawl's rules for each request: conditional GET, redirects followed by hand (each
hop checked against the site's hosts and robots.txt), retries of what is transient under one
tenacity policy (backoff with jitter, Retry-After honoured), the size and content-type caps, and
each host's `HostLimiter`. Nothing is raised for a URL that could not be fetched: the result
carries the reason (`error`), which the frontier records. The error hierarchy and the records are
`scraper.responses`'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import SplitResult, urlsplit

import httpx
import tenacity

from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.politeness import Clock, HostLimiter, Sleep
from scraper.responses import (
    BadUrl,
    Expect,
    FetchError,
    FetchResult,
    FetchTarget,
    NotHtml,
    OffSite,
    RawResponse,
    RetryAfterTooLong,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
    TransientError,
    failure_kind,
)
from scraper.robots import (
    ROBOTS_MAX_BYTES,
    RobotsCache,
    RobotsPolicy,
    policy_from_answer,
    policy_from_body,
    unreachable,
)
from scraper.urls import canonicalize

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Labels a misconfigured server or proxy puts on whatever it sends (WHATWG MIME sniffing does not
# trust them either): an HTML body under one of them is a glitch worth a retry, not a refusal.
FALLBACK_TYPES = frozenset({"text/plain", "application/octet-stream"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
        self._robots = RobotsCache(config.robots_ttl_s, clock)
        # robots.txt answers fetched on the side of a batch, until the caller archives them
        self._side_results: list[FetchResult] = []
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
        self,
        targets: Sequence[FetchTarget | str],
        *,
        expect: Expect = "html",
        max_bytes: int | None = None,
        on_result: Callable[[FetchResult], None] | None = None,
    ) -> list[FetchResult]:
        """Fetch all targets concurrently (within each host's limits); results in input order.
        `max_bytes` as in `fetch`; `on_result` sees each result as it arrives (progress)."""

        async def one(target: FetchTarget | str) -> FetchResult:
            result = await self.fetch(target, expect=expect, max_bytes=max_bytes)
            if on_result is not None:
                on_result(result)
            return result

        return await in_order(targets, one, self.runners)

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
        wire: list[int] = []  # one entry per request sent (`_request`): the bytes it brought

        async def chain() -> list[RawResponse]:
            nonlocal attempts
            attempts += 1
            return await self._follow(target, expect, cap, wire)

        try:
            hops = await self._with_retries(chain)
        except FetchError as exc:
            return self._failure(target, exc, attempts, wire, self._clock() - started)
        return self._success(target, hops, attempts, wire, self._clock() - started)

    async def robots(self, url: str) -> RobotsPolicy:
        """robots.txt of the URL's origin, read again once it is `robots_ttl_s` old (concurrent
        callers wait for one fetch)."""
        return await self._robots.get(_origin(url), self._read_robots)

    def take_side_results(self) -> list[FetchResult]:
        """The robots.txt reads made since the last call: for the budget, which counts their
        requests, and the archive (a failed read comes without its response: nothing to keep)."""
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
        """`chain` until it succeeds, fails for good (any `FetchError` that is not transient), or
        runs out of attempts; the last error is raised as it was."""
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
                hops = await chain()
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
        """One GET through the host's limiter. Transient failures raise `TransientError`.
        `wire` gets an entry for the request as it is sent, whether or not an answer comes (a
        timeout was still seen by the server): the budget counts requests by these entries."""
        limiter = self.limiter(url)
        async with limiter.slot():
            wire.append(0)
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
                raw = _raw(url, response, body=None, received_at=self.config.clock())
                _check_declared(raw, expect, cap)
                body, truncated = await _read_capped(response, cap)
            finally:
                wire[-1] = response.num_bytes_downloaded  # the entry `_request` made
        raw = _raw(url, response, body=body, truncated=truncated, received_at=self.config.clock())
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

    async def _read_robots(self, origin: str) -> RobotsPolicy:
        """The origin's robots.txt, its Crawl-delay applied to the host's limiter."""
        policy = await self._load_robots(origin)
        self.limiter(origin).set_crawl_delay(policy.delay_s, shards=self.config.shards)
        return policy

    async def _load_robots(self, origin: str) -> RobotsPolicy:
        """Fetch robots.txt (with retries, like any request) and read it as RFC 9309 says.
        Every read is a side result, a failed one too (without its response: nothing to
        archive), so that the budget counts its requests."""
        wire: list[int] = []
        target = FetchTarget(url=f"{origin}/robots.txt")
        attempts = 0

        async def chain() -> list[RawResponse]:
            nonlocal attempts
            attempts += 1
            return await self._follow_robots(target.url, wire)

        try:
            hops = await self._with_retries(chain)
        except FetchError as exc:
            failed = self._failure(target, exc, attempts, wire, 0.0)
            self._side_results.append(dataclasses.replace(failed, response=None))
            if isinstance(exc, TooLarge):
                body = exc.response.body if exc.response else None
                return policy_from_body(body or b"", self.config.robots_agent)
            return unreachable(origin, exc.reason)
        self._side_results.append(self._success(target, hops, attempts, wire, 0.0))
        response = hops[-1]
        return policy_from_answer(response.status, response.body, self.config.robots_agent)

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
        wire: Sequence[int],
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
            bytes=sum(wire),
            elapsed=elapsed,
            attempts=attempts,
            requests=len(wire),
            fetched_at=final.received_at,
            content_type=final.media_type,
            response=final,
            redirects=tuple(hops[:-1]),
        )

    def _failure(
        self,
        target: FetchTarget,
        exc: FetchError,
        attempts: int,
        wire: Sequence[int],
        elapsed: float,
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
            failure=failure_kind(exc),
            bytes=sum(wire),
            elapsed=elapsed,
            attempts=attempts,
            requests=len(wire),
            fetched_at=response.received_at if response else self.config.clock(),
            content_type=response.media_type if response else None,
            retry_after_s=exc.retry_after if isinstance(exc, RetryAfterTooLong) else None,
            response=response,
        )


# --- helpers --------------------------------------------------------------------------------------


async def in_order(
    items: Sequence[_Item], work: Callable[[_Item], Awaitable[_Result]], runners: int
) -> list[_Result]:
    """`work` on every item, `runners` at a time; the results in the order of `items`.

    A few runners pulling from one iterator rather than a task per item: at most `runners`
    requests can be in flight anyway, and hundreds of tasks queued on a host's semaphore cost
    time on each acquire (asyncio's Semaphore scans its waiters). An exception cancels the other
    runners and propagates, as from a TaskGroup.
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
    url: str,
    response: httpx.Response,
    *,
    body: bytes | None,
    received_at: datetime,
    truncated: bool = False,
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
        received_at=received_at,
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
