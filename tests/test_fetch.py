"""The polite fetcher on `httpx.MockTransport`, with a fake clock so waits cost nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.fetcher import Fetcher, in_order, parse_retry_after
from scraper.politeness import HostLimiter
from scraper.responses import FetchResult, FetchTarget

BASE = "https://site.test"
PAGE = b"<!doctype html><html><body>study</body></html>"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def config(**changes: object) -> CrawlConfig:
    defaults: dict[str, object] = {
        "base_url": BASE,
        "rate": 1000.0,
        "concurrency": 2,
        "backoff_initial_s": 0.01,
        "backoff_jitter_s": 0.0,
    }
    defaults.update(changes)
    return CrawlConfig().with_options(**defaults)


def html(body: bytes = PAGE, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/html", **(headers or {})}, content=body
    )


def site(routes: dict[str, Handler | httpx.Response], log: list[httpx.Request]) -> Handler:
    """A mock site: robots.txt allows all unless routed; unknown paths are 404."""

    def handle(request: httpx.Request) -> httpx.Response:
        log.append(request)
        route = routes.get(request.url.path)
        if route is None:
            if request.url.path == "/robots.txt":
                return httpx.Response(404)
            return httpx.Response(404, headers={"content-type": "text/html"}, content=b"gone")
        return route(request) if callable(route) else route

    return handle


async def fetch_with(
    routes: dict[str, Handler | httpx.Response],
    targets: list[FetchTarget | str],
    cfg: CrawlConfig | None = None,
    clock: FakeTime | None = None,
) -> tuple[list[FetchResult], list[httpx.Request]]:
    cfg = cfg or config()
    clock = clock or FakeTime()
    log: list[httpx.Request] = []
    client = make_client(cfg, transport=httpx.MockTransport(site(routes, log)))
    async with client, Fetcher(cfg, client=client, clock=clock.clock, sleep=clock.sleep) as fetcher:
        results = await fetcher.fetch_batch(targets)
    return results, log


def sequence(*responses: httpx.Response) -> Handler:
    """Answer with each response in turn, then repeat the last one."""
    remaining: Iterator[httpx.Response] = iter(responses)
    last = responses[-1]

    def handle(_: httpx.Request) -> httpx.Response:
        return next(remaining, last)

    return handle


def paths(log: list[httpx.Request]) -> list[str]:
    return [request.url.path for request in log if request.url.path != "/robots.txt"]


@pytest.mark.anyio
async def test_fetch_ok_records_validators_and_hash() -> None:
    page = html(headers={"etag": '"v1"', "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    [result], log = await fetch_with({"/research/a-Abc": page}, [f"{BASE}/research/a-Abc"])
    assert result.ok
    assert result.changed
    assert result.error is None
    assert (result.status, result.body, result.etag) == (200, PAGE, '"v1"')
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.content_sha256 is not None
    assert len(result.content_sha256) == 64
    assert result.attempts == 1
    assert "tressless-research-scraper" in log[-1].headers["user-agent"]


@pytest.mark.anyio
async def test_fetch_conditional_get_304_is_unchanged() -> None:
    target = FetchTarget(
        url=f"{BASE}/research/a-Abc", etag='"v1"', last_modified="x", content_sha256="f" * 64
    )
    [result], log = await fetch_with({"/research/a-Abc": httpx.Response(304)}, [target])
    assert log[-1].headers["if-none-match"] == '"v1"'
    assert log[-1].headers["if-modified-since"] == "x"
    assert result.not_modified
    assert result.unchanged
    assert not result.changed
    assert (result.body, result.content_sha256, result.etag) == (None, "f" * 64, '"v1"')


@pytest.mark.anyio
async def test_fetch_same_hash_is_unchanged() -> None:
    [first], _ = await fetch_with({"/p": html()}, [f"{BASE}/p"])
    again = FetchTarget(url=f"{BASE}/p", content_sha256=first.content_sha256)
    [second], _ = await fetch_with({"/p": html()}, [again])
    assert second.unchanged
    assert not second.not_modified
    assert not second.changed


@pytest.mark.anyio
async def test_fetch_404_not_retried() -> None:
    [result], log = await fetch_with({}, [f"{BASE}/research/gone-Abc"])
    assert (result.status, result.error, result.attempts) == (404, "http-404", 1)
    assert result.gone
    assert not result.ok
    assert paths(log) == ["/research/gone-Abc"]


@pytest.mark.anyio
async def test_fetch_retries_503_honouring_retry_after() -> None:
    clock = FakeTime()
    busy = httpx.Response(503, headers={"retry-after": "7"})
    routes: dict[str, Handler | httpx.Response] = {"/p": sequence(busy, busy, html())}
    [result], log = await fetch_with(routes, [f"{BASE}/p"], clock=clock)
    assert result.ok
    assert result.attempts == 3
    assert paths(log) == ["/p", "/p", "/p"]
    assert sum(1 for s in clock.sleeps if s >= 7) >= 2


@pytest.mark.anyio
async def test_fetch_gives_up_after_retry_budget() -> None:
    routes: dict[str, Handler | httpx.Response] = {"/p": httpx.Response(500)}
    [result], log = await fetch_with(routes, [f"{BASE}/p"], cfg=config(max_attempts=3))
    assert result.error == "http-500 after 3 attempts"
    assert (result.status, result.attempts, len(paths(log))) == (500, 3, 3)


@pytest.mark.anyio
async def test_fetch_timeout_recorded_after_attempts() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    [result], _ = await fetch_with({"/p": slow}, [f"{BASE}/p"], cfg=config(max_attempts=2))
    assert (result.status, result.error, result.attempts) == (None, "timeout after 2 attempts", 2)


@pytest.mark.anyio
async def test_fetch_connection_error_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    [result], _ = await fetch_with({"/p": refuse}, [f"{BASE}/p"], cfg=config(max_attempts=2))
    assert result.error == "connection-error: ConnectError after 2 attempts"


@pytest.mark.anyio
async def test_fetch_retry_after_too_long_gives_up_at_once() -> None:
    routes: dict[str, Handler | httpx.Response] = {
        "/p": httpx.Response(429, headers={"retry-after": "3600"})
    }
    [result], log = await fetch_with(routes, [f"{BASE}/p"])
    assert result.error == "http-429 retry-after 3600s"
    assert result.retry_after_s == 3600
    assert len(paths(log)) == 1


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(days=1), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.anyio
async def test_robots_disallow_honoured() -> None:
    robots = httpx.Response(200, text="User-agent: *\nDisallow: /private\n")
    routes: dict[str, Handler | httpx.Response] = {"/robots.txt": robots, "/private/x": html()}
    [result], log = await fetch_with(routes, [f"{BASE}/private/x"])
    assert result.error == "robots-disallowed"
    assert result.status is None
    assert paths(log) == []


@pytest.mark.anyio
async def test_robots_unreachable_disallows_and_4xx_allows() -> None:
    routes: dict[str, Handler | httpx.Response] = {"/robots.txt": httpx.Response(500), "/p": html()}
    [result], _ = await fetch_with(routes, [f"{BASE}/p"], cfg=config(max_attempts=1))
    assert result.error == "robots-disallowed"
    [allowed], _ = await fetch_with({"/p": html()}, [f"{BASE}/p"])
    assert allowed.ok


@pytest.mark.anyio
async def test_robots_redirects_are_followed_on_the_site_only() -> None:
    # RFC 9309 2.3.1.2: follow robots.txt redirects. A site that moved it (or sends http to
    # https) must not read as "disallow everything"; a hop off the site is never taken.
    moved = httpx.Response(301, headers={"location": "/robots-2025.txt"})
    rules = httpx.Response(200, text="User-agent: *\nDisallow: /private\n")
    routes: dict[str, Handler | httpx.Response] = {
        "/robots.txt": moved,
        "/robots-2025.txt": rules,
        "/p": html(),
        "/private/x": html(),
    }
    results, log = await fetch_with(routes, [f"{BASE}/p", f"{BASE}/private/x"])
    assert [r.error for r in results] == [None, "robots-disallowed"]
    assert [r.url.path for r in log].count("/robots-2025.txt") == 1
    away = httpx.Response(302, headers={"location": "https://elsewhere.example/robots.txt"})
    [result], log = await fetch_with({"/robots.txt": away, "/p": html()}, [f"{BASE}/p"])
    assert result.error == "robots-disallowed"
    assert all(request.url.host == "site.test" for request in log)


@pytest.mark.anyio
async def test_robots_crawl_delay_raises_interval() -> None:
    clock = FakeTime()
    robots = httpx.Response(200, text="User-agent: *\nCrawl-delay: 2\n")
    routes: dict[str, Handler | httpx.Response] = {
        "/robots.txt": robots,
        "/a": html(),
        "/b": html(),
    }
    results, _ = await fetch_with(routes, [f"{BASE}/a", f"{BASE}/b"], clock=clock)
    assert all(result.ok for result in results)
    assert clock.now >= 4.0  # robots.txt, /a, /b: two Crawl-delay waits


@pytest.mark.anyio
async def test_crawl_delay_is_shared_by_shards() -> None:
    clock = FakeTime()
    robots = httpx.Response(200, text="User-agent: *\nCrawl-delay: 2\n")
    routes: dict[str, Handler | httpx.Response] = {"/robots.txt": robots, "/a": html()}
    one_of_two = config(concurrency=2).for_shard(2)
    results, _ = await fetch_with(routes, [f"{BASE}/a"], cfg=one_of_two, clock=clock)
    assert results[0].ok
    assert clock.now >= 4.0  # each of two shards waits twice the delay: the host sees one


@pytest.mark.anyio
async def test_off_site_refused_without_request() -> None:
    [result], log = await fetch_with({}, ["https://elsewhere.example/x"])
    assert result.error == "off-site: elsewhere.example"
    assert log == []


@pytest.mark.anyio
async def test_bad_scheme_refused() -> None:
    [result], log = await fetch_with({}, ["javascript:alert(1)"])
    assert result.error is not None
    assert result.error.startswith("bad-url")
    assert log == []


@pytest.mark.anyio
async def test_redirect_followed_within_site() -> None:
    moved = httpx.Response(301, headers={"location": "/research/new-Abc"})
    routes: dict[str, Handler | httpx.Response] = {"/research/old-Abc": moved}
    routes["/research/new-Abc"] = html()
    [result], _ = await fetch_with(routes, [f"{BASE}/research/old-Abc"])
    assert result.ok
    assert result.final_url == f"{BASE}/research/new-Abc"
    assert [hop.status for hop in result.redirects] == [301]


@pytest.mark.anyio
async def test_redirect_off_site_refused() -> None:
    moved = httpx.Response(302, headers={"location": "https://evil.example/x"})
    [result], log = await fetch_with({"/p": moved}, [f"{BASE}/p"])
    assert result.error == "off-site: evil.example"
    assert all(request.url.host == "site.test" for request in log)


@pytest.mark.anyio
async def test_redirect_loop_stops() -> None:
    loop = httpx.Response(302, headers={"location": "/p"})
    cfg = config(max_redirects=3, max_attempts=2)
    [result], log = await fetch_with({"/p": loop}, [f"{BASE}/p"], cfg=cfg)
    # A loop may be a passing glitch: tried again like other transient trouble, then given up.
    assert result.error == "too-many-redirects after 2 attempts"
    assert result.failure == "transient"
    assert len(paths(log)) == 2 * 4


@pytest.mark.anyio
async def test_damaged_encoding_and_mislabelled_html_are_retried() -> None:
    calls: dict[str, int] = {}

    def flaky(bad: httpx.Response) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            calls[request.url.path] = calls.get(request.url.path, 0) + 1
            return bad if calls[request.url.path] == 1 else html()

        return handler

    not_gzip = httpx.Response(  # a stream: decoded (and failing) only when the fetcher reads
        200,
        headers={"content-type": "text/html", "content-encoding": "gzip"},
        stream=httpx.ByteStream(PAGE),  # not gzip at all
    )
    plain = html(headers={"content-type": "text/plain; charset=utf-8"})
    text = httpx.Response(200, headers={"content-type": "text/plain"}, content=b"just text")
    routes: dict[str, Handler | httpx.Response] = {
        "/gz": flaky(not_gzip),
        "/plain": flaky(plain),
        "/text": text,
    }
    results, _ = await fetch_with(routes, [f"{BASE}/gz", f"{BASE}/plain", f"{BASE}/text"])
    assert [r.error for r in results] == [None, None, "not-html: text/plain"]
    assert [r.attempts for r in results] == [2, 2, 1]
    assert results[0].body == results[1].body == PAGE


@pytest.mark.anyio
async def test_oversize_refused_by_header_and_by_stream() -> None:
    big = b"<html>" + b"x" * 5000

    async def chunks() -> AsyncIterator[bytes]:
        yield big[:3000]
        yield big[3000:]

    def streamed(_: httpx.Request) -> httpx.Response:
        # A generator body is sent without Content-Length: only counting while reading catches it.
        return httpx.Response(200, headers={"content-type": "text/html"}, content=chunks())

    routes: dict[str, Handler | httpx.Response] = {"/declared": html(big), "/streamed": streamed}
    results, _ = await fetch_with(
        routes, [f"{BASE}/declared", f"{BASE}/streamed"], cfg=config(max_body_bytes=4096)
    )
    assert [r.error for r in results] == ["too-large", "too-large"]
    assert all(r.body is None and r.status == 200 for r in results)


@pytest.mark.anyio
async def test_non_html_refused_and_not_kept() -> None:
    pdf = httpx.Response(200, headers={"content-type": "application/pdf"}, content=b"%PDF-1.7")
    bare = httpx.Response(200, content=b"\x89PNG\r\n")
    results, _ = await fetch_with({"/a.pdf": pdf, "/img": bare}, [f"{BASE}/a.pdf", f"{BASE}/img"])
    assert [r.error for r in results] == ["not-html: application/pdf", "not-html: unlabelled"]
    assert all(r.body is None and not r.changed for r in results)


@pytest.mark.anyio
async def test_limiter_spaces_request_starts() -> None:
    # Real time here (20 ms in all): a fake clock cannot order concurrent sleepers faithfully.
    limiter = HostLimiter(rate=200.0, concurrency=3)
    starts: list[float] = []

    async def one() -> None:
        async with limiter.slot():
            starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(5)))
    # Start k is reserved k intervals after the first and a sleeper never wakes early. (A gap
    # between two later starts can shrink on a busy machine, after a late wake-up: the schedule
    # keeps the rate over time, it does not add up lateness.)
    assert all(start - starts[0] >= k * 0.005 - 1e-3 for k, start in enumerate(starts))


def test_limiter_slowdown_and_pause() -> None:
    clock = FakeTime()
    limiter = HostLimiter(rate=2.0, concurrency=1, max_slowdown=4.0, clock=clock.clock)
    limiter.set_crawl_delay(1.0)
    assert limiter.interval == 1.0  # the stricter of 1/rate and Crawl-delay
    for _ in range(5):
        limiter.slow_down()
    assert limiter.interval == 4.0
    limiter.recover()
    assert limiter.interval == 2.0


def test_for_shard_splits_budget() -> None:
    cfg = CrawlConfig(rate=2.0, concurrency=4)
    shard = cfg.for_shard(4)
    assert (shard.rate, shard.concurrency, shard.shards) == (0.5, 1, 4)
    with pytest.raises(ValueError, match="cannot split 4 requests in flight over 5"):
        cfg.for_shard(5)
    assert CrawlConfig().hosts == {"tressless.com", "www.tressless.com"}


@pytest.mark.anyio
async def test_robots_read_again_after_ttl() -> None:
    clock = FakeTime()
    cfg = config(robots_ttl_s=60.0)
    log: list[httpx.Request] = []
    client = make_client(cfg, transport=httpx.MockTransport(site({"/p": html()}, log)))
    async with client, Fetcher(cfg, client=client, clock=clock.clock, sleep=clock.sleep) as fetcher:
        await fetcher.fetch(f"{BASE}/p")
        await fetcher.fetch(f"{BASE}/p")
        clock.now += 61.0
        await fetcher.fetch(f"{BASE}/p")
    assert [r.url.path for r in log].count("/robots.txt") == 2


@pytest.mark.anyio
async def test_in_order_keeps_order_and_runs_at_most_runners_at_once() -> None:
    running, most = 0, 0

    async def work(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001 * (n % 3))  # finish out of order
        running -= 1
        return n * n

    assert await in_order(range(20), work, 3) == [n * n for n in range(20)]
    assert most == 3
    assert await in_order([], work, 3) == []


@pytest.mark.anyio
async def test_in_order_failure_cancels_the_rest() -> None:
    started: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        if n == 2:
            raise ValueError("boom")
        await asyncio.sleep(1.0)
        return n

    with pytest.raises(ExceptionGroup) as caught:
        await in_order(range(50), work, 4)
    assert caught.group_contains(ValueError, match="boom")
    assert len(started) < 50  # the queue was not drained after the failure


@pytest.mark.anyio
async def test_cookies_are_never_sent_back() -> None:
    # A stateless crawl: what one page set cannot change how the next is fetched (or by whom).
    routes: dict[str, Handler | httpx.Response] = {
        "/a": html(headers={"set-cookie": "session=abc; Path=/"}),
        "/b": html(),
    }
    cfg = config()
    log: list[httpx.Request] = []
    client = make_client(cfg, transport=httpx.MockTransport(site(routes, log)))
    async with client, Fetcher(cfg, client=client) as fetcher:
        first = await fetcher.fetch(f"{BASE}/a")
        await fetcher.fetch(f"{BASE}/b")
        with pytest.raises(TypeError, match="keeps no cookies"):
            client.cookies = {"session": "abc"}
    assert ("set-cookie", "session=abc; Path=/") in first.headers  # archived as it came
    assert all("cookie" not in request.headers for request in log)
    assert not client.cookies


@pytest.mark.anyio
async def test_quiet_waits_out_the_last_requests_interval() -> None:
    """`quiet` (which every slot waits through) waits out the host's spacing, no more."""
    clock = FakeTime()
    limiter = HostLimiter(rate=2.0, concurrency=1, clock=clock.clock, sleep=clock.sleep)
    await limiter.quiet()
    assert clock.now == 0.0  # nothing asked yet: nothing to wait for
    async with limiter.slot():
        pass
    await limiter.quiet()
    assert clock.now == 0.5
