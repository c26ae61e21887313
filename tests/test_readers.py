"""Readers during a crawl: the crawl holds the warehouse only to claim and to load, so a reader in
another process gets in between; a reader that holds the file for several batches delays loads,
never fetching, and every fetched page is loaded once it lets go; a spool left behind by a run
that ended without loading it is loaded by the next run, once.

Readers run in child processes: DuckDB shares one database instance between the connections of
a process, so a reader in the crawl's own process would not meet the lock at all.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from replica import Replica, ReplicaServer
from scraper.config import CrawlConfig
from scraper.report import BatchReport, RunReport, summary_markdown, terminal_summary
from scraper.session import CrawlSession
from scraper.spool import Spool, default_spool_dir

PAGES = 20

# Polls the warehouse read-only (as `scraper sql` does) until stdin closes; prints its tally.
POLLER = """
import json, sys, threading, time
from scraper import access
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
answered, refused, longest = 0, [], 0.0
print("polling", flush=True)
while not stop.is_set():
    started = time.monotonic()
    try:
        con = access.open_reader(sys.argv[1])
        con.execute("SELECT count(*) FROM pages").fetchall()
        con.close()
        answered += 1
    except Exception as exc:
        refused.append(str(exc))
    longest = max(longest, time.monotonic() - started)
    time.sleep(0.05)
print(json.dumps({"answered": answered, "refused": refused, "longest": longest}), flush=True)
"""

# Takes the warehouse read-only as soon as it can and holds it until stdin closes.
HOLDER = """
import sys, time, duckdb
while True:
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        break
    except duckdb.IOException:
        time.sleep(0.01)
