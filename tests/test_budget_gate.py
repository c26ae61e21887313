"""The budget's page gate (`Budget.reserve`, `CrawlSession._fetch_while_allowed`) held to its
promise: a run never makes more requests than `max_requests` and counts exactly the ones it made,
whatever its pages cost (retries, redirect hops, redirect loops, robots.txt that fails); pages
that cannot start are given back unvisited; a stop ends a batch whose pages wait for room."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from replica import Replica, ReplicaServer
from replica.faults import FaultPlan
from scraper import session, shards
from scraper.budget import Budget, requests_of, worst_case_per_page
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.fetcher import Fetcher
from scraper.responses import FetchResult, FetchTarget
from scraper.runs import RunSummary
from tests.crawling import crawl
from tests.test_fetch import BASE, FakeTime, Handler, config, fetch_with, html, sequence

# --- the fetcher counts every request it sends ---------------------------------------------------


def _redirect(location: str) -> httpx.Response:
    return httpx.Response(301, headers={"location": location})


def test_a_page_that_redirects_then_fails_counts_every_hop_of_every_attempt() -> None:
    routes: dict[str, Handler | httpx.Response] = {
        "/a": _redirect(f"{BASE}/b"),
        "/b": httpx.Response(503, headers={"content-type": "text/html"}, content=b"busy"),
    }
    [result], log = asyncio.run(fetch_with(routes, [f"{BASE}/a"], config(max_attempts=3)))
    pages = [r for r in log if r.url.path != "/robots.txt"]
    assert len(pages) == 6  # three attempts of two hops
    assert requests_of(result) == 6


def test_a_page_that_succeeds_after_a_redirected_failure_counts_the_failed_chain() -> None:
    busy = httpx.Response(503, headers={"content-type": "text/html"}, content=b"busy")
    routes: dict[str, Handler | httpx.Response] = {
        "/a": _redirect(f"{BASE}/b"),
        "/b": sequence(busy, html()),
    }
    [result], log = asyncio.run(fetch_with(routes, [f"{BASE}/a"], config(max_attempts=3)))
    assert result.ok
    assert requests_of(result) == len([r for r in log if r.url.path != "/robots.txt"]) == 4


def test_a_redirect_loop_counts_every_hop() -> None:
    routes: dict[str, Handler | httpx.Response] = {"/a": _redirect("/b"), "/b": _redirect("/a")}
    cfg = config(max_attempts=2, max_redirects=3)
    [result], log = asyncio.run(fetch_with(routes, [f"{BASE}/a"], cfg))
    assert result.error is not None
    pages = [r for r in log if r.url.path != "/robots.txt"]
    assert requests_of(result) == len(pages) == worst_case_per_page(cfg) == 8


@pytest.mark.parametrize("answers", [[503, 503, 503], [503, 200]])
def test_robots_txt_reads_are_counted_as_side_results_retries_and_failures_too(
    answers: list[int],
) -> None:
    cfg = config(max_attempts=3)
    robots = sequence(*(httpx.Response(status, text="User-agent: *\n") for status in answers))
    log: list[httpx.Request] = []
    clock = FakeTime()

    def handle(request: httpx.Request) -> httpx.Response:
        log.append(request)
        return robots(request) if request.url.path == "/robots.txt" else html()

    async def run() -> list[FetchResult]:
        client = make_client(cfg, transport=httpx.MockTransport(handle))
        async with client, Fetcher(cfg, client=client, clock=clock.clock, sleep=clock.sleep) as f:
            await f.fetch(f"{BASE}/a")
            return f.take_side_results()

    side = asyncio.run(run())
    made = sum(1 for r in log if r.url.path == "/robots.txt")
    assert made == len(answers)
    assert sum(requests_of(r) for r in side) == made


# --- the gate, page by page (the session's parts it uses, faked) ---------------------------------


class FakeFetcher:
    """Pages that cost what `cost` says, each held until the test lets it end."""

    def __init__(self, budget: Budget, cost: int, runners: int = 4) -> None:
        self.budget = budget
        self.cost = cost
        self.runners = runners
        self.started: list[str] = []
        self.may_end = asyncio.Event()
        self.may_end.set()
        self.peak = 0  # the most requests spent and reserved at once

    async def fetch(self, target: FetchTarget) -> FetchResult:
        self.started.append(target.url)
        self.peak = max(self.peak, self.budget.spent + self.budget.reserved)
        await self.may_end.wait()
        return FetchResult(url=target.url, final_url=target.url, status=200, attempts=self.cost)

    def take_side_results(self) -> list[FetchResult]:
        return []  # no robots.txt reads on the way


def gate(budget: Budget, fetcher: FakeFetcher) -> tuple[SimpleNamespace, list[str]]:
    released: list[str] = []
    parts = SimpleNamespace(
        budget=budget,
        fetcher=fetcher,
        tracker=SimpleNamespace(fetched=lambda result: None),
        release=lambda targets: released.extend(t.url for t in targets),
    )
    return parts, released


def targets(n: int) -> list[FetchTarget]:
    return [FetchTarget(url=f"https://site.test/p{i}") for i in range(n)]


async def fetch_while_allowed(parts: SimpleNamespace, batch: list[FetchTarget]) -> list[str]:
    # A deadlock would hang the test run: give up long after any healthy batch ends.
    gated = session.CrawlSession._fetch_while_allowed(parts, batch)  # type: ignore[arg-type]
    fetched, robots = await asyncio.wait_for(gated, 30)
    assert robots == []
    return [result.url for result in fetched]


@pytest.fixture(autouse=True)
def no_stop() -> Iterator[None]:
    session.clear_stop()
    yield
    session.clear_stop()


@pytest.mark.parametrize("cost", [1, 5, 9])
@pytest.mark.parametrize("limit", [18, 40, 100])
def test_pages_costing_up_to_their_worst_case_never_overrun_the_budget(
    cost: int, limit: int
) -> None:
    settings = CrawlConfig(max_requests=limit, max_attempts=3, max_redirects=2)  # worst case 9
    worst = worst_case_per_page(settings)
    budget = Budget(settings)
    fetcher = FakeFetcher(budget, cost)
    parts, released = gate(budget, fetcher)
    batch = targets(40)
    fetched = asyncio.run(fetch_while_allowed(parts, batch))
    assert budget.spent <= limit - worst  # a robots.txt read's worst case still fits
    assert fetcher.peak <= limit  # every page in flight reserved its worst case and a robots read's
    assert budget.reserved == 0
    assert sorted(fetched + released) == sorted(t.url for t in batch)  # each once, none lost
    assert fetched == fetcher.started
    assert fetched  # the batch was claimable (limit >= 2 worst cases): its first page starts
    if released:  # given back only once not one more worst case fits
        assert limit - budget.spent < 2 * worst


def test_a_stop_ends_a_batch_whose_pages_wait_for_room() -> None:
    settings = CrawlConfig(max_requests=26, max_attempts=3, max_redirects=2)  # room for one page
    budget = Budget(settings)
    fetcher = FakeFetcher(budget, cost=1)
    fetcher.may_end.clear()
    parts, released = gate(budget, fetcher)
    batch = targets(10)

    async def run() -> list[str]:
        batch_task = asyncio.create_task(fetch_while_allowed(parts, batch))
        while not fetcher.started:
            await asyncio.sleep(0)
        for _ in range(10):  # the other runners are waiting for room now
            await asyncio.sleep(0)
        assert len(fetcher.started) == 1
        session.request_stop()
        fetcher.may_end.set()  # the page in flight ends; nothing else may start
        return await batch_task

    fetched = asyncio.run(run())
    assert fetched == [batch[0].url]
    assert released == [t.url for t in batch[1:]]
    assert budget.reserved == 0


def test_a_page_that_raises_gives_its_reservation_back() -> None:
    budget = Budget(CrawlConfig(max_requests=100, max_attempts=1, max_redirects=0))
    fetcher = FakeFetcher(budget, cost=1)

    async def broken(target: FetchTarget) -> FetchResult:
        raise RuntimeError("boom")

    fetcher.fetch = broken  # type: ignore[method-assign]
    parts, _released = gate(budget, fetcher)
    with pytest.raises(ExceptionGroup):
        asyncio.run(fetch_while_allowed(parts, targets(6)))
    assert budget.reserved == 0


def test_scale_out_claims_fit_their_worst_case_beside_each_workers_robots_read() -> None:
    now = datetime.now(UTC)
    for limit in range(1, 200, 7):
        for fetchers in (1, 2, 4):
            settings = CrawlConfig(max_requests=limit, max_attempts=3, max_redirects=2)
            worst = worst_case_per_page(settings)
            claimed = Budget(settings).pages_affordable(1000, now, fetchers=fetchers)
            assert (claimed + fetchers) * worst <= limit or claimed == 0


# --- whole runs against the replica ---------------------------------------------------------------


def on_replica(server: ReplicaServer, **changes: object) -> CrawlConfig:
    """A whole run's settings against `server`: fast, several pages in flight, small batches."""
    return CrawlConfig().with_options(
        base_url=server.base_url, rate=200.0, concurrency=4, batch_size=5, **changes
    )


