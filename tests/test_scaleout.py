"""Scale-out: shards on a 2-worker Dask cluster give the warehouse a single process gives.

One module-scoped replica and two crawls of it: the reference through `CrawlSession` in this
process, the other through the `scaleout-crawl` flow with a `LocalCluster` of two worker
processes. Plus fast unit tests of the pieces (split, budget, staging round trip).
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from replica import LoggedRequest, Replica, ReplicaServer
from scraper import flows, shards
from scraper.config import CrawlConfig
from scraper.flows.scaleout import dask_runner, scaleout_crawl
from scraper.records import LoadItem, ResearchEntry, Section, StudyPage
from scraper.responses import FetchResult, FetchTarget
from scraper.session import CrawlSession
from tests.warehouse_compare import COMPARED, rows

pytestmark = [
    # Prefect's own API client leaves one socket to its test server open when a flow's event loop
    # (asyncio.run) closes, as in test_flows.py; it is not one of ours.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]

RATE = 60.0  # requests per second for the whole host, shared by the shards
CONCURRENCY = 4
BATCH = 10  # small batches: several rounds, so links found in one round feed the next


@dataclass(frozen=True)
class Crawled:
    reference: Path
    sharded: Path
    staging: Path
    sharded_log: list[LoggedRequest]
    state: Any


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Crawled]:
    root = tmp_path_factory.mktemp("scaleout")
    replica = Replica(pages=40, seed=5)
    with ReplicaServer(replica) as server:
        config = CrawlConfig(
            base_url=server.base_url, rate=RATE, concurrency=CONCURRENCY, batch_size=BATCH
        )
        asyncio.run(_single_process(config, root / "reference.duckdb"))
        server.clear_log()
        state: Any = asyncio.run(
            scaleout_crawl.with_options(task_runner=dask_runner(2))(  # type: ignore[arg-type]
                base_url=server.base_url,
                db=str(root / "sharded.duckdb"),
                staging_dir=str(root / "staging"),
                workers=2,
                rate=RATE,
                concurrency=CONCURRENCY,
                batch_size=BATCH,
                return_state=True,
            )
        )
        yield Crawled(
            reference=root / "reference.duckdb",
            sharded=root / "sharded.duckdb",
            staging=root / "staging",
            sharded_log=server.request_log,
            state=state,
        )


async def _single_process(config: CrawlConfig, db_path: Path) -> None:
    async with CrawlSession.open(config, db_path) as session:
        await session.discover()
        while await session.run_batch() is not None:
            pass
        session.finish()


# --- the 2-worker crawl ---------------------------------------------------------------------------


@pytest.mark.slow
def test_two_worker_crawl_completes(crawled: Crawled) -> None:
    assert crawled.state.is_completed(), crawled.state.message
    finished = rows(crawled.sharded, "SELECT status, pages_failed FROM crawl_runs")
    assert finished == [("completed", 0)]


@pytest.mark.slow
@pytest.mark.parametrize("relation", sorted(COMPARED))
def test_warehouse_equals_single_process_result(crawled: Crawled, relation: str) -> None:
    expected = rows(crawled.reference, COMPARED[relation])
    assert expected, f"the reference crawl left {relation} empty"
    assert rows(crawled.sharded, COMPARED[relation]) == expected


@pytest.mark.slow
def test_every_archived_page_is_indexed_and_staging_is_emptied(crawled: Crawled) -> None:
    indexed = rows(
        crawled.sharded,
        "SELECT count(DISTINCT url) FROM archive_records WHERE url IN (SELECT url FROM pages)",
    )
    fetched = rows(crawled.sharded, "SELECT count(*) FROM pages WHERE fetched_at IS NOT NULL")
    assert indexed == fetched
    assert not list(crawled.staging.glob("*.parquet"))


@pytest.mark.slow
def test_shards_share_the_host_budget(crawled: Crawled) -> None:
    """Two shards at once never make more requests than one crawler at `RATE` may: in any window
    the count stays within RATE x window plus one request per shard (each may start one at the
    window's edge)."""
    times = sorted(entry.at for entry in crawled.sharded_log)
    assert len(times) > 40
    window = 0.5
    start = 0
    for end, moment in enumerate(times):
        while times[start] < moment - window:
            start += 1
        assert end - start + 1 <= RATE * window + 2 + 1  # +1: timestamps taken after answering


@pytest.mark.slow
def test_reparse_on_two_workers_rebuilds_the_same_records(crawled: Crawled, tmp_path: Path) -> None:
    """The archive parsed again on a 2-worker Dask cluster, loaded by the flow: every record
    comes out as the crawl stored it (on a copy: the other tests read the crawled warehouse)."""
    db_path = tmp_path / "sharded.duckdb"
    shutil.copy(crawled.sharded, db_path)
    shutil.copytree(crawled.sharded.parent / "sharded-warc", tmp_path / "sharded-warc")
    before = rows(db_path, COMPARED["studies"])
    state = flows.run_reparse(db=str(db_path), batch_size=10, parse_workers=2)
    assert state.is_completed(), state.message
    assert rows(db_path, COMPARED["studies"]) == before
    reparsed = "SELECT kind, status FROM crawl_runs ORDER BY run_id DESC LIMIT 1"
    assert rows(db_path, reparsed) == [("reparse", "completed")]


class WorkerKiller(threading.Thread):
    """Kills one Dask worker process once its shard is being fetched (the replica has seen
    `after` page requests), as the OOM killer or a crash in the parser's C code would."""

    def __init__(self, server: ReplicaServer, after: int, timeout_s: float = 120.0) -> None:
        super().__init__(name="worker-killer", daemon=True)
        self.server = server
        self.after = after
        self.deadline = time.monotonic() + timeout_s
        self.killed: int | None = None  # the pid killed
        self.pages_before = 0  # page requests the replica had seen at the kill

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            pages = [e for e in self.server.request_log if e.path.startswith("/research/")]
            workers = [p for p in multiprocessing.active_children() if "Dask" in p.name]
            if len(pages) >= self.after and workers:
                workers[0].kill()  # our own child process, by its handle
                self.killed, self.pages_before = workers[0].pid, len(pages)
                return
            time.sleep(0.01)


@pytest.mark.slow
def test_a_killed_worker_loses_nothing(tmp_path: Path, prefect_harness: None) -> None:
    """A Dask worker killed mid-shard: Dask runs the shard again on a live worker (its pages are
    fetched twice), and the crawl completes with every page fetched and recorded."""
    db_path = tmp_path / "killed.duckdb"
    with ReplicaServer(Replica(pages=40, seed=9)) as server:
        # Slow enough that a shard takes seconds: the kill lands while it fetches.
        killer = WorkerKiller(server, after=5)
        killer.start()
        state: Any = asyncio.run(
            scaleout_crawl.with_options(task_runner=dask_runner(2))(  # type: ignore[arg-type]
                base_url=server.base_url,
                db=str(db_path),
                workers=2,
                rate=20.0,
                concurrency=4,
                batch_size=40,
                return_state=True,
            )
        )
        killer.join()
    assert killer.killed is not None, "no worker was killed"
    assert state.is_completed(), state.message
    unfetched = "SELECT count(*) FROM pages WHERE fetched_at IS NULL AND alias_of IS NULL"
    assert rows(db_path, unfetched) == [(0,)]  # every page but aliases (never fetched)
    claimed = "SELECT count(*) FROM pages WHERE claimed_by IS NOT NULL"
    assert rows(db_path, claimed) == [(0,)]
    fetched = rows(db_path, "SELECT count(*) FROM pages WHERE fetched_at IS NOT NULL")[0][0]
    assert killer.pages_before < fetched  # the kill did land mid-crawl


# --- pieces -------------------------------------------------------------------------------------


def test_split_deals_round_robin_and_drops_empty_shards() -> None:
    targets = [FetchTarget(url=f"http://h/{n}") for n in range(5)]
    parts = shards.split(targets, 2)
    assert [[t.url[-1] for t in part] for part in parts] == [["0", "2", "4"], ["1", "3"]]
    assert len(shards.split(targets[:1], 3)) == 1
    with pytest.raises(ValueError, match="at least 1"):
        shards.split(targets, 0)


def test_shard_budget_is_split_not_multiplied() -> None:
    config = CrawlConfig(base_url="http://h", rate=10.0, concurrency=4)
    shard = config.for_shard(2)
    assert shard.rate * 2 == config.rate
    assert shard.concurrency * 2 <= config.concurrency


def test_staging_file_round_trips_visits_and_records(tmp_path: Path) -> None:
    fetched_at = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    page = StudyPage(
        url="http://h/research/a-b12",
        study_id="b12",
        title="A “quoted” title",
        authors=("A. One", "B. Two"),
        sections={
            "cited_research": Section(heading="Cited", shown=1, total=1000, total_text="1000+")
        },
        cited_research=(ResearchEntry(url="http://h/research/c-d34", study_id="d34", citations=3),),
        warnings=("no tldr",),
    )
    changed = FetchResult(
        url=page.url or "",
        final_url=page.url or "",
        status=200,
        etag='"x"',
        content_sha256="ab" * 32,
        bytes=123,
        attempts=1,
        fetched_at=fetched_at,
        content_type="text/html",
    )
    gone = FetchResult(
        url="http://h/research/gone-e56",
        final_url="http://h/research/gone-e56",
        status=404,
        error="http-404",
        failure="http",
        attempts=1,
        fetched_at=fetched_at,
    )
    item = LoadItem(page=page, fetched_url=changed.final_url, fetched_at=fetched_at)
    path = tmp_path / "shard.parquet"
    shards.write_staged(path, [changed, gone], [item, None])
    results, items = shards.read_staged(path)
    assert results == [changed, gone]
    assert items == [item]


def test_reading_a_foreign_file_is_a_staging_error(tmp_path: Path) -> None:
    path = tmp_path / "not.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(shards.StagingError):
        shards.read_staged(path)


def test_every_staged_visit_column_is_a_fetch_result_field() -> None:
    fields = {field.name for field in dataclasses.fields(FetchResult)}
    assert set(shards.STAGED_SCHEMA.names) - {"record"} <= fields
