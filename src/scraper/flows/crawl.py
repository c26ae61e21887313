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

import os
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, get_client, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Cancelled, Completed, Failed

from scraper import db as warehouse_db
from scraper import lease, progress, report
from scraper import session as sessions
from scraper.budget import parse_duration
from scraper.config import CrawlConfig, PriorityPolicy, default_user_agent
from scraper.report import BatchReport, RunReport
from scraper.session import CrawlSession
from scraper.urls import DEFAULT_SITE

# The name of the Completed state a run stopped by SIGTERM or Ctrl-C ends in.
STOPPED = "Stopped"

# One step of a run: a batch here, a round of shards in the scale-out; [] when nothing is due.
# Its arguments: the session, the step's number, and how many pages it may fetch at most (None:
# no limit), so that `max_pages` caps the last step instead of letting it fetch a whole batch.
Step = Callable[[CrawlSession, int, int | None], Awaitable[Sequence[BatchReport]]]


# What a full or read-only disk raises: the archive's writes (OSError) and DuckDB's.
UNWRITABLE = (OSError, duckdb.IOException, warehouse_db.WarehouseError)


@dataclass(frozen=True, slots=True)
class Unwritable:
    """A batch that could not be written: the run ends Failed with this one line."""

    message: str


class RunAborted(Exception):
    """The run cannot go on (its disk refuses writes); `message` is the one line it ends with."""


def unwritable_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"cannot write{where}: {exc.strerror}"
    if isinstance(exc, warehouse_db.WarehouseError):  # says itself what is wrong with the file
        return warehouse_db.first_line(exc)
    return f"cannot write: {warehouse_db.first_line(exc)}"


# No task tags: Prefect takes a tag concurrency slot, with a lease, for every tagged task run,
# which can stall a run for seconds. A deployment's runs carry their tags.
@task(name="discover", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
async def discover(session: CrawlSession) -> int | Unwritable:
    """robots.txt -> sitemap index -> sitemaps, plus seeds, into the frontier (`Unwritable` when
    the disk refuses the archive's writes, as for a batch)."""
    try:
        added = await session.discover()
    except UNWRITABLE as exc:
        return Unwritable(unwritable_message(exc))
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
) -> BatchReport | Unwritable | None:
    """Fetch, archive, parse, load and record one batch of at most `limit` pages (its claims are
    released on failure). A disk that refuses the write (full, read-only) comes back as
    `Unwritable`: raised here, Prefect would retry it and log its traceback."""
    try:
        batch = await session.run_batch(limit)
    except UNWRITABLE as exc:
        return Unwritable(unwritable_message(exc))
    if batch is not None and batch.pending:
        get_run_logger().info(
            "batch %d: %d pages fetched, to be loaded when a reader lets go of the warehouse",
            number,
            batch.pending,
        )
    elif batch is not None:
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