def crawl_within(server: ReplicaServer, settings: CrawlConfig, db_path: Path) -> RunSummary:
    """A whole run, held to its budget: no more requests reached `server` than the budget, and
    the run counted exactly those."""
    server.clear_log()
    summary = crawl(settings, db_path).report.summary
    made = len(server.request_log)
    assert settings.max_requests is not None
    assert made <= settings.max_requests
    assert summary.requests_counted == summary.requests == made
    return summary


@pytest.fixture(scope="module")
def looping() -> Iterator[ReplicaServer]:
    """Every study page a redirect loop: each costs its full worst case, and fails."""
    replica = Replica(pages=20, seed=5)
    replica.set_faults(
        FaultPlan(rate=0.0, broken=dict.fromkeys(replica.study_paths(), "redirect-loop"))
    )
    with ReplicaServer(replica) as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("limit", [30, 60])
def test_pages_that_loop_through_redirects_never_overrun_the_budget(
    looping: ReplicaServer, tmp_path: Path, limit: int
) -> None:
    settings = on_replica(looping, max_attempts=2, max_redirects=2, max_requests=limit)
    crawl_within(looping, settings, tmp_path / "w.duckdb")


@pytest.fixture(scope="module")
def healthy() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=20, seed=5)) as running:
        yield running


