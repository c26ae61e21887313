"""The crawl flow: discover, then one task per batch of pages, then the run's checks.

Each batch task fetches, archives, parses, loads and records one batch through
`scraper.session.CrawlSession` (a task per batch, never per page: per-task overhead stays a
rounding error on a full crawl). People watching the Prefect UI see a progress artifact move as
batches finish, a markdown summary of the run and a table of per-field coverage against recent
runs. A run whose coverage drifted (the site changed its layout) ends Failed, naming the fields;
the warehouse kept their last good values and the raw pages are archived for a `reparse`.

The scale-out flow (`scraper.flows.scaleout`) runs the same steps with its batches fetched as
shards on a Dask cluster; `run_steps` and `published` are shared by both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

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

from scraper import progress, report
from scraper.config import CrawlConfig, default_user_agent
from scraper.report import BatchReport, RunReport
from scraper.session import CrawlSession
from scraper.urls import DEFAULT_SITE

# One step of a run: a batch here, a round of shards in the scale-out; [] when nothing is due.
# Its arguments: the session, the step's number, and how many pages it may fetch at most (None:
# no limit), so that `max_pages` caps the last step instead of letting it fetch a whole batch.
Step = Callable[[CrawlSession, int, int | None], Awaitable[Sequence[BatchReport]]]


# No task tags: Prefect takes a tag concurrency slot, with a lease, for every tagged task run,
# which can stall a run for seconds. A deployment's runs carry their tags.
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
    session: CrawlSession, number: int, limit: int | None = None
) -> BatchReport | None:
    """Fetch, archive, parse, load and record one batch of at most `limit` pages (its claims are
    released on failure)."""
    batch = await session.run_batch(limit)
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


def crawl_config(
    base_url: str, concurrency: int, rate: float, batch_size: int, contact_url: str | None
) -> CrawlConfig:
    """The flows' parameters as the library's settings."""
    return CrawlConfig(
        base_url=base_url,
        concurrency=concurrency,
        rate=rate,
        batch_size=batch_size,
        user_agent=default_user_agent(contact_url) if contact_url else default_user_agent(),
    )


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
    contact_url: str | None = None,
    db_memory_limit: str | None = None,
) -> State:
    """Crawl `base_url` into the DuckDB file `db` (the live site by default, politely).

    `db_memory_limit` caps DuckDB's block cache (e.g. "512MB"; default: DuckDB's own, most of
    the machine's memory).
    """
    config = crawl_config(base_url, concurrency, rate, batch_size, contact_url)
    async with CrawlSession.open(
        config,
        Path(db),
        archive_dir=archive_dir,
        full=full,
        flow_run_id=flow_run.id,
        memory_limit=db_memory_limit,
    ) as session:
        result = await run_steps(session, _batch, max_pages, discover_urls)
    return await published(result)


async def _batch(session: CrawlSession, number: int, limit: int | None) -> list[BatchReport]:
    batch = await crawl_batch(session, number, limit)
    return [batch] if batch is not None else []


async def run_steps(
    session: CrawlSession, step: Step, max_pages: int | None, discover_urls: bool
) -> RunReport:
    """Discovery, then steps until nothing is due or `max_pages` were fetched, then the run's
    end. An error closes the run as failed, with the reason, before it propagates."""
    ticker: progress.Ticker | None = None
    try:
        progress_id = await acreate_progress_artifact(0.0, description="Pages of this crawl done")
        session.tracker.budget = max_pages
        ticker = progress.Ticker(session.tracker.snapshot, _reporter(progress_id, session.tracker))
        ticker.start()
        if discover_urls:
            await discover(session)
        session.progress()  # the due count, for the ETA
        fetched, number = 0, 0
        while max_pages is None or fetched < max_pages:
            number += 1
            left = None if max_pages is None else max_pages - fetched
            batches = await step(session, number, left)
            if not batches:
                break
            for batch in batches:
                fetched += batch.fetched
                percent = session.progress()
                await aupdate_progress_artifact(progress_id, percent)
                report.progress(percent, batch)
        await aupdate_progress_artifact(progress_id, session.progress())
    except Exception as exc:
        await finish_run(session, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if ticker is not None:
            await ticker.stop()
    return await finish_run(session, None)


def _reporter(
    progress_id: Any, tracker: progress.RunProgress
) -> Callable[[progress.ProgressSnapshot], Awaitable[None]]:
    """The flow's report during a batch: the progress artifact and a stats line in its log."""

    async def reported(snapshot: progress.ProgressSnapshot) -> None:
        percent = tracker.crawl_percent()
        if percent is not None:
            await aupdate_progress_artifact(progress_id, percent)
        get_run_logger().info("progress: %s", progress.progress_line(snapshot))

    return reported


async def published(result: RunReport) -> State:
    """The run's summary and coverage as artifacts, and the flow's final state."""
    await acreate_markdown_artifact(
        report.summary_markdown(result), key="crawl-summary", description="The crawl run"
    )
    if result.coverage:
        await acreate_table_artifact(
            report.coverage_rows(result),
            key="field-coverage",
            description="Share of pages on which each field was found, against recent runs",
        )
    message = report.terminal_summary(result)
    if result.failed:
        return Failed(message=result.summary.error or message, data=result)
    return Completed(message=message, data=result)