def crawl_config(  # noqa: PLR0917  # one parameter per flow parameter, in the flow's order
    base_url: str,
    concurrency: int,
    rate: float,
    batch_size: int,
    contact_url: str | None,
    budget: int | None = None,
    until: str | None = None,
    priority: PriorityPolicy = "change-rate",
    seed_keywords: list[str] | None = None,
    sweep: bool = True,
) -> CrawlConfig:
    """The flows' parameters as the library's settings; `until` (a duration such as "8h") is
    counted from now. Seed keywords given explicitly have their listings read on every
    discovery; by default the config's own are read only when the site has no usable sitemap.
    `sweep` False: a budget left over the spend-ahead floors is not spent on the pages unread
    longest (`CrawlConfig.sweep_after` None)."""
    config = CrawlConfig(
        base_url=base_url,
        concurrency=concurrency,
        rate=rate,
        batch_size=batch_size,
        user_agent=default_user_agent(contact_url) if contact_url else default_user_agent(),
        max_requests=budget,
        deadline=datetime.now(UTC) + parse_duration(until) if until else None,
        priority=priority,
    )
    if not sweep:
        config = config.with_options(sweep_after=None)
    if seed_keywords:
        config = config.with_options(seed_keywords=tuple(seed_keywords), seed_listings=True)
    return config


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
    budget: int | None = None,
    until: str | None = None,
    priority: PriorityPolicy = "change-rate",
    seed_keywords: list[str] | None = None,
    sweep: bool = True,
) -> State:
    """Crawl `base_url` into the DuckDB file `db` (the live site by default, politely).

    `budget`: HTTP requests the run may make (robots.txt, sitemaps, pages, retries, redirects);
    `until`: how long it may claim pages (a duration: "8h", "90m", "1h30m"). A run that reaches
    either completes, and says what it left due. `priority`: the order due pages are fetched in
    ("change-rate", or "due-order": longest overdue first). `sweep`: whether a budget left once
    nothing due or likely changed remains goes to the pages unread a day or more.

    `db_memory_limit` caps DuckDB's block cache (e.g. "512MB"; default: DuckDB's own, most of
    the machine's memory).
    """
    config = crawl_config(
        base_url,
        concurrency,
        rate,
        batch_size,
        contact_url,
        budget,
        until,
        priority,
        seed_keywords,
        sweep,
    )
    try:
        async with held_session(
            config, Path(db), archive_dir=archive_dir, full=full, memory_limit=db_memory_limit
        ) as (session, held):
            result = await run_steps(session, _batch, max_pages, discover_urls, held=held)
    except lease.WarehouseBusy as busy:
        return skipped(busy)
    except (RunAborted, *UNWRITABLE) as exc:
        return aborted(exc)
    return await published(result)


def aborted(exc: BaseException) -> State:
    """A run its disk stopped (full, read-only, a missing directory): Failed with one line, and
    one line in the logs, instead of the traceback Prefect logs for a raised exception."""
    message = str(exc) if isinstance(exc, RunAborted) else unwritable_message(exc)
    get_run_logger().error("run failed: %s", message)
    return Failed(message=message)


@asynccontextmanager
async def held_session(
    config: CrawlConfig,
    db: Path,
    *,
    archive_dir: str | None,
    full: bool,
    memory_limit: str | None,
) -> AsyncIterator[tuple[CrawlSession, lease.Lease]]:
    """The warehouse's lease (or `WarehouseBusy`), then the session, with SIGTERM and Ctrl-C
    turned into a stop after the requests in flight; the flow run is renamed `crawl-<run id>`."""
    with (
        lease.Lease.acquire(db, flow_run_id=_flow_run_id()) as held,
        stopping_on_signals(),
    ):
        async with CrawlSession.open(
            config,
            db,
            archive_dir=archive_dir,
            full=full,
            flow_run_id=flow_run.id,
            memory_limit=memory_limit,
        ) as session:
            held.update(run_id=session.run_id)
            await _name_flow_run(f"crawl-{session.run_id}")
            yield session, held


def skipped(busy: lease.WarehouseBusy) -> State:
    """A run that found the warehouse held by another: it did nothing and says so, one line
    (Cancelled, so that the UI shows it skipped rather than failed)."""
    get_run_logger().warning("skipped: %s", busy)
    return Cancelled(name="Skipped", message=str(busy))


def _flow_run_id() -> str | None:
    return str(flow_run.id) if flow_run.id else None


async def _name_flow_run(name: str) -> None:
    """Name the flow run after the warehouse's run number, which exists only once the session
    opened it (a `flow_run_name` template cannot know it)."""
    if not flow_run.id:
        return
    async with get_client() as client:
        await client.update_flow_run(flow_run.id, name=name)


# The signal that asked the current run to stop, for the CLI's exit code (130 or 143).
_stop_signal: list[int] = []


def stop_signal() -> int | None:
    """SIGTERM or SIGINT if one stopped the last run, else None."""
    return _stop_signal[-1] if _stop_signal else None


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """While a run goes: the first SIGTERM or SIGINT asks it to stop after the requests in
    flight (it then loads what was fetched and closes as `stopped`); a second one does what it
    did before. A cancellation from the Prefect UI reaches a served run as SIGTERM too. Signal
    handlers can be set only from the main thread; elsewhere nothing changes."""
    sessions.clear_stop()
    _stop_signal.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def stop(signum: int, frame: Any) -> None:
        if sessions.stop_requested():  # asked twice: stop now, the old way
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:  # the default: end the process by that signal
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return  # SIG_IGN: it was ignored before, so it is now
        _stop_signal.append(signum)
        sessions.request_stop()

    for signum in previous:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