@pytest.mark.slow
def test_pages_a_batch_could_not_start_are_left_due_and_the_next_run_fetches_them(
    healthy: ReplicaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = on_replica(healthy, max_attempts=3, max_redirects=2)
    given_back: list[str] = []
    release = session.CrawlSession.release

    def noting(self: session.CrawlSession, targets: list[FetchTarget]) -> None:
        given_back.extend(target.url for target in targets)
        release(self, targets)

    monkeypatch.setattr(session.CrawlSession, "release", noting)
    db_path = tmp_path / "w.duckdb"
    healthy.clear_log()
    first = crawl(settings.with_options(max_requests=40), db_path).report.summary
    assert given_back  # the last batch's pages that could not start
    assert len(healthy.request_log) == first.requests_counted <= 40
    assert first.pages_failed == 0  # given back unvisited, not failed
    assert first.pages_left_due >= len(given_back)
    rest = crawl(settings, db_path)
    assert rest.complete
    assert rest.report.summary.pages_fetched == first.pages_left_due
    assert rest.report.summary.pages_failed == 0


@pytest.mark.slow
@pytest.mark.parametrize("limit", [40, 70])
def test_robots_reads_in_the_middle_of_batches_are_counted_before_the_next_page_starts(
    healthy: ReplicaServer, tmp_path: Path, limit: int
) -> None:
    # robots.txt good for no time at all: read again on the way of many pages of a batch.
    settings = on_replica(
        healthy, max_attempts=2, max_redirects=1, robots_ttl_s=0.0, max_requests=limit
    )
    crawl_within(healthy, settings, tmp_path / "w.duckdb")
    robots_reads = sum(1 for entry in healthy.request_log if "robots.txt" in str(entry))
    assert robots_reads > 2  # read again within batches, not only at the start


@pytest.mark.slow
def test_each_batch_report_counts_the_requests_its_pages_made(
    looping: ReplicaServer, tmp_path: Path
) -> None:
    settings = on_replica(looping, max_redirects=2, backoff_initial_s=0.01, backoff_jitter_s=0.0)
    looping.clear_log()
    before_batches, batches = asyncio.run(_batch_requests(settings, tmp_path / "w.duckdb"))
    assert len(batches) > 1
    # Every page a redirect loop, tried 3 times: 9 requests each, all in its batch's report.
    assert sum(batches) == len(looping.request_log) - before_batches


async def _batch_requests(settings: CrawlConfig, db_path: Path) -> tuple[int, list[int]]:
    async with session.CrawlSession.open(settings, db_path) as crawl_session:
        await crawl_session.discover()
        before_batches = crawl_session.budget.spent  # robots.txt and the sitemaps
        while await crawl_session.run_batch() is not None:
            pass
        crawl_session.finish()
        return before_batches, [batch.requests for batch in crawl_session.batches]


@pytest.mark.slow
def test_a_scale_out_round_counts_every_request_its_workers_made(
    looping: ReplicaServer, tmp_path: Path
) -> None:
    # Every page a redirect loop: a failed page's hops leave no redirect record in the archive,
    # so counted from the archive a round would spend more than its budget knows.
    settings = on_replica(looping, max_redirects=2, max_requests=1000)
    looping.clear_log()
    spent = asyncio.run(_one_scale_out_round(settings, tmp_path))
    assert spent == len(looping.request_log)


async def _one_scale_out_round(settings: CrawlConfig, tmp_path: Path) -> int:
    async with session.CrawlSession.open(settings, tmp_path / "w.duckdb") as crawl_session:
        await crawl_session.discover()
        specs = shards.plan_round(crawl_session, 2, 1, tmp_path / "staging")
        assert specs
        for spec in specs:
            shards.merge_shard(crawl_session, await shards.fetch_shard(spec))
        spent = crawl_session.budget.spent
        crawl_session.finish()
    return spent


@pytest.mark.slow
@pytest.mark.parametrize("limit", [2, 3, 4, 5, 6])
def test_discovery_fetches_a_level_of_sitemaps_only_as_far_as_the_budget_goes(
    healthy: ReplicaServer, tmp_path: Path, limit: int
) -> None:
    # A request at most per sitemap: the replica's index leads to several urlsets, one level
    # fetched at once unless the budget cuts it into slices.
    settings = on_replica(healthy, max_attempts=1, max_redirects=0, max_requests=limit)
    crawl_within(healthy, settings, tmp_path / "w.duckdb")
