"""A crawl run as library calls, its stages in the order data moves through them:

    discover -> due -> fetch -> archive -> parse -> load -> record

    async with CrawlSession.open(config, db_path) as session:
        await session.discover()                     robots.txt -> sitemaps, seeds (once a crawl)
        while (batch := await session.run_batch()) is not None:
            ...                                      one batch: due, fetch, archive, parse, load,
                                                     record; committed
        report = session.finish()                    crawl_runs row, coverage, drift verdict

The Prefect flows (`scraper.flows`), the tests and the scale-out all go through this session. The
scale-out (`scraper.shards`) claims the due URLs here, has shards fetched, archived and parsed on
other workers, and hands what they bring back to `merge`: the same load and record as a batch.

A batch is loaded before it is recorded in the frontier, so a crash between the two refetches the
batch and reloads it; the load is idempotent, so nothing is duplicated and nothing is lost.

Each batch also feeds the run's drift guard (`scraper.drift`): a field whose coverage falls
sharply keeps its last good value in the warehouse, and the run ends failed, naming the fields.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import cast

import duckdb
import httpx

from scraper import db, drift, load, runs
from scraper.archive import Archive
from scraper.budget import Budget
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.discover import Discovery, keyword_listings, links_from_item, seeds, sitemap_steps
from scraper.drift import DriftGuard
from scraper.fetcher import Fetcher
from scraper.frontier import Crawl, Frontier, Leftover
from scraper.listing_load import load_listings
from scraper.parse import PARSER_VERSION, parse_results
from scraper.records import LoadItem
from scraper.report import BatchReport, RunReport
from scraper.responses import FetchResult, FetchTarget

log = logging.getLogger(__name__)


def default_archive_dir(db_path: Path) -> Path:
    """`<db dir>/<db name>-warc/`: the archive lives next to the database it is indexed in."""
    return db_path.parent / f"{db_path.stem}-warc"


class CrawlSession:
    """One crawl run: the single writer of the warehouse and the crawl state."""

    def __init__(
        self,
        config: CrawlConfig,
        con: duckdb.DuckDBPyConnection,
        archive: Archive,
        fetcher: Fetcher,
        *,
        full: bool = False,
        flow_run_id: str | None = None,
    ) -> None:
        self.config = config
        self.con = con
        self.archive = archive
        self.fetcher = fetcher
        self.frontier = Frontier(con, config)
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
        self.drift = DriftGuard(baseline=drift.baseline_coverage(con, before_run=self.run_id))
        self.batches: list[BatchReport] = []
        self.discovery_bytes = 0
        self.discovery_errors: list[str] = []  # sitemaps that could not be read
        self.sitemaps_served = False  # a sitemap named a study, or answered 304 (it did before)
        self.budget = Budget(config)  # requests spent, and what ends the run early

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
        con = db.connect(db_path, config={"memory_limit": memory_limit} if memory_limit else None)
        try:
            directory = Path(archive_dir) if archive_dir else default_archive_dir(Path(db_path))
            with Archive(directory, con, config) as archive:
                client = make_client(config, transport=transport)
                async with client, Fetcher(config, client=client) as fetcher:
                    yield cls(config, con, archive, fetcher, full=full, flow_run_id=flow_run_id)
        finally:
            con.close()

    # --- discover -------------------------------------------------------------------------------
    async def discover(self) -> int:
        """Seeds and sitemaps into the frontier, once per crawl (again if a crash cut it short).
        Returns the number of new URLs."""
        if self.crawl.discovered:
            return 0
        added = self.frontier.add(seeds(self.config)).new
        if self.config.use_sitemaps:
            added += await self._read_sitemaps()
        if self._wants_listings():
            added += self.frontier.add(keyword_listings(self.config)).new
        side = self.fetcher.take_side_results()
        self.budget.count(side)
        self.archive.append(side, crawl_id=self.crawl.crawl_id)
        self.crawl = self.frontier.mark_discovered(self.crawl)
        return added

    def _wants_listings(self) -> bool:
        """Seed the keywords' research listings: when asked to, or (by default) when sitemap
        discovery brought no study, so a site without a usable sitemap is still crawled."""
        if self.config.seed_listings is not None:
            return self.config.seed_listings
        return self.config.use_sitemaps and not self.sitemaps_served

    async def _read_sitemaps(self) -> int:
        """Sitemap by sitemap into the frontier (a large site's URLs are never all held at once),
        each archived; returns the new URLs. A sitemap that cannot be read is logged and skipped."""
        steps = sitemap_steps(
            self.fetcher,
            self.config,
            previous=self.archive.read_many,
            settled=lambda prior: self.frontier.discovery_finished(prior.crawl_id),
        )
        # A generator: closed (its client streams too) when the budget stops reading early.
        async with aclosing(cast(AsyncGenerator[Discovery], steps)):
            added, unarchived = await self._read_steps(steps)
        self.archive.append(unarchived, crawl_id=self.crawl.crawl_id)
        return added

    async def _read_steps(self, steps: AsyncIterator[Discovery]) -> tuple[int, list[FetchResult]]:
        """The sitemaps' URLs into the frontier while the budget allows another sitemap; returns
        the new URLs and the responses not archived yet."""
        added = 0
        unarchived: list[FetchResult] = []
        async for step in steps:
            # Each write is a transaction and an fsync: sitemaps that brought nothing new (an
            # unchanged site's 304s) are archived together and add nothing to the frontier.
            unarchived.extend(step.responses)
            if step.found or step.rejected:
                self.archive.append(unarchived, crawl_id=self.crawl.crawl_id)
                unarchived = []
                added += self.frontier.add(step).new
            if any(f.kind == "study" for f in step.found) or (
                step.sitemaps and all(r.not_modified for r in step.responses)
            ):
                self.sitemaps_served = True
            for error in step.errors:
                log.warning("sitemap unreadable: %s", error)
                self.discovery_errors.append(str(error))
            self.discovery_bytes += sum(result.bytes for result in step.responses)
            self.budget.count(step.responses)
            if not self.budget.allows_discovery_step():
                break
        return added, unarchived

    # --- a batch: due -> fetch -> archive -> parse -> load -> record ----------------------------
    async def run_batch(self, limit: int | None = None) -> BatchReport | None:
        """Claim, fetch, archive, parse, load and record one batch of at most `limit` pages (a
        batch's worth by default); None when nothing is due.

        On any failure the batch's claims are given back, so its URLs are due again.
        """
        targets = self.due(limit)
        if not targets:
            return None
        try:
            results = await self.fetcher.fetch_batch(targets)
            side = self.fetcher.take_side_results()  # robots.txt read on the way: archived too
            self.budget.count(side)
            self.archive.append([*side, *results], crawl_id=self.crawl.crawl_id)
            return self.merge(results, parse_results(results))
        except BaseException:
            self.release(targets)
            raise

    def due(self, limit: int | None = None, *, fetchers: int = 1) -> list[FetchTarget]:
        """Claim the next due URLs (a batch's worth by default, fewer when the budget is nearly
        spent; none once it is) for this crawl, to be fetched by `fetchers` fetchers."""
        affordable = self.budget.pages_affordable(
            limit or self.config.batch_size, self.config.clock(), fetchers=fetchers
        )
        return self.frontier.due(self.crawl, affordable) if affordable else []

    def release(self, targets: Sequence[FetchTarget]) -> None:
        """Give claimed URLs back unvisited: they are due again."""
        self.frontier.release(self.crawl, [target.url for target in targets])

    def merge(self, results: Sequence[FetchResult], items: Sequence[LoadItem]) -> BatchReport:
        """Load and record fetched pages that are already archived (and indexed): `items` are
        the parsed ones, parsed here or by a shard worker (`scraper.shards`)."""
        self.budget.count(results)
        protected, stats = self._load(results, items)
        outcomes = self.frontier.record(
            self.crawl, results, signatures=self._signatures(results, items)
        )
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

    def _signatures(
        self, results: Sequence[FetchResult], items: Sequence[LoadItem]
    ) -> dict[str, str]:
        """Target URL -> the signature of the record its page was read into (study pages)."""
        by_final = load.signatures(self.con, items)
        return {r.url: by_final[r.final_url] for r in results if r.final_url in by_final}

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
        stats = self.frontier.stats(self.crawl)
        total = stats.visited + stats.remaining
        return 100.0 * stats.visited / total if total else 100.0

    def finish(self, *, error: str | None = None) -> RunReport:
        """Close the run: the crawl state, the `crawl_runs` row and this run's field coverage."""
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
        drifted = dict(self.drift.drifted)
        if drifted and error is None:
            error = "layout drift: coverage fell for " + ", ".join(
                f"{name} ({before:.0%} -> {now:.0%})" for name, (before, now) in drifted.items()
            )
        if error is None:
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
        )

    def _nothing_fetched(self) -> str | None:
        """Why the run got no page at all, when something stood in its way: every page it tried
        failed or was refused (robots.txt answering 5xx refuses them all), or discovery could not
        read a sitemap and nothing else was due. Such a run did not do its job; one that merely
        found nothing due did."""
        outcomes, reasons = self._tally()
        answered = sum(n for outcome, n in outcomes.items() if outcome not in ("failed", "refused"))
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
            max_requests=self.config.max_requests,
            deadline=self.config.deadline,
            requests_counted=self.budget.spent,
            ended_by=self.budget.ended_by,
            pages_left_due=leftover.pages_due,
            stalest_due_s=leftover.stalest_s,
        )