async def _batch(session: CrawlSession, number: int, limit: int | None) -> list[BatchReport]:
    batch = await crawl_batch(session, number, limit)
    if isinstance(batch, Unwritable):
        raise RunAborted(batch.message)
    return [batch] if batch is not None else []


async def run_steps(
    session: CrawlSession,
    step: Step,
    max_pages: int | None,
    discover_urls: bool,
    *,
    held: lease.Lease | None = None,
) -> RunReport:
    """Discovery, then steps until nothing is due, `max_pages` were fetched or a stop was asked
    for, then the run's end. An error closes the run as failed, with the reason, before it
    propagates. The progress artifact and a progress line in the run's log move meanwhile."""
    try:
        progress_id = await acreate_progress_artifact(0.0, description="Pages of this crawl done")
        session.tracker.budget = max_pages  # pages; a request budget is no page count
        reporter = progress_reporter(progress_id, session.tracker, held)
        async with progress.ticking(session.tracker.snapshot, reporter):
            if discover_urls and isinstance(found := await discover(session), Unwritable):
                raise RunAborted(found.message)
            session.progress()  # the due count, for the ETA
            fetched, number = 0, 0
            while (max_pages is None or fetched < max_pages) and not sessions.stop_requested():
                number += 1
                left = None if max_pages is None else max_pages - fetched
                batches = await step(session, number, left)
                if not batches:
                    break
                for batch in batches:
                    fetched += batch.fetched
                    if held is not None:
                        held.update(pages=fetched)
                    await aupdate_progress_artifact(progress_id, session.progress())
            await aupdate_progress_artifact(progress_id, session.progress())
    except Exception as exc:
        await finish_run(session, f"{type(exc).__name__}: {exc}")
        raise
    return await finish_run(session, None)


def progress_reporter(
    progress_id: Any, tracker: progress.RunProgress, held: lease.Lease | None = None
) -> Callable[[progress.ProgressSnapshot], Awaitable[None]]:
    """A flow's report while it runs, also during a batch: the progress artifact, a stats line
    in its log and, given the run's lease, the pages done in it, which `scraper status` shows
    while the batch goes (the warehouse learns of them only when the batch is loaded)."""

    async def reported(snapshot: progress.ProgressSnapshot) -> None:
        percent = tracker.crawl_percent()
        if percent is not None:
            await aupdate_progress_artifact(progress_id, percent)
        get_run_logger().info("progress: %s", progress.progress_line(snapshot))
        if held is not None:
            held.update(pages=snapshot.done)

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
            description=f"Run {result.run_id} (crawl_runs.run_id): share of pages (%) on which"
            " each field was found, against recent runs",
        )
    message = report.terminal_summary(result)
    if result.failed:
        return Failed(message=result.summary.error or message, data=result)
    if result.summary.status == "stopped":
        if await _being_cancelled():
            # Cancelled in the UI: the runner's SIGTERM stopped the run. From Cancelling the
            # server accepts only Cancelled; a Completed is refused, and the engine then exits
            # with a traceback and status 1 before the runner sets Cancelled without our summary.
            return Cancelled(message=message, data=result)
        # A stop the user asked for is no error: Completed, named "Stopped". Prefect logs a flow
        # run that ends in any other state (Cancelled too) at ERROR.
        return Completed(name=STOPPED, message=message, data=result)
    return Completed(message=message, data=result)


async def _being_cancelled() -> bool:
    """Whether the server holds this flow run as Cancelling (the UI's Cancel button, which the
    runner of a served run delivers as SIGTERM: it is set before the signal is sent)."""
    if not flow_run.id:
        return False
    async with get_client() as client:
        state = (await client.read_flow_run(flow_run.id)).state
    return state is not None and state.is_cancelling()
