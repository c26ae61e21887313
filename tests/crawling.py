"""A whole crawl through `CrawlSession`, without Prefect: the flow's steps, batch by batch, for
tests that need neither the UI nor its start-up time."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from scraper.config import CrawlConfig
from scraper.report import RunReport
from scraper.schedule import Outcome
from scraper.session import CrawlSession


@dataclass(frozen=True, slots=True)
class Crawled:
    """How a crawl run ended, and what its visits turned out to be."""

    report: RunReport
    resumed: bool  # this run picked up an interrupted crawl
    outcomes: Counter[Outcome]  # of this run's visits

    @property
    def complete(self) -> bool:
        return self.report.complete

    @property
    def crawl_id(self) -> str:
        return self.report.crawl_id


def crawl(
    config: CrawlConfig,
    db_path: Path,
    *,
    full: bool = False,
    max_pages: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Crawled:
    """Discover, then batches until nothing is due or about `max_pages` were fetched (the crawl
    stays open and the next call resumes it), then the run's end."""
    return asyncio.run(_crawl(config, db_path, full, max_pages, transport))


async def _crawl(
    config: CrawlConfig,
    db_path: Path,
    full: bool,
    max_pages: int | None,
    transport: httpx.AsyncBaseTransport | None,
) -> Crawled:
    async with CrawlSession.open(config, db_path, full=full, transport=transport) as session:
        resumed = session.crawl.resumed
        await session.discover()
        outcomes: Counter[Outcome] = Counter()
        while max_pages is None or sum(outcomes.values()) < max_pages:
            batch = await session.run_batch()
            if batch is None:
                break
            outcomes.update(batch.outcomes)
        return Crawled(report=session.finish(), resumed=resumed, outcomes=outcomes)