print("holding", flush=True)
sys.stdin.read()
con.close()
"""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with ReplicaServer(Replica(pages=PAGES, seed=7)) as server:
        yield server.base_url


def config(base_url: str) -> CrawlConfig:
    return CrawlConfig(
        base_url=base_url,
        rate=100.0,
        concurrency=2,
        batch_size=5,
        backoff_initial_s=0.01,
        backoff_jitter_s=0.01,
    )


def child(script: str, db_path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() in ("polling", "holding")
    return process


def let_go(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(input="", timeout=30)
    return out


def visits(db_path: Path) -> dict[str, int]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute("SELECT url, visits FROM pages WHERE visits > 0").fetchall()
    return dict(rows)


async def batches_until_done(session: CrawlSession, most: int = 50) -> list[BatchReport]:
    done = []
    for _ in range(most):
        batch = await session.run_batch()
        if batch is None:
            break
        done.append(batch)
    return done


def test_a_reader_polling_during_a_crawl_is_answered_every_time(site: str, tmp_path: Path) -> None:
    db_path = tmp_path / "w.duckdb"

    async def crawl() -> None:
        async with CrawlSession.open(config(site), db_path) as session:
            poller = child(POLLER, db_path)
            try:
                await session.discover()
                await batches_until_done(session)
                session.finish()
            finally:
                tally.update(json.loads(let_go(poller)))

    tally: dict[str, object] = {}
    asyncio.run(crawl())
    assert tally["refused"] == []
    assert isinstance(tally["answered"], int)
    assert tally["answered"] >= 3
    assert len(visits(db_path)) >= PAGES


def test_a_reader_holding_the_warehouse_delays_loads_not_fetching(
    site: str, tmp_path: Path
) -> None:
    db_path = tmp_path / "w.duckdb"

    async def crawl() -> tuple[list[BatchReport], list[BatchReport]]:
        async with CrawlSession.open(config(site), db_path) as session:
            await session.discover()
            first = await session.run_batch()
            assert first is not None
            assert first.pending == 0
            holder = child(HOLDER, db_path)
            try:
                held = [await session.run_batch() for _ in range(3)]
            finally:
                let_go(holder)
            waited = [batch for batch in held if batch is not None]
            rest = await batches_until_done(session)
            report = session.finish()
            fetched = [first.fetched, *(b.fetched for b in waited), *(b.fetched for b in rest)]
            assert report.summary.pages_fetched == sum(fetched)
            return waited, session.batches

    held, batches = asyncio.run(crawl())
    assert [b.pending for b in held] == [5, 5, 5]  # fetched while the reader held the file
    assert all(b.pending == 0 for b in batches)  # ... and loaded once it let go
    seen = visits(db_path)
    assert len(seen) >= PAGES
    assert set(seen.values()) == {1}  # every page loaded, none twice
    assert Spool(default_spool_dir(db_path)).pending() == []


def test_a_spool_left_behind_is_loaded_by_the_next_run_once(site: str, tmp_path: Path) -> None:
    db_path = tmp_path / "w.duckdb"
    spool = Spool(default_spool_dir(tmp_path / "w.duckdb"))
    kept = tmp_path / "kept"

    async def interrupted() -> None:
        # The run ends while a reader holds the file, without `finish`: as if it were killed
        # with its last batches spooled.
        async with CrawlSession.open(config(site), db_path) as session:
            await session.discover()
            await session.run_batch()  # claims ahead, loads its own batch
            holder = child(HOLDER, db_path)
            try:
                for _ in range(2):
                    await session.run_batch()
                shutil.copytree(spool.directory, kept)
            finally:
                let_go(holder)

    async def resumed() -> RunReport:
        async with CrawlSession.open(config(site), db_path) as session:
            assert spool.pending() == []  # loaded on opening, before anything else
            assert sum(visits(db_path).values()) == 15
            await batches_until_done(session)
            return session.finish()

    asyncio.run(interrupted())
    assert len(spool.pending()) == 2
    assert sum(visits(db_path).values()) == 5
    report = asyncio.run(resumed())
    # the run report says what it loaded for the run that fetched it, apart from its own pages
    assert (report.spool.inherited_batches, report.spool.inherited_pages) == (2, 10)
    assert report.spool.inherited_from == (1,)
    assert report.summary.pages_fetched == sum(visits(db_path).values()) - 15
    assert terminal_summary(report).endswith("; loaded 2 batches (10 pages) left by run 1")
    assert "Spool: loaded 2 batches (10 pages) left by run 1" in summary_markdown(report)
    # The same batches again, as a crash between recording them and removing their files leaves
    # them: recorded visits are not counted twice.
    shutil.rmtree(spool.directory)
    shutil.copytree(kept, spool.directory)
    before = visits(db_path)

    async def again() -> None:
        async with CrawlSession.open(config(site), db_path) as session:
            session.finish()

    asyncio.run(again())
    assert visits(db_path) == before
    assert set(before.values()) == {1}
    assert len(before) >= PAGES


def test_an_unreadable_spooled_batch_is_set_aside_and_its_pages_fetched_again(
    site: str, tmp_path: Path
) -> None:
    db_path = tmp_path / "w.duckdb"
    spool = Spool(default_spool_dir(db_path))

    async def interrupted() -> None:
        async with CrawlSession.open(config(site), db_path) as session:
            await session.discover()
            await session.run_batch()
            holder = child(HOLDER, db_path)
            try:
                await session.run_batch()
            finally:
                let_go(holder)

    async def resumed() -> RunReport:
        async with CrawlSession.open(config(site), db_path) as session:
            await batches_until_done(session)
            return session.finish()

    asyncio.run(interrupted())
    (waiting,) = spool.pending()
    waiting.visits.write_bytes(b"not parquet")  # a disk that lost the file's blocks
    report = asyncio.run(resumed())
    assert report.spool.set_aside == 1
    assert "; set aside 1 unreadable batch" in terminal_summary(report)
    seen = visits(db_path)
    assert set(seen.values()) == {1}
    assert len(seen) >= PAGES
    assert spool.pending() == []
    assert list(spool.directory.glob("*.unreadable"))


def test_an_unreadable_batch_of_this_run_is_fetched_again_in_this_run(
    site: str, tmp_path: Path
) -> None:
    db_path = tmp_path / "w.duckdb"
    spool = Spool(default_spool_dir(db_path))

    async def crawl_with_a_lost_batch() -> tuple[RunReport, BatchReport]:
        async with CrawlSession.open(config(site), db_path) as session:
            await session.discover()
            await session.run_batch()  # claims the next targets ahead
            holder = child(HOLDER, db_path)
            try:
                lost = await session.run_batch()  # spooled: the reader holds the file
            finally:
                let_go(holder)
            assert lost is not None
            (waiting,) = spool.pending()
            waiting.visits.write_bytes(b"not parquet")
            await batches_until_done(session)  # its URLs were given back: fetched again now
            return session.finish(), session.batches[lost.number - 1]

    report, lost = asyncio.run(crawl_with_a_lost_batch())
    assert report.complete
    # the lost batch's traffic stays in the report; its pages are counted when fetched again
    assert (lost.pending, lost.fetched) == (0, 0)
    assert lost.wire_bytes > 0
    assert report.summary.bytes_received >= lost.wire_bytes
    assert (report.spool.set_aside, report.spool.set_aside_pages) == (1, 5)
    assert terminal_summary(report).endswith(
        "; set aside 1 unreadable batch, 5 pages fetched again"
    )
    seen = visits(db_path)
    assert set(seen.values()) == {1}
    assert len(seen) >= PAGES
    assert len(list(spool.directory.glob("*.unreadable"))) == 2  # visits and index, kept apart
