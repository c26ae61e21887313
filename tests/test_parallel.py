"""Crawl workers (fetch, parse, encode in other processes) and fetching ahead give the warehouse
a plain crawl gives."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scraper.config import CrawlConfig
from scraper.parallel import CHUNK_TARGETS, CrawlWorkers, ParsePool
from scraper.pipeline import CrawlSession, RunReport
from scraper.replica import Replica, ReplicaServer
from tests.warehouse_compare import COMPARED, rows

RATE = 500.0
BATCH = 8  # several batches, so links found in one feed later ones while others are in flight


@dataclass(frozen=True)
class Pair:
    plain: Path
    pipelined: Path
    report: RunReport


@pytest.fixture(scope="module")
def server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=40, seed=9)) as running:
        yield running


def config_for(server: ReplicaServer, batch_size: int = BATCH) -> CrawlConfig:
    return CrawlConfig(base_url=server.base_url, rate=RATE, concurrency=4, batch_size=batch_size)


async def crawl(
    config: CrawlConfig, db_path: Path, *, workers: int, max_batches: int | None = None
) -> RunReport:
    async with CrawlSession.open(config, db_path, workers=workers) as session:
        await session.discover()
        batches = 0
        while max_batches is None or batches < max_batches:
            if await session.run_batch(prefetch=workers > 0) is None:
                break
            batches += 1
        return session.finish()


@pytest.fixture(scope="module")
def pair(server: ReplicaServer, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    root = tmp_path_factory.mktemp("parallel")
    config = config_for(server)
    asyncio.run(crawl(config, root / "plain.duckdb", workers=0))
    report = asyncio.run(crawl(config, root / "pipelined.duckdb", workers=2))
    return Pair(root / "plain.duckdb", root / "pipelined.duckdb", report)


@pytest.mark.slow
@pytest.mark.parametrize("relation", sorted(COMPARED))
def test_pipelined_crawl_equals_plain_crawl(pair: Pair, relation: str) -> None:
    expected = rows(pair.plain, COMPARED[relation])
    assert expected
    assert rows(pair.pipelined, COMPARED[relation]) == expected


@pytest.mark.slow
def test_pipelined_crawl_completes_and_archives_every_page(pair: Pair) -> None:
    assert pair.report.complete
    assert pair.report.summary.status == "completed"
    unindexed = rows(
        pair.pipelined,
        "SELECT count(*) FROM pages WHERE fetched_at IS NOT NULL"
        " AND url NOT IN (SELECT url FROM archive_records)",
    )
    assert unindexed == [(0,)]


@pytest.mark.slow
def test_stopping_with_a_batch_in_flight_gives_its_urls_back(
    server: ReplicaServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "stopped.duckdb"
    config = config_for(server)
    first = asyncio.run(crawl(config, db_path, workers=1, max_batches=1))
    assert not first.complete
    claimed = rows(db_path, "SELECT count(*) FROM pages WHERE claimed_by IS NOT NULL")
    assert claimed == [(0,)]  # the prefetched batch was released, not left claimed
    fetched_once = rows(db_path, "SELECT count(*) FROM pages WHERE fetched_at IS NOT NULL")
    assert fetched_once == [(BATCH,)]
    resumed = asyncio.run(crawl(config, db_path, workers=1))
    assert resumed.complete


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ParsePool(workers=0)
    with pytest.raises(ValueError, match="at least 1"):
        CrawlWorkers(CrawlConfig(base_url="http://h"), workers=0)


@pytest.mark.slow
def test_crawl_workers_share_the_host_budget(tmp_path: Path) -> None:
    """Two workers at once never make more requests than one crawler at `rate` may: in any
    window the count stays within rate x window plus one request per worker (each may start one
    at the window's edge)."""
    rate = 10.0
    with ReplicaServer(Replica(pages=40, seed=5)) as server:
        # Batches of two chunks, so that both workers fetch at once.
        batch = 2 * CHUNK_TARGETS
        config = CrawlConfig(base_url=server.base_url, rate=rate, concurrency=2, batch_size=batch)
        report = asyncio.run(crawl(config, tmp_path / "polite.duckdb", workers=2))
        times = sorted(e.at for e in server.request_log if e.path.startswith("/research/"))
    assert report.complete
    assert len(times) >= 40
    window, start = 1.0, 0
    for end, moment in enumerate(times):
        while times[start] < moment - window:
            start += 1
        assert end - start + 1 <= rate * window + 2 + 1  # +1: timestamps taken after answering
