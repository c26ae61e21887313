"""A crawl run as library calls: discover, then batches of fetch, archive, parse, load, record.

The Prefect flows (`flows/`) only compose these steps, a task per step and per batch:

    async with CrawlSession.open(config, db_path) as session:
        await session.discover()                   robots.txt -> sitemaps, seeds
        while (batch := await session.run_batch()):  one unit of work, committed
            ...
        report = session.finish()                  crawl_runs row, coverage, drift verdict

A batch is loaded before it is recorded in the frontier, so a crash between the two refetches the
batch and reloads it; the load is idempotent, so nothing is duplicated and nothing is lost.

Drift guard: the share of pages on which each field was found is compared, as the run goes, with
the mean of recent completed runs. A field that falls sharply (a layout change the parser does not
know) is protected from then on: the warehouse keeps its last good value instead of a null, the
raw page is archived all the same, and the run ends failed, naming the fields, so that a fixed
parser can `reparse` the archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx

from scraper import db, drift, load, runs
from scraper.archive import Archive
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.crawl import default_archive_dir, discover_into
from scraper.discover import Discovery, links_from_page
from scraper.drift import DriftGuard
from scraper.fetcher import Fetcher
from scraper.frontier import Crawl, Frontier
from scraper.parallel import (
    CHUNK_TARGETS,
    CrawlWorkers,
    FetchedBatch,
    crawl_in_workers,
    parse_and_encode,
    parse_results,
)
from scraper.parse import PARSER_VERSION, parse_study
from scraper.records import LoadItem
from scraper.responses import FetchResult, FetchTarget
from scraper.schedule import Outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchReport:
    """What one batch did."""

    number: int
    outcomes: Counter[Outcome]
    not_modified: int  # answered 304
    requests: int
    wire_bytes: int
    failures: tuple[tuple[str, str], ...]  # (url, reason) of pages that failed or were refused
    load: load.LoadStats
    protected: tuple[str, ...]  # fields the drift guard kept from being overwritten

    @property
    def fetched(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True, slots=True)
class _InFlight:
    """A claimed batch whose fetching has started."""

    targets: tuple[FetchTarget, ...]
    task: asyncio.Future[FetchedBatch]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """How a run ended: the `crawl_runs` row, plus what the monitoring shows."""

    run_id: int
    crawl_id: str
    summary: runs.RunSummary
    complete: bool  # nothing due is left in the crawl
    coverage: dict[str, float]
    baseline: dict[str, float]
    drifted: dict[str, tuple[float, float]]

    @property
    def failed(self) -> bool:
        return self.summary.status == "failed"


class CrawlSession:
    """One run of the crawl flow: the single writer of the warehouse and the crawl state."""

    def __init__(
        self,
        config: CrawlConfig,
        con: duckdb.DuckDBPyConnection,
        archive: Archive,
        fetcher: Fetcher,
        *,
        full: bool = False,
        flow_run_id: str | None = None,
        workers: CrawlWorkers | None = None,
    ) -> None:
        self.config = config
        self.con = con
        self.archive = archive
        self.fetcher = fetcher
        self.workers = workers
        self._next: _InFlight | None = None  # a batch claimed and fetching ahead (prefetch)
        self.frontier = Frontier(con, config)
        self.crawl: Crawl = self.frontier.begin_crawl(full=full)
        self.started = time.monotonic()
        runs.close_interrupted_runs(con, datetime.now(UTC))  # runs of a process that was killed
        self.run_id = runs.start_run(
            con,
            started_at=datetime.now(UTC),
            base_url=config.base_url,
            parser_version=PARSER_VERSION,
            flow_run_id=flow_run_id,
        )
        self.drift = DriftGuard(baseline=drift.baseline_coverage(con, before_run=self.run_id))
        self.batches: list[BatchReport] = []
        self.discovery_bytes = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        config: CrawlConfig,
        db_path: str | Path,
        *,
        archive_dir: str | Path | None = None,
        full: bool = False,
        flow_run_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        workers: int = 0,
        memory_limit: str | None = None,
    ) -> AsyncIterator[CrawlSession]:
        """Open the warehouse (as its one writer), the archive and the HTTP client.

        `workers` > 0 fetches, parses and encodes WARC in that many worker processes sharing
        the host's budget (`scraper.parallel`), and lets `run_batch(prefetch=True)` overlap
        batches: worth it only when politeness allows more pages a second than one core
        handles. This process then only stores, and fetches during discovery and while the
        workers start.

        `memory_limit` (DuckDB's, e.g. "512MB") caps the blocks DuckDB keeps cached: by default
        it may keep most of the database in memory, so the process grows with the warehouse.
        """
        # The workers first: they start (a fresh interpreter each) while the rest opens.
        pool = CrawlWorkers(config, workers=workers) if workers else None
        try:
            con = db.connect(
                db_path, config={"memory_limit": memory_limit} if memory_limit else None
            )
            try:
                directory = Path(archive_dir) if archive_dir else default_archive_dir(Path(db_path))
                with Archive(directory, con, config) as archive:
                    client = make_client(config, transport=transport)
                    async with client, Fetcher(config, client=client) as fetcher:
                        session = cls(
                            config,
                            con,
                            archive,
                            fetcher,
                            full=full,
                            flow_run_id=flow_run_id,
                            workers=pool,
                        )
                        try:
                            yield session
                        finally:
                            await session.drop_prefetched()
            finally:
                con.close()
        finally:
            if pool is not None:
                pool.close()

    async def discover(self) -> int:
        """Seeds and sitemaps into the frontier (once per crawl). Returns the new URLs."""
        self.crawl, added, _errors, wire = await discover_into(
            self.fetcher, self.frontier, self.archive, self.crawl
        )
        self.archive.append(self.fetcher.take_side_results(), crawl_id=self.crawl.crawl_id)
        self.discovery_bytes += wire
        return added

    async def run_batch(self, *, prefetch: bool = False) -> BatchReport | None:
        """Claim, fetch, archive, parse, load and record one batch; None when nothing is due.

        With crawl workers, `prefetch` claims the next batch and starts it in the workers
        before this one is stored, and stores this one in a thread, so the
        event loop keeps fetching while DuckDB and the WARC writer work. Leave it off when no
        further batch is wanted (`max_pages`): a prefetched batch is fetched.
        """
        current, self._next = self._next, None
        if current is None:
            targets = self.frontier.due(self.crawl)
            if not targets:
                if self.workers is not None:
                    self.workers.release()  # they exit while the run is closed
                return None
            current = self._launch(targets)
        try:
            batch = await current.task
        except BaseException:
            current.task.cancel()
            self.frontier.release(self.crawl, [target.url for target in current.targets])
            raise
        if prefetch and self.workers is not None:
            upcoming = self.frontier.due(self.crawl)
            self._next = self._launch(upcoming) if upcoming else None
        try:
            if self._next is None:
                return self._store(batch)
            return await self._store_beside(batch)
        except BaseException:
            self.frontier.release(self.crawl, [target.url for target in batch.targets])
            await self.drop_prefetched()
            raise

    def _launch(self, targets: Sequence[FetchTarget]) -> _InFlight:
        return _InFlight(tuple(targets), asyncio.ensure_future(self._fetch(targets)))

    async def _fetch(self, targets: Sequence[FetchTarget]) -> FetchedBatch:
        if self.workers is None:
            results = await self.fetcher.fetch_batch(targets)
            side = self.fetcher.take_side_results()  # robots.txt read on the way
            return FetchedBatch(targets=tuple(targets), results=results, side=side)
        # Until the workers are up (one takes ~0.5 s to start, about as long as a recrawl's batch
        # of 304s), this process fetches, a chunk at a time and with the whole budget; the rest
        # of the batch goes to them as soon as they are.
        here: list[FetchResult] = []
        while len(here) < len(targets) and not self.workers.ready:
            here += await self.fetcher.fetch_batch(targets[len(here) : len(here) + CHUNK_TARGETS])
        side = self.fetcher.take_side_results()
        crawl_id = self.crawl.crawl_id
        rest = targets[len(here) :]
        if rest:
            await self.fetcher.quiet()  # the host sees no burst as the workers take over
        prepared, fetched = await asyncio.gather(
            asyncio.to_thread(parse_and_encode, here, self.config, crawl_id),
            crawl_in_workers(self.workers, rest, crawl_id),
        )
        parsed, encoded = prepared
        return FetchedBatch(
            targets=tuple(targets),
            results=[*here, *fetched.results],
            side=[*side, *fetched.side],
            parsed=[*parsed, *(fetched.parsed or ())],
            encoded=[*encoded, *(fetched.encoded or ())],
        )

    def _store(self, batch: FetchedBatch) -> BatchReport:
        if batch.encoded is None:
            self.archive.append([*batch.side, *batch.results], crawl_id=self.crawl.crawl_id)
        else:
            self.archive.append(batch.side, crawl_id=self.crawl.crawl_id)
            self.archive.append_encoded(batch.encoded)
        if batch.parsed is None:
            return self.merge(batch.results, parse_results(batch.results))
        items = [parsed.item for parsed in batch.parsed]
        return self.merge(batch.results, items, links=[parsed.links for parsed in batch.parsed])

    async def _store_beside(self, batch: FetchedBatch) -> BatchReport:
        """`_store` in a thread. The connection must never be used by two threads at once, so a
        caller cancelled meanwhile still waits for the thread before anything else runs."""
        stored = asyncio.ensure_future(asyncio.to_thread(self._store, batch))
        try:
            return await asyncio.shield(stored)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await stored
            raise

    async def drop_prefetched(self) -> None:
        """Stop a batch fetching ahead and give its URLs back unvisited."""
        pending, self._next = self._next, None
        if pending is None:
            return
        pending.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pending.task
        self.frontier.release(self.crawl, [target.url for target in pending.targets])

    def merge(
        self,
        results: Sequence[FetchResult],
        items: Sequence[LoadItem],
        *,
        links: Sequence[Discovery] | None = None,
    ) -> BatchReport:
        """The single writer's half of a batch: load the parsed pages, add their links, record
        the visits. `results` are already archived (and indexed); `items` are their parsed pages,
        parsed here, by a parse worker or by a shard worker (`scraper.shards`); `links` their
        links when the worker found them already."""
        protected = self.drift.observe([item.page for item in items])
        now = datetime.now(UTC)
        stats = load.load_pages(
            self.con, items, observed_at=now, run_id=self.run_id, protect_fields=protected
        )
        unchanged = [r.url for r in results if r.ok and r.unchanged]
        if unchanged:
            load.touch_unchanged(self.con, unchanged, now, run_id=self.run_id)
        gone = [r.url for r in results if r.gone]
        if gone:
            load.mark_removed(self.con, gone, now)
        if links is None:
            links = [links_from_page(item.page, self.config) for item in items]
        if links:
            self.frontier.add(functools.reduce(Discovery.merge, links))  # one transaction
        outcomes = self.frontier.record(self.crawl, results)
        report = BatchReport(
            number=len(self.batches) + 1,
            outcomes=Counter(outcomes),
            not_modified=sum(r.not_modified for r in results),
            requests=sum(r.attempts for r in results),
            wire_bytes=sum(r.bytes for r in results),
            failures=tuple(
                (r.url, r.error or "unknown")
                for r, o in zip(results, outcomes, strict=True)
                if o in ("failed", "refused")
            ),
            load=stats,
            protected=protected,
        )
        self.batches.append(report)
        return report

    def progress(self) -> float:
        """Share of this crawl's pages done, 0..100."""
        stats = self.frontier.stats(self.crawl)
        total = stats.visited + stats.remaining
        return 100.0 * stats.visited / total if total else 100.0

    def finish(self, *, error: str | None = None) -> RunReport:
        """Close the run: the crawl state, the `crawl_runs` row and this run's field coverage."""
        if self._next is not None:  # a batch fetching ahead that nobody will store
            self._next.task.cancel()
            self.frontier.release(self.crawl, [target.url for target in self._next.targets])
            self._next = _InFlight((), self._next.task)  # awaited when the session closes
        complete = self.frontier.stats(self.crawl).remaining == 0
        if complete:
            self.frontier.finish_crawl(self.crawl)
        coverage = self.drift.coverage()
        if coverage:
            drift.record_coverage(self.con, self.run_id, coverage, self.drift.pages)
        drifted = dict(self.drift.drifted)
        if drifted and error is None:
            error = "layout drift: coverage fell for " + ", ".join(
                f"{name} ({before:.0%} -> {now:.0%})" for name, (before, now) in drifted.items()
            )
        summary = self._summary(error)
        runs.finish_run(self.con, self.run_id, summary)
        return RunReport(
            run_id=self.run_id,
            crawl_id=self.crawl.crawl_id,
            summary=summary,
            complete=complete,
            coverage=coverage,
            baseline=self.drift.baseline,
            drifted=drifted,
        )

    def _summary(self, error: str | None) -> runs.RunSummary:
        outcomes: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for batch in self.batches:
            outcomes.update(batch.outcomes)
            reasons.update(reason for _url, reason in batch.failures)
        return runs.RunSummary(
            finished_at=datetime.now(UTC),
            status="failed" if error else "completed",
            pages_fetched=sum(batch.fetched for batch in self.batches),
            pages_new=outcomes["new"],
            pages_changed=outcomes["changed"],
            pages_unchanged=outcomes["unchanged"],
            pages_not_modified=sum(batch.not_modified for batch in self.batches),
            pages_failed=outcomes["failed"] + outcomes["refused"],
            pages_removed=outcomes["gone"],
            requests=sum(batch.requests for batch in self.batches),
            bytes_received=self.discovery_bytes + sum(b.wire_bytes for b in self.batches),
            duration_s=time.monotonic() - self.started,
            failure_reasons=dict(reasons),
            drifted_fields=tuple(sorted(self.drift.drifted)),
            error=error,
        )


# --- reparse: rebuild the records from the archive, without the network -------------------------
def reparse_batches(archive: Archive, batch_size: int) -> Iterable[list[LoadItem]]:
    """The newest archived body of every page, parsed by the current parser, in batches."""
    batch: list[LoadItem] = []
    for response in archive.iter_latest():
        page = parse_study(response.body, response.target_uri)
        batch.append(
            LoadItem(page=page, fetched_url=response.target_uri, fetched_at=response.fetched_at)
        )
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_reparsed(
    con: duckdb.DuckDBPyConnection, items: Sequence[LoadItem], run_id: int
) -> load.LoadStats:
    """Replace the stored records of a reparsed batch (history keyed by fetch time: no repeats)."""
    return load.load_pages(con, items, observed_at=datetime.now(UTC), run_id=run_id, reparse=True)
