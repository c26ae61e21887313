"""The crawl flow: discover, then one task per batch of pages, then the run's checks.

    uv run python -m flows.crawl --help        (or `scraper crawl`)

Each batch task fetches, archives, parses, loads and records one batch through
`scraper.pipeline.CrawlSession` (a task per batch, never per page: per-task overhead stays a
rounding error on a full crawl). People watching the Prefect UI see a progress artifact move as
batches finish, a markdown summary of the run and a table of per-field coverage against recent
runs. A run whose coverage drifted (the site changed its layout) ends Failed, naming the fields;
the warehouse kept their last good values and the raw pages are archived for a `reparse`.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from scraper import report
from scraper.config import CrawlConfig, default_user_agent
from scraper.pipeline import BatchReport, CrawlSession, RunReport
from scraper.urls import DEFAULT_SITE


# No task tags: Prefect takes a tag concurrency slot, with a lease, for every tagged task run, and
# the first one stalled a run by ~2 s in 5 of 7 tries here. A deployment's runs carry their tags.
@task(name="discover", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
async def discover(session: CrawlSession) -> int:
    """robots.txt -> sitemap index -> sitemaps, plus seeds, into the frontier."""
    added = await session.discover()
    get_run_logger().info("discovery: %d new URLs", added)
    return added


@task(
    name="crawl-batch",
    task_run_name="batch-{number}",
    retries=1,
    retry_delay_seconds=10,
    cache_policy=NO_CACHE,
)
async def crawl_batch(
    session: CrawlSession, number: int, prefetch: bool = False
) -> BatchReport | None:
    """Fetch, archive, parse, load and record one batch (its claims are released on failure);
    `prefetch` starts fetching the next one meanwhile (with crawl workers only)."""
    batch = await session.run_batch(prefetch=prefetch)
    if batch is not None:
        get_run_logger().info(
            "batch %d: %d pages %s, %d failed",
            number,
            batch.fetched,
            dict(batch.outcomes),
            len(batch.failures),
        )
    return batch


@task(name="finish-run", cache_policy=NO_CACHE)
async def finish_run(session: CrawlSession, error: str | None) -> RunReport:
    """Close the run: crawl state, the `crawl_runs` row, coverage and the drift verdict."""
    return session.finish(error=error)


@flow(name="crawl", log_prints=True)
async def crawl(  # noqa: PLR0917  # a flow's parameters are its deployment form: keyword or not
    base_url: str = DEFAULT_SITE,
    db: str = "warehouse.duckdb",
    archive_dir: str | None = None,
    max_pages: int | None = None,
    concurrency: int = 2,
    rate: float = 1.0,
    batch_size: int = 50,
    discover_urls: bool = True,
    full: bool = False,
    workers: int = 0,
    contact_url: str | None = None,
    db_memory_limit: str | None = None,
) -> State:
    """Crawl `base_url` into the DuckDB file `db` (the live site by default, politely).

    `workers` > 0 fetches and parses in that many worker processes, which share the host's
    `rate` and `concurrency`, and overlaps batches: for a site that allows a high `rate` (a
    replica, the bench); at the live site's pace one process keeps up at leisure.
    `db_memory_limit` caps DuckDB's block cache (e.g. "512MB"; default: DuckDB's own, most of
    the machine's memory).
    """
    config = CrawlConfig(
        base_url=base_url,
        concurrency=concurrency,
        rate=rate,
        batch_size=batch_size,
        user_agent=default_user_agent(contact_url) if contact_url else default_user_agent(),
    )
    async with CrawlSession.open(
        config,
        Path(db),
        archive_dir=archive_dir,
        full=full,
        flow_run_id=flow_run.id,
        workers=workers,
        memory_limit=db_memory_limit,
    ) as session:
        try:
            progress_id = await acreate_progress_artifact(
                0.0, description="Pages of this crawl done"
            )
            await _run(session, progress_id, max_pages, discover_urls)
        except Exception as exc:
            # The run row is closed as failed with the reason before the error propagates.
            await finish_run(session, f"{type(exc).__name__}: {exc}")
            raise
        result = await finish_run(session, None)
    await _publish(result)
    message = report.terminal_summary(result)
    if result.failed:
        return Failed(message=result.summary.error or message, data=result)
    return Completed(message=message, data=result)


async def _run(
    session: CrawlSession, progress_id: UUID, max_pages: int | None, discover_urls: bool
) -> None:
    """Discovery, then batches until nothing is due or `max_pages` were fetched."""
    if discover_urls:
        await discover(session)
    fetched, number = 0, 0
    while max_pages is None or fetched < max_pages:
        number += 1
        # Fetch ahead only while a whole further batch is still wanted.
        wanted = max_pages is None or fetched + 2 * session.config.batch_size <= max_pages
        batch = await crawl_batch(session, number, wanted)
        if batch is None:
            break
        fetched += batch.fetched
        percent = session.progress()
        await aupdate_progress_artifact(progress_id, percent)
        report.progress(percent, batch)
    await aupdate_progress_artifact(progress_id, session.progress())


async def _publish(result: RunReport) -> None:
    await acreate_markdown_artifact(
        report.summary_markdown(result), key="crawl-summary", description="The crawl run"
    )
    if result.coverage:
        await acreate_table_artifact(
            report.coverage_rows(result),
            key="field-coverage",
            description="Share of pages on which each field was found, against recent runs",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=crawl.description)
    parser.add_argument("--base-url", default=DEFAULT_SITE)
    parser.add_argument("--db", default="warehouse.duckdb")
    parser.add_argument("--max-pages", type=int)
    args = parser.parse_args()
    asyncio.run(crawl(base_url=args.base_url, db=args.db, max_pages=args.max_pages))


if __name__ == "__main__":
    main()
