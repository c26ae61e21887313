"""Crawl workers (fetch, parse, encode in other processes) and fetching ahead give the warehouse
a plain crawl gives."""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from replica import Replica, ReplicaServer
from scraper import pipeline
from scraper.config import CrawlConfig
from scraper.parallel import (
    CHUNK_TARGETS,
    CrawlWorkers,
    ParsePool,
    ParseWorkerError,
    crawl_in_workers,
)
from scraper.pipeline import CrawlSession, RunReport
from scraper.responses import FetchTarget
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


def test_workers_are_let_go_once_nothing_is_due(server: ReplicaServer, tmp_path: Path) -> None:
    """When no batch is left the workers exit at once, while the run is being closed, and work
    that comes later starts new ones."""

    async def run() -> None:
        config = config_for(server, batch_size=100)
        async with CrawlSession.open(config, tmp_path / "w.duckdb", workers=2) as session:
            await session.discover()
            assert session.workers is not None
            while await session.run_batch(prefetch=True) is not None:
                assert len(multiprocessing.active_children()) == 2
            deadline = time.monotonic() + 10.0
            while multiprocessing.active_children() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert multiprocessing.active_children() == []
            later = [FetchTarget(url=f"{server.base_url}/")]
            fetched = await crawl_in_workers(session.workers, later, session.crawl.crawl_id)
            assert [result.status for result in fetched.results] == [200]
            session.finish()

    asyncio.run(run())


def test_this_process_fetches_until_the_workers_have_started(
    server: ReplicaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the workers are up the crawl process fetches, a chunk at a time; the rest of the
    batch goes to them once they are. The warehouse is the same either way (see
    `test_pipelined_crawl_equals_plain_crawl`); here, who fetched what."""
    answers = iter([False, True])  # the workers are up after the first chunk
    monkeypatch.setattr(CrawlWorkers, "ready", property(lambda _self: next(answers, True)))
    handed: list[int] = []

    async def in_workers(workers: CrawlWorkers, targets: list[FetchTarget], crawl_id: str) -> Any:
        handed.append(len(targets))
        return await crawl_in_workers(workers, targets, crawl_id)

    monkeypatch.setattr(pipeline, "crawl_in_workers", in_workers)

    async def run() -> int:
        config = config_for(server, batch_size=2 * CHUNK_TARGETS)
        async with CrawlSession.open(config, tmp_path / "w.duckdb", workers=2) as session:
            await session.discover()
            first = await session.run_batch()
            assert first is not None
            session.finish()
            return first.fetched

    fetched = asyncio.run(run())
    assert fetched > CHUNK_TARGETS
    assert handed == [fetched - CHUNK_TARGETS]  # one chunk here, the rest in the workers


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


@pytest.mark.slow
def test_a_killed_worker_fails_the_batch_which_is_crawled_again(
    server: ReplicaServer, tmp_path: Path
) -> None:
    """A crawl worker killed mid-batch (the OOM killer, a crash in the parser's C code): the
    batch fails with ParseWorkerError and gives its URLs back; new workers crawl it again."""
    db_path = tmp_path / "killed.duckdb"
    slow = CrawlConfig(base_url=server.base_url, rate=20.0, concurrency=4, batch_size=40)

    async def kill_one_mid_batch() -> RunReport:
        async with CrawlSession.open(slow, db_path, workers=2) as session:
            await session.discover()
            assert session.workers is not None
            while not session.workers.ready:  # until then this process fetches the batches
                await asyncio.sleep(0.05)
            batch = asyncio.ensure_future(session.run_batch())
            await asyncio.sleep(0.5)  # the batch takes ~2 s at 20 requests a second
            victim = next(iter(session.workers._executor._processes.values()))  # test-only
            victim.kill()
            with pytest.raises(ParseWorkerError, match="died"):
                await batch
            claimed = "SELECT count(*) FROM pages WHERE claimed_by IS NOT NULL"
            assert session.con.execute(claimed).fetchall() == [(0,)]  # given back, not kept
            while await session.run_batch() is not None:  # the restarted workers carry on
                pass
            return session.finish()

    report = asyncio.run(kill_one_mid_batch())
    assert report.complete
    unfetched = "SELECT count(*) FROM pages WHERE fetched_at IS NULL AND alias_of IS NULL"
    assert rows(db_path, unfetched) == [(0,)]  # every page but aliases (never fetched)


def test_workers_do_not_load_the_database_engine() -> None:
    """What a spawned worker imports is what it costs to start (and to keep in memory): the
    warehouse's engine is the crawl process's alone."""
    probe = "import sys, scraper.parallel; print(sorted({'duckdb', 'pyarrow'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_workers_leave_out_the_libraries_parts_they_never_use() -> None:
    """httpx's command-line client, tenacity's Tornado support and HTTP/2 are absent in a worker
    (they were a third of its start); the crawl process keeps them."""
    with ParsePool(workers=1) as pool:
        for name in ("httpx._main", "tornado", "h2"):
            with pytest.raises(ModuleNotFoundError):
                pool._executor.submit(importlib.import_module, name).result()  # test-only
    assert importlib.import_module("httpx._main") is not None
