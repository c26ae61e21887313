"""A crawl run as library calls, its stages in the order data moves through them:

    discover -> due -> fetch -> archive -> parse -> load -> record

    async with CrawlSession.open(config, db_path) as session:
        await session.discover()                     robots.txt -> sitemaps, seeds (once a crawl)
        while (batch := await session.run_batch()) is not None:
            ...                                      one batch: due, fetch, archive, parse, load,
                                                     record; committed
        report = session.finish()                    crawl_runs row, coverage, drift verdict

The Prefect flows (`scraper.flows`), the tests and the scale-out all go through this session. The
scale-out (`scraper.shards`) claims its URLs here (`claims.claim`, as a batch does), has shards
fetched, archived and parsed on other workers, and hands what they bring back to `merge`: the
same load and record as a batch.

A batch is loaded before it is recorded in the frontier, so a crash between the two refetches the
batch and reloads it; the load is idempotent, so nothing is duplicated and nothing is lost.

The session holds the warehouse only while it needs it (`scraper.access`), so that readers get in
between its writes. It claims the next hour or so of targets at once and keeps them in memory
(`scraper.claims`); a fetched batch goes to the spool (`scraper.spool`) and is loaded at once if
the file is free, else with the next batch that finds it free. A reader holding the file therefore
delays loads, never fetching, and a spool a crash left behind is loaded by the next run before
anything else.

Each batch also feeds the run's drift guard (`scraper.drift`): a field whose coverage falls
sharply keeps its last good value in the warehouse, and the run ends failed, naming the fields.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing, asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import cast

import duckdb
import httpx

from scraper import archive, db, drift, load, runs
from scraper.access import PATIENT_LOG_S, WriteAccess
from scraper.archive import Archive
from scraper.budget import Budget, requests_of
from scraper.claims import ClaimQueue, claim
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.discover import Discovery, keyword_listings, links_from_item, seeds, sitemap_steps
from scraper.drift import DriftGuard
from scraper.fetcher import Fetcher, in_order
from scraper.frontier import Crawl, Frontier, Leftover
from scraper.listing_load import load_listings
from scraper.parse import PARSER_VERSION, parse_result
from scraper.progress import RunProgress
from scraper.records import LoadItem
from scraper.report import BatchReport, RunReport, SpoolNote, drift_message
from scraper.responses import FetchResult, FetchTarget
from scraper.schedule import Signature
from scraper.shards import StagingError
from scraper.spool import Spool, SpooledBatch, default_spool_dir
from scraper.warc import ArchivedResponse, ArchiveEntry

log = logging.getLogger(__name__)

# A stop asked for by a signal (SIGTERM, Ctrl-C) or a cancellation: set from a signal handler, so
# a threading.Event (safe there) rather than asyncio's. Process-wide, as signals are.
_stop = threading.Event()


def request_stop() -> None:
    """Ask the running crawl to stop after the requests in flight (safe in a signal handler)."""
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def clear_stop() -> None:
    """Forget a stop request: a new run starts (tests run several in one process)."""
    _stop.clear()


# After a batch, how long the crawl tries for the warehouse before it spools the batch and goes on
# fetching: long enough for a reader's quick query to end, short against a batch's minute.
CATCH_UP_WAIT_S = 0.25
# A resumed crawl whose sitemaps were read longer ago than this reads them again.
REDISCOVER_AFTER = timedelta(hours=1)
READER_RETRY_S = 5.0  # how soon a waiting run tries again for a warehouse a reader holds
# How long opening a crawl waits for readers. The run's lease (`scraper.lease`) already keeps
# other crawls out, so what holds the file here is a reader: an export or a notebook's query.
OPEN_WAIT_S = 60.0


def default_archive_dir(db_path: Path) -> Path:
    """`<db dir>/<db name>-warc/`: the archive lives next to the database it is indexed in."""
    return db_path.parent / f"{db_path.stem}-warc"


class CrawlSession:
    """One crawl run: the single writer of the warehouse and the crawl state."""

    def __init__(
        self,
        config: CrawlConfig,
        access: WriteAccess,
        archive: Archive,
        fetcher: Fetcher,
        spool: Spool,
        *,
        full: bool = False,
        flow_run_id: str | None = None,
    ) -> None:
        """Begin (or resume) the crawl and its run; call inside `access.hold()`."""
        self.config = config
        self.access = access
        self.archive = archive
        self.fetcher = fetcher
        self.spool = spool
        con = self.con
        self.crawl: Crawl = self.frontier.begin_crawl(full=full)  # resumes an interrupted crawl
        self.started = time.monotonic()
        runs.close_interrupted_runs(con, self.config.clock())  # runs of a process that was killed
        self.run_id = runs.start_run(
            con,
            started_at=self.config.clock(),
            base_url=config.base_url,
            parser_version=PARSER_VERSION,
            flow_run_id=flow_run_id,
            crawl_id=self.crawl.crawl_id,
        )
        baseline = drift.baseline_coverage(con, before_run=self.run_id)
        self.drift = DriftGuard(
            baseline=baseline,
            inherited=drift.inherited_drift(con, baseline, before_run=self.run_id),
        )
        self.batches: list[BatchReport] = []
        self.discovery_bytes = 0
        self.discovery_errors: list[str] = []  # sitemaps that could not be read
        self.tracker = RunProgress()  # what people watching see, page by page
        self.sitemaps_served = False  # a sitemap named a study, or answered 304 (it did before)
        self.budget = Budget(config)  # requests spent, and what ends the run early
        # robots.txt reads of the discovery, counted as they happen, archived when it ends
        self._robots_reads: list[FetchResult] = []
        self._discovery_cut = False  # the budget ended the sitemaps' reading early
        self._claims = ClaimQueue(config)  # claimed, not fetched yet
        # spooled batch -> its number in this run and its claimed URLs (another run's: absent)
        self._spooled_here: dict[int, tuple[int, list[str]]] = {}
        self._progress = 0.0
        self.spooled = SpoolNote()  # batches left by earlier runs, or set aside, for the report
        self._load_spooled()  # what a killed run fetched and could not load

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The warehouse connection; only while it is held (`warehouse()`)."""
        return self.access.con

    @property
    def frontier(self) -> Frontier:
        return Frontier(self.con, self.config)

    @contextmanager
    def warehouse(self, *, wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the warehouse for the block (reentrant); `wait_s` as `WriteAccess.hold`."""
        with self.access.hold(wait_s=wait_s) as con:
            self.archive.con = con
            yield con

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
        memory_limit: str | None = None,
    ) -> AsyncIterator[CrawlSession]:
        """Open the warehouse (as its one writer), the archive and the HTTP client.

        `memory_limit` (DuckDB's, e.g. "512MB") caps the blocks DuckDB keeps cached: by default
        it may keep most of the database in memory, so the process grows with the warehouse.
        """
        access = WriteAccess(
            db_path, config={"memory_limit": memory_limit} if memory_limit else None
        )
        spool = Spool(default_spool_dir(Path(db_path)))
        directory = Path(archive_dir) if archive_dir else default_archive_dir(Path(db_path))
        client = make_client(config, transport=transport)
        async with client, Fetcher(config, client=client) as fetcher:
            # Fails soon if another crawl holds the file; a reader's query gets time to end.
            with access.hold(wait_s=OPEN_WAIT_S) as con:
                archive_ = Archive(directory, con, config)
                try:
                    session = cls(
                        config, access, archive_, fetcher, spool, full=full, flow_run_id=flow_run_id
                    )
                except BaseException:
                    archive_.close()
                    raise
            with archive_:
                yield session

    # --- discover -------------------------------------------------------------------------------
    async def discover(self) -> int:
        """Seeds and sitemaps into the frontier, once per crawl (again if a crash cut it short,
        and again when a run resumes a crawl discovered over `REDISCOVER_AFTER` ago: a full pass
        carried on by hourly runs for most of a day still takes in new studies within the hour).
        Returns the number of new URLs."""
        if self.crawl.discovered and not self._rediscovery_due():
            return 0
        with self.warehouse():
            added = self.frontier.add(seeds(self.config)).new
        if self.config.use_sitemaps:
            added += await self._read_sitemaps()
        with self.warehouse():
            if self._wants_listings():
                added += self.frontier.add(keyword_listings(self.config)).new
            self._count_robots_reads()
            self.archive.append(self._robots_reads, crawl_id=self.crawl.crawl_id)
            self._robots_reads = []
            self.crawl = self.frontier.mark_discovered(self.crawl)
        return added

    def _rediscovery_due(self) -> bool:
        if not self.crawl.resumed:
            return False
        with self.warehouse():
            discovered_at = self.frontier.discovered_at(self.crawl.crawl_id)
        return discovered_at is None or self.config.clock() - discovered_at >= REDISCOVER_AFTER

    def _wants_listings(self) -> bool:
        """Seed the keywords' research listings: when asked to, or (by default) when sitemap
        discovery brought no study, so a site without a usable sitemap is still crawled."""
        if self.config.seed_listings is not None:
            return self.config.seed_listings
        # Sitemaps the budget left unread are no sign that the site has none: a run with a small
        # budget would otherwise put every keyword's listings in the frontier for later runs.
        return self.config.use_sitemaps and not self.sitemaps_served and not self._discovery_cut

    def _sitemaps_affordable(self) -> int | None:
        """How many sitemaps discovery may fetch next: the robots.txt reads made so far are
        counted first (they are archived when discovery ends)."""
        self._count_robots_reads()
        affordable = self.budget.sitemaps_affordable()
        self._discovery_cut |= affordable == 0
        return affordable

    def _count_robots_reads(self) -> None:
        taken = self.fetcher.take_side_results()
        self.budget.count(taken)
        self._robots_reads.extend(taken)

    def _previous_sitemaps(self, urls: Sequence[str]) -> dict[str, ArchivedResponse]:
        with self.warehouse():
            return self.archive.read_many(urls)

    def _discovery_finished(self, crawl_id: str | None) -> bool:
        with self.warehouse():
            return self.frontier.discovery_finished(crawl_id)

    async def _read_sitemaps(self) -> int:
        """Sitemap by sitemap into the frontier (a large site's URLs are never all held at once),
        each archived; returns the new URLs. A sitemap that cannot be read is logged and skipped."""
        steps = sitemap_steps(
            self.fetcher,
            self.config,
            previous=self._previous_sitemaps,
            settled=lambda prior: self._discovery_finished(prior.crawl_id),
            affordable=self._sitemaps_affordable,
        )
        # A generator: closed (its client streams too) however the reading ends.
        async with aclosing(cast(AsyncGenerator[Discovery], steps)):
            added, unarchived = await self._read_steps(steps)
        with self.warehouse():
            self.archive.append(unarchived, crawl_id=self.crawl.crawl_id)
        return added

    async def _read_steps(self, steps: AsyncIterator[Discovery]) -> tuple[int, list[FetchResult]]:
        """The sitemaps' URLs into the frontier (as many sitemaps as the budget affords: the steps
        ask `_sitemaps_affordable`); returns the new URLs and the responses not archived yet."""
        added = 0
        unarchived: list[FetchResult] = []
        async for step in steps:
            # Each write is a transaction and an fsync: sitemaps that brought nothing new (an
            # unchanged site's 304s) are archived together and add nothing to the frontier.
            unarchived.extend(step.responses)
            if step.found or step.rejected:
                with self.warehouse():
                    self.archive.append(unarchived, crawl_id=self.crawl.crawl_id)
                    added += self.frontier.add(step).new
                unarchived = []
            if any(f.kind == "study" for f in step.found) or (
                step.sitemaps and all(r.not_modified for r in step.responses)
            ):
                self.sitemaps_served = True
            for error in step.errors:
                log.warning("sitemap unreadable: %s", error)
                self.discovery_errors.append(str(error))
            self.discovery_bytes += sum(result.bytes for result in step.responses)
            self.tracker.add_bytes(sum(result.bytes for result in step.responses))
            self.budget.count(step.responses)
        return added, unarchived

    # --- a batch: due -> fetch -> archive -> parse -> load -> record ----------------------------
    async def run_batch(self, limit: int | None = None) -> BatchReport | None:
        """Fetch, archive, parse, spool, then load and record one batch of at most `limit` pages
        (a batch's worth by default); None when there is nothing to claim (nothing due, and
        nothing worth reading ahead in a budgeted run: `claims.claim`).

        The batch is loaded now if the warehouse is free; else its report says how many pages
        wait (`pending`) and a later batch, or `finish`, loads it. On a failure before the batch
        is spooled its claims are given back, so its URLs are due again.
        """
        # Never more than a batch at once, whatever is left of --max-pages: a batch is what is
        # spooled and loaded together, so a crash or a reader never holds back more than one.
        size = min(limit, self.config.batch_size) if limit else self.config.batch_size
        while True:
            affordable = self.budget.pages_affordable(size, self.config.clock(), gated=True)
            targets = await self._take(affordable) if affordable else []
            if targets or not affordable or not await self._wait_for_due():
                break
        if not targets:
            return None
        try:
            results, side = await self._fetch_while_allowed(targets)
            self.tracker.settled(results)
            entries = self.archive.writer.write([*side, *results], crawl_id=self.crawl.crawl_id)
            items = [parse_result(result) for result in results]
            spooled = self.spool.write(entries, results, items)
        except BaseException:
            self.release(targets)
            raise
        number = len(self.batches) + 1
        self.batches.append(_waiting(number, results))
        self._spooled_here[spooled.number] = (number, [target.url for target in targets])
        self._catch_up()
        return self.batches[number - 1]

    async def _take(self, count: int) -> list[FetchTarget]:
        """The next `count` claimed targets; claims more when the warehouse can be had, and waits
        for it only when nothing claimed is left -- on the event loop (progress keeps moving)
        and giving up when a stop is asked for."""
        if len(self._claims) < count:
            waited_since = time.monotonic()
            while not self._catch_up(claim_at_least=count) and not self._claims:
                if _stop.is_set():
                    return []
                if time.monotonic() - waited_since >= PATIENT_LOG_S:
                    log.warning("nothing claimed left: waiting for a reader to let go")
                    waited_since = time.monotonic()
                await asyncio.sleep(CATCH_UP_WAIT_S)
        return self._claims.take(count)

    async def _wait_for_due(self) -> bool:
        """With nothing to claim, a run with a deadline waits for pages to fall due before it (a
        page fetched at 09:40 with a day's interval is due at 09:40 tomorrow) rather than end
        and leave them to the next run: a run that lasts its hour visits each page about when it
        falls due. It waits `config.due_wait` at a time, then claims what fell due meanwhile (and
        what became likely changed, or came round for the sweep: `Frontier.next_due`) as one
        batch: the warehouse is opened once per wait, not once per page. False when nothing
        falls due before the deadline (the run ends), or when a stop was asked for."""
        deadline = self.config.deadline
        if deadline is None or _stop.is_set():
            return False
        if not self._catch_up():  # a reader holds the warehouse: look again in a moment
            await self.config.sleep(READER_RETRY_S)
            return not _stop.is_set()
        with self.warehouse():
            next_due = self.frontier.next_due(self.crawl)
        if next_due is None or next_due >= deadline:
            return False
        # Looking again every `due_wait`, not only at `next_due`: pages not due yet may become
        # likely changed meanwhile (`Frontier.likely_changed`).
        until = min(self.config.clock() + self.config.due_wait, deadline)
        log.info("nothing to fetch before %s: waiting", f"{until:%Y-%m-%d %H:%M:%S}")
        # In steps of at most a second of the crawl's clock, so a stop is heard at once.
        while not _stop.is_set() and (left := (until - self.config.clock()).total_seconds()) > 0:
            await self.config.sleep(min(left, 1.0))
        return not _stop.is_set()

    def _catch_up(self, *, claim_at_least: int = 0) -> bool:
        """Load the spool and renew the claims if the warehouse is free within a moment; False
        when a reader holds it (the spool waits for the next try)."""
        try:
            with self.warehouse(wait_s=CATCH_UP_WAIT_S):
                self._load_spooled()
                self._claims.renew(self.frontier, self.crawl, claim_at_least)
        except db.WarehouseLocked:
            log.info("warehouse in use by a reader: %d batches wait", len(self.spool.pending()))
            return False
        return True

    def _load_spooled(self) -> None:
        """Load every spooled batch, oldest first (inside a hold). What earlier runs left and
        what is set aside goes to the run report (`spooled`): its page counts do not show it."""
        for spooled in self.spool.pending():
            number, urls = self._spooled_here.pop(spooled.number, (None, []))
            self._load_one(spooled, number, urls)

    def _load_one(self, spooled: SpooledBatch, number: int | None, urls: Sequence[str]) -> None:
        """Load one spooled batch (this run's batch `number` and its claimed `urls`, or an
        earlier run's: None) and remove it; set it aside if it cannot be read."""
        try:
            entries, results, items = spooled.read()
        except StagingError as exc:
            self._set_aside(spooled, number, urls, exc)
            return
        report = self._load_read(entries, results, items, number or 0)
        spooled.remove()
        if number is None:
            self._inherited(report, entries)
        else:  # the spool keeps no request counts: those of the fetch, exact, stay
            waiting = self.batches[number - 1]
            self.batches[number - 1] = dataclasses.replace(report, requests=waiting.requests)

    def _set_aside(
        self, spooled: SpooledBatch, number: int | None, urls: Sequence[str], exc: Exception
    ) -> None:
        """An unreadable batch out of the way; its pages are fetched again. One of this run's
        keeps its report's requests and bytes (they were spent), without pages waiting."""
        log.warning("spooled batch set aside, its pages will be fetched again: %s", exc)
        spooled.set_aside()
        if urls:  # claimed by this run: due again now, not after the claim times out
            self.frontier.release(self.crawl, urls)
        self.spooled.set_aside += 1
        if number is not None:
            waiting = self.batches[number - 1]
            self.spooled.set_aside_pages += waiting.pending
            self.batches[number - 1] = dataclasses.replace(waiting, pending=0)

    def _load_read(
        self,
        entries: Sequence[ArchiveEntry],
        results: Sequence[FetchResult],
        items: Sequence[LoadItem],
        number: int,
    ) -> BatchReport:
        archive.index(self.con, entries)
        fresh = self.frontier.not_recorded(results)
        kept = {result.final_url for result in fresh}
        return self._apply(fresh, [item for item in items if item.fetched_url in kept], number)

    def _inherited(self, report: BatchReport, entries: Sequence[ArchiveEntry]) -> None:
        """A batch an earlier run fetched and could not load, loaded now: counted apart from
        this run's pages, with the run that fetched it."""
        log.warning("loaded %d pages a previous run fetched and could not load", report.fetched)
        note = self.spooled
        note.inherited_batches += 1
        note.inherited_pages += report.fetched
        if not entries:
            return
        first = min(entries, key=lambda entry: entry.fetched_at)
        left_by = runs.fetched_by(
            self.con, first.crawl_id, first.fetched_at, other_than=self.run_id
        )
        if left_by is not None and left_by not in note.inherited_from:
            note.inherited_from = (*note.inherited_from, left_by)

    async def _fetch_while_allowed(
        self, targets: Sequence[FetchTarget]
    ) -> tuple[list[FetchResult], list[FetchResult]]:
        """The batch's fetches, and the robots.txt reads made on the way (archived too). Pages
        not yet started when a stop was asked for, or when the budget cannot cover another
        page even once the pages in flight have ended (`Budget.reserve`), are given back to
        the frontier unvisited; the requests in flight finish. Every request is counted as the
        page that made it ends, before its reservation is freed for the next page."""
        page_ended = asyncio.Condition()
        robots: list[FetchResult] = []

        def may_start() -> bool:  # or will never: stopped, or nothing in flight to free room
            return _stop.is_set() or not self.budget.reserved or self.budget.fits_another()

        def count(results: list[FetchResult]) -> None:
            robots.extend(side := self.fetcher.take_side_results())
            self.budget.count([*results, *side])

        async def fetch(target: FetchTarget) -> FetchResult | None:
            async with page_ended:
                await page_ended.wait_for(may_start)
                if _stop.is_set() or not self.budget.reserve():
                    return None
            try:
                result = await self.fetcher.fetch(target)
                count([result])
            finally:
                self.budget.unreserve()
                async with page_ended:
                    page_ended.notify_all()
            self.tracker.fetched(result)
            return result

        try:
            fetched = await in_order(targets, fetch, self.fetcher.runners)
        finally:
            count([])  # a robots.txt read of a page that raised
        skipped = [t for t, result in zip(targets, fetched, strict=True) if result is None]
        if skipped:
            self.release(skipped)
        return [result for result in fetched if result is not None], robots

    def due(self, limit: int | None = None, *, fetchers: int = 1) -> list[FetchTarget]:
        """Claim the next URLs (a batch's worth by default, fewer when the budget is nearly
        spent; none once it is) for this crawl, to be fetched by `fetchers` fetchers: what is due,
        and in a budgeted run what is worth fetching ahead (`claims.claim`)."""
        affordable = self.budget.pages_affordable(
            limit or self.config.batch_size, self.config.clock(), fetchers=fetchers
        )
        if not affordable:
            return []
        with self.warehouse():
            return claim(self.frontier, self.crawl, affordable)

    def release(self, targets: Sequence[FetchTarget]) -> None:
        """Give claimed URLs back unvisited: they are due again."""
        with self.warehouse():
            self.frontier.release(self.crawl, [target.url for target in targets])

    def merge(
        self, results: Sequence[FetchResult], items: Sequence[LoadItem], *, requests: int
    ) -> BatchReport:
        """Load and record fetched pages that are already archived (and indexed): `items` are
        the parsed ones, parsed here or by a shard worker (`scraper.shards`), which counted the
        `requests` it sent for them and for robots.txt (its results read back do not know)."""
        self.budget.count_sent(requests)
        with self.warehouse():
            report = self._apply(results, items, len(self.batches) + 1)
        self.batches.append(report)
        self.tracker.settled(results)
        return report

    def _apply(
        self, results: Sequence[FetchResult], items: Sequence[LoadItem], number: int
    ) -> BatchReport:
        """Load and record a batch (inside a hold); its report."""
        protected, stats = self._load(results, items)
        outcomes = self.frontier.record(
            self.crawl, results, signatures=self._signatures(results, items)
        )
        return BatchReport(
            number=number,
            outcomes=Counter(outcomes),
            not_modified=sum(r.not_modified for r in results),
            requests=sum(requests_of(r) for r in results),
            wire_bytes=sum(r.bytes for r in results),
            failures=tuple(
                (r.url, r.error or "unknown")
                for r, o in zip(results, outcomes, strict=True)
                if o in ("failed", "refused")
            ),
            load=stats,
            protected=protected,
        )

    def _signatures(
        self, results: Sequence[FetchResult], items: Sequence[LoadItem]
    ) -> dict[str, Signature]:
        """Target URL -> the signature of the record its page was read into (study pages)."""
        by_final = load.signatures(self.con, items)
        return {
            r.url: Signature(*by_final[r.final_url]) for r in results if r.final_url in by_final
        }

    def _load(
        self, results: Sequence[FetchResult], items: Sequence[LoadItem]
    ) -> tuple[tuple[str, ...], load.LoadStats]:
        """The warehouse half of a batch: the parsed pages, the visits of unchanged and removed
        pages, and the links the parsed pages lead to. Returns the fields the drift guard
        protected and the load's counts."""
        protected = self.drift.observe([item.page for item in items])
        now = self.config.clock()
        stats = load.load_pages(
            self.con, items, observed_at=now, run_id=self.run_id, protect_fields=protected
        )
        unchanged = [r.url for r in results if r.ok and r.unchanged]
        if unchanged:
            load.touch_unchanged(self.con, unchanged, now, run_id=self.run_id)
        gone = [r.url for r in results if r.gone]
        if gone:
            load.mark_removed(self.con, gone, now, run_id=self.run_id)
        load_listings(self.con, items, observed_at=now, run_id=self.run_id)
        links = [links_from_item(item, self.config) for item in items]
        if links:
            self.frontier.add(functools.reduce(Discovery.merge, links))  # one transaction
        return protected, stats

    # --- the run's end --------------------------------------------------------------------------
    def progress(self) -> float:
        """Share of this crawl's pages done, 0..100."""
        try:
            with self.warehouse(wait_s=CATCH_UP_WAIT_S):
                stats = self.frontier.stats(self.crawl)
        except db.WarehouseLocked:
            return self._progress  # a reader holds the file: the last figure stands
        self.tracker.set_remaining(stats.remaining, stats.visited)
        total = stats.visited + stats.remaining
        self._progress = 100.0 * stats.visited / total if total else 100.0
        return self._progress

    def finish(self, *, error: str | None = None) -> RunReport:
        """Close the run: the crawl state, the `crawl_runs` row and this run's field coverage.
        Waits for the warehouse if a reader holds it: the spool is loaded first."""
        with self.warehouse():
            try:
                self._load_spooled()
            except Exception as exc:
                if error is None:
                    raise
                # The run failed already: close it with that reason; the next run loads the spool.
                log.warning("spooled batches left for the next run: %s", db.first_line(exc))
            self._claims.give_back(self.frontier, self.crawl)
            return self._finish(error)

    def _finish(self, error: str | None) -> RunReport:
        leftover = self.frontier.leftover(self.crawl)
        complete = leftover.pages_due == 0
        if complete:
            self.budget.ended_by = "done"
        elif self.budget.ended_by == "done":
            self.budget.ended_by = "stopped"
        # A run cut by its budget closes an incremental crawl: what it left stays due, and the
        # next run discovers again (new studies first) instead of resuming this crawl. A full
        # pass is resumed, so that it reaches every page.
        if complete or (self.budget.ended_by in ("budget", "deadline") and not self.crawl.full):
            self.frontier.finish_crawl(self.crawl)
        coverage = self.drift.coverage()
        if coverage:
            drift.record_coverage(self.con, self.run_id, coverage, self.drift.pages)
        # The run's own coverage, as the coverage table shows it, not the figure when it tripped
        drifted = {
            n: (before, coverage.get(n, now)) for n, (before, now) in self.drift.drifted.items()
        }
        if drifted and error is None:
            error = drift_message(drifted)
        if error is None and not _stop.is_set():
            error = self._nothing_fetched()
        summary = self._summary(error, leftover)
        runs.finish_run(self.con, self.run_id, summary)
        return RunReport(
            run_id=self.run_id,
            crawl_id=self.crawl.crawl_id,
            summary=summary,
            complete=complete,
            coverage=coverage,
            baseline=self.drift.baseline,
            drifted=drifted,
            spool=dataclasses.replace(self.spooled),
        )

    def _nothing_fetched(self) -> str | None:
        """Why the run got no page at all, when something stood in its way: every page it tried
        failed or was refused (robots.txt answering 5xx refuses them all), or discovery could not
        read a sitemap and nothing else was due. Such a run did not do its job; one that merely
        found nothing due did."""
        outcomes, reasons = self._tally()
        # A page found gone is no answer either: a site whose sitemap is refused and whose
        # keyword listings (the fallback) are all 404 gave the run nothing to read.
        answered = sum(
            n for outcome, n in outcomes.items() if outcome not in ("failed", "refused", "gone")
        )
        if answered:
            return None
        if reasons:
            top = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common(3))
            return f"nothing fetched: all {sum(reasons.values())} pages failed or refused ({top})"
        if self.discovery_errors:
            return f"nothing fetched: sitemap unreadable: {self.discovery_errors[0]}"
        return None

    def _tally(self) -> tuple[Counter[str], Counter[str]]:
        """This run's visits by outcome, and its failures by reason."""
        outcomes: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for batch in self.batches:
            outcomes.update(batch.outcomes)
            reasons.update(reason for _url, reason in batch.failures)
        return outcomes, reasons

    def _summary(self, error: str | None, leftover: Leftover) -> runs.RunSummary:
        outcomes, reasons = self._tally()
        return runs.RunSummary(
            finished_at=self.config.clock(),
            status="failed" if error else "stopped" if _stop.is_set() else "completed",
            pages_fetched=sum(batch.fetched for batch in self.batches),
            pages_new=outcomes["new"],
            pages_changed=outcomes["changed"],
            pages_unchanged=outcomes["unchanged"],
            pages_not_modified=sum(batch.not_modified for batch in self.batches),
            pages_failed=outcomes["failed"] + outcomes["refused"],
            pages_removed=outcomes["gone"],
            # one meaning of "requests" everywhere (status, closing line, artifact): every HTTP
            # request this run made, robots.txt, sitemaps, retries and redirect hops included
            requests=self.budget.spent,
            bytes_received=self.discovery_bytes + sum(b.wire_bytes for b in self.batches),
            duration_s=time.monotonic() - self.started,
            failure_reasons=dict(reasons),
            drifted_fields=tuple(sorted(self.drift.drifted)),
            error=error,
            max_requests=self.config.max_requests,
            deadline=self.config.deadline,
            requests_counted=self.budget.spent,
            ended_by=self.budget.ended_by,
            pages_left_due=leftover.pages_due,
            stalest_due_s=leftover.stalest_s,
        )


def _waiting(number: int, results: Sequence[FetchResult]) -> BatchReport:
    """The report of a batch fetched and spooled, not loaded yet: its outcomes come with the
    load, which replaces it."""
    return BatchReport(
        number=number,
        outcomes=Counter(),
        not_modified=sum(r.not_modified for r in results),
        requests=sum(requests_of(r) for r in results),
        wire_bytes=sum(r.bytes for r in results),
        failures=(),
        load=load.LoadStats(),
        protected=(),
        pending=len(results),
    )
