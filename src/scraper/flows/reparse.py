"""The reparse flow: rebuild every record from the WARC archive with the current parser.

No network: the archive's newest page bodies are parsed again a batch at a time
(`parse-archived`) and loaded over the stored records (`reparse-batch`); the run's bookkeeping is
`scraper.reparse.ReparseRun`. Parse tasks go to the flow's task runner: threads of this process
by default, or Dask workers (run the flow with `scaleout.dask_runner(n)`) while this process only
loads. A few batches are parsed ahead of the one being loaded, never the whole archive.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Cancelled, Completed, Failed
from prefect.utilities.annotations import quote

from scraper import lease, load, progress, spool
from scraper import reparse as library
from scraper.flows.crawl import progress_reporter
from scraper.reparse import ParsedBatch, ReparseRun
from scraper.warc import ArchiveEntry


@task(name="parse-archived", task_run_name="parse-{number}", cache_policy=NO_CACHE)
def parse_archived(directory: str, entries: list[ArchiveEntry], number: int) -> ParsedBatch:
    """Read one batch of archived pages and parse them (on a worker: no database needed)."""
    return library.parse_archived(directory, entries)


@task(name="reparse-batch", task_run_name="reparse-{number}", cache_policy=NO_CACHE)
def reparse_batch(run: ReparseRun, batch: ParsedBatch, number: int) -> load.LoadStats:
    """Load one batch of reparsed pages over the stored records."""
    stats = run.load(batch)
    get_run_logger().info("reparse batch %d: %s", number, stats)
    return stats


@flow(name="reparse")
async def reparse(
    db: str = "warehouse.duckdb",
    archive_dir: str | None = None,
    batch_size: int = 200,
    parse_workers: int = 0,
) -> State:
    """Parse the archive again into the warehouse `db`.

    `parse_workers`: the Dask workers the flow runs with (`scaleout.dask_runner`), so that as
    many batches are parsed at once; 0: parsing in a thread beside the loading.
    """
    try:
        held = lease.Lease.acquire(db, flow_run_id=str(flow_run.id), kind="reparse")
    except lease.WarehouseBusy as busy:  # a crawl writes it: rebuilding under it would race
        get_run_logger().warning("skipped: %s", busy)
        return Cancelled(name="Skipped", message=str(busy))
    # Checked under the lease: no crawl can be spooling meanwhile. One line, no traceback.
    if waiting := spool.unloaded_message(Path(db)):
        held.release()
        get_run_logger().error("reparse refused: %s", waiting)
        return Failed(message=waiting)
    with held, ReparseRun.open(db, archive_dir=archive_dir, flow_run_id=flow_run.id) as run:
        held.update(run_id=run.run_id)
        chunks = list(run.chunks(batch_size))  # the entries are read at once anyway
        tracker = progress.RunProgress()
        tracker.set_remaining(sum(len(chunk) for chunk in chunks))
        progress_id = await acreate_progress_artifact(0.0, description="Archived pages reparsed")
        reporter = progress_reporter(progress_id, tracker)
        async with progress.ticking(tracker.snapshot, reporter):
            ahead = 2 * max(1, parse_workers)
            async for number, batch in _parsed(run, chunks, ahead):
                # quote: Prefect would otherwise walk every record looking for futures (a
                # second per 1,000 pages); the task receives the batch itself.
                quoted: Any = quote(batch)
                reparse_batch(run, quoted, number)
                unreadable = len(batch.unreadable)
                tracker.add_pages(len(batch.items) + unreadable, {"unreadable": unreadable})
        await reporter(tracker.snapshot())
        result = run.finish()
    await acreate_markdown_artifact(f"# Reparse\n\n{result.message}", key="reparse-summary")
    return Completed(
        message=result.message,
        data={"pages": result.pages, "changed": result.changed, "unreadable": result.unreadable},
    )


async def _parsed(
    run: ReparseRun, chunks: list[list[ArchiveEntry]], ahead: int
) -> AsyncIterator[tuple[int, ParsedBatch]]:
    """(number, parsed batch) in archive order, with up to `ahead` batches submitted at once. On
    an error the few batches still being parsed are left to finish and dropped."""
    pending: deque[tuple[int, PrefectFuture[ParsedBatch]]] = deque()
    directory = str(run.directory)
    for number, entries in enumerate(chunks, start=1):
        # Not `quote`d: prefect-dask hands a quoted list to the task as a tuple of tuples.
        pending.append((number, parse_archived.submit(directory, entries, number)))
        if len(pending) >= ahead:
            yield await _next(pending)
    while pending:
        yield await _next(pending)


async def _next(
    pending: deque[tuple[int, PrefectFuture[ParsedBatch]]],
) -> tuple[int, ParsedBatch]:
    number, future = pending.popleft()
    # Waiting blocks: a thread keeps the flow's event loop free meanwhile.
    return number, await asyncio.to_thread(future.result)
