"""A minimal crawl driver: discover -> due -> fetch -> archive -> record, one batch at a time.

It parses and loads nothing: the Prefect flow wraps the same steps and adds parse and load between
archive and record (and `frontier.add(links_from_page(page, config))` for each parsed page). What
is here is the smallest loop that is polite, resumable and incremental on its own, used by tests
and by anyone who only wants the raw archive.

    crawl = frontier.begin_crawl()                  resumes an interrupted crawl
    crawl = await discover_into(...)                robots.txt -> sitemaps, seeds (once per crawl)
    while targets := frontier.due(crawl):
        results = await fetcher.fetch_batch(targets)
        archive.append(results, crawl_id=crawl.crawl_id)
        ... parse / load the `result.changed` ones ...
        frontier.record(crawl, results)             the batch is done: committed
    frontier.finish_crawl(crawl)

A SIGKILL anywhere loses at most the batch in flight: its URLs were claimed, not recorded, and
`begin_crawl` gives them back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scraper import db
from scraper.archive import Archive
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.discover import seeds, sitemap_steps
from scraper.fetcher import Fetcher
from scraper.frontier import Crawl, CrawlStats, Frontier
from scraper.responses import FetchResult
from scraper.schedule import OUTCOMES, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchReport:
    """One batch: what was fetched and what each visit turned out to be."""

    results: tuple[FetchResult, ...]
    outcomes: tuple[Outcome, ...]

    @property
    def wire_bytes(self) -> int:
        return sum(result.bytes for result in self.results)


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlSummary:
    crawl_id: str
    resumed: bool  # this run picked up an interrupted crawl
    complete: bool  # nothing due is left: the crawl was finished
    batches: int  # batches fetched in this run
    fetched: int  # URLs visited in this run
    outcomes: dict[Outcome, int] = field(default_factory=dict)  # of this run's visits
    wire_bytes: int = 0  # bytes received in this run (pages and sitemaps)
    discovered: int = 0  # new URLs added in this run
    discovery_errors: tuple[str, ...] = ()  # sitemaps that could not be read
    stats: CrawlStats | None = None  # the whole crawl so far (earlier runs included)


def default_archive_dir(db_path: Path) -> Path:
    """`<db dir>/<db name>-warc/`: the archive lives next to the database it is indexed in."""
    return db_path.parent / f"{db_path.stem}-warc"


def crawl_once(
    config: CrawlConfig,
    db_path: Path,
    *,
    archive_dir: Path | None = None,
    max_pages: int | None = None,
    full: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CrawlSummary:
    """Crawl (or resume) into the DuckDB file at `db_path`; archive into `archive_dir`.

    Stops when nothing is due (the crawl is finished) or after about `max_pages` URLs (the crawl
    stays open and the next call resumes it). `full` makes every known page due (a new crawl
    only).
    """
    db_path = Path(db_path)
    con = db.connect(db_path)
    try:
        with Archive(archive_dir or default_archive_dir(db_path), con, config) as archive:
            return asyncio.run(
                _crawl(
                    config,
                    Frontier(con, config),
                    archive,
                    max_pages=max_pages,
                    full=full,
                    transport=transport,
                )
            )
    finally:
        con.close()


async def _crawl(
    config: CrawlConfig,
    frontier: Frontier,
    archive: Archive,
    *,
    max_pages: int | None,
    full: bool,
    transport: httpx.AsyncBaseTransport | None,
) -> CrawlSummary:
    crawl = frontier.begin_crawl(full=full)
    client = make_client(config, transport=transport)
    async with client, Fetcher(config, client=client) as fetcher:
        crawl, added, errors, discovery_bytes = await discover_into(
            fetcher, frontier, archive, crawl
        )
        reports = await _batches(fetcher, frontier, archive, crawl, max_pages)
    complete = frontier.stats(crawl).remaining == 0
    stats = frontier.finish_crawl(crawl) if complete else frontier.stats(crawl)
    counts = dict.fromkeys(OUTCOMES, 0)
    for report in reports:
        for outcome in report.outcomes:
            counts[outcome] += 1
    return CrawlSummary(
        crawl_id=crawl.crawl_id,
        resumed=crawl.resumed,
        complete=complete,
        batches=len(reports),
        fetched=sum(len(report.results) for report in reports),
        outcomes=counts,
        wire_bytes=discovery_bytes + sum(report.wire_bytes for report in reports),
        discovered=added,
        discovery_errors=errors,
        stats=stats,
    )


async def discover_into(
    fetcher: Fetcher, frontier: Frontier, archive: Archive, crawl: Crawl
) -> tuple[Crawl, int, tuple[str, ...], int]:
    """Seeds and sitemaps into the frontier, once per crawl (again if a crash cut it short).

    Returns the crawl (marked discovered), the number of new URLs, the sitemap errors and the
    bytes the sitemaps cost.
    """
    if crawl.discovered:
        return crawl, 0, (), 0
    config = frontier.config
    added = frontier.add(seeds(config)).new
    errors: list[str] = []
    wire = 0
    if config.use_sitemaps:
        # Sitemap by sitemap: a large site's URLs are never all held at once.
        steps = sitemap_steps(
            fetcher,
            config,
            previous=archive.read_many,
            settled=lambda prior: frontier.discovery_finished(prior.crawl_id),
        )
        unarchived: list[FetchResult] = []
        async for step in steps:
            # Each write is a transaction and an fsync: sitemaps that brought nothing new (an
            # unchanged site's 304s) are archived together and add nothing to the frontier.
            unarchived.extend(step.responses)
            if step.found or step.rejected:
                archive.append(unarchived, crawl_id=crawl.crawl_id)
                unarchived = []
                added += frontier.add(step).new
            errors.extend(step.errors)
            wire += sum(result.bytes for result in step.responses)
        archive.append(unarchived, crawl_id=crawl.crawl_id)
    for error in errors:
        log.warning("sitemap unreadable: %s", error)
    return frontier.mark_discovered(crawl), added, tuple(errors), wire


async def fetch_and_record(
    fetcher: Fetcher, frontier: Frontier, archive: Archive, crawl: Crawl
) -> BatchReport | None:
    """One unit of work without parsing: claim, fetch, archive, record. None when nothing is due."""
    targets = frontier.due(crawl)
    if not targets:
        return None
    results = await fetcher.fetch_batch(targets)
    archive.append(results, crawl_id=crawl.crawl_id)
    outcomes = frontier.record(crawl, results)
    return BatchReport(results=tuple(results), outcomes=tuple(outcomes))


async def _batches(
    fetcher: Fetcher,
    frontier: Frontier,
    archive: Archive,
    crawl: Crawl,
    max_pages: int | None,
) -> list[BatchReport]:
    reports: list[BatchReport] = []
    fetched = 0
    while max_pages is None or fetched < max_pages:
        report = await fetch_and_record(fetcher, frontier, archive, crawl)
        if report is None:
            break
        reports.append(report)
        fetched += len(report.results)
        log.info("batch %d: %d pages, %s", len(reports), len(report.results), report.outcomes)
    return reports
