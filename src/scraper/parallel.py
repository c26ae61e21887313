"""Parsing beside fetching: pages parsed in a worker process while the event loop fetches.

A crawl whose politeness allows hundreds of pages a second (a replica, a bench, a site that
said so) is CPU-bound, and parsing is half of that CPU. `ParsePool` moves it, with link
extraction, to a worker process, so that on two cores one fetches, archives and loads while the
other parses:

    async with ParsePool(config) as pool:
        fetched = await fetch_parsed(fetcher, targets, pool)
        # fetched.results: one FetchResult per target, in order (as Fetcher.fetch_batch)
        # fetched.parsed: the LoadItem and the links of every result that brought a new body

    with ParsePool(workers=2) as pool:                       a reparse: workers read the WARC
        for items in reparse_batches(archive, 1000, pool):   records and parse them; the
            ...                                              caller only loads

Bodies go to the worker in small chunks as they arrive, so parsing starts with the first
responses, not after the whole batch. The worker is spawned, not forked: the crawl process has
threads (Prefect's, the event loop's executor) and a forked copy of their locks can deadlock.

    ParseWorkerError    the worker process died; the batch's parse results are lost
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from scraper import load
from scraper.archive import Archive, ArchiveEntry, latest_entries, read_record
from scraper.config import CrawlConfig
from scraper.discover import Discovery, links_from_page
from scraper.fetch import Fetcher, FetchResult, FetchTarget
from scraper.parse import parse_study

# Pages per message to the worker: enough to amortise pickling and the hop, few enough that the
# worker starts on the first responses of a batch.
CHUNK_PAGES = 16

_Job = tuple[int, bytes, str, datetime]  # (index in the batch, body, final URL, fetched at)


class ParseWorkerError(RuntimeError):
    """The parse worker process died; the batch it was parsing has to be fetched again."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One parsed page and the links it leads to."""

    item: load.LoadItem
    links: Discovery


@dataclass(frozen=True, slots=True)
class FetchedBatch:
    """A fetched batch with its pages parsed: what `CrawlSession` archives, loads and records."""

    targets: tuple[FetchTarget, ...]
    results: list[FetchResult]  # one per target, in order
    side: list[FetchResult]  # robots.txt fetched on the way (archived, never parsed)
    # In the order of `results`, for those that brought a new body; None: not parsed yet.
    parsed: list[Parsed] | None


class ParsePool:
    """Spawned worker processes that parse pages (see the module docstring).

    `config` is the crawl's (links are classified by it); a reparse, which follows no links,
    needs none. Use as a context manager, sync or async: closing waits for the workers.
    """

    def __init__(self, config: CrawlConfig | None = None, *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.config = config or CrawlConfig()
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        # Start the workers now: spawning and importing the parser overlaps with discovery.
        for _ in range(workers):
            self._executor.submit(_parse_chunk, [], self.config)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, jobs: list[_Job]) -> asyncio.Future[list[tuple[int, Parsed]]]:
        """Parse fetched bodies (from a running event loop)."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, _parse_chunk, jobs, self.config)

    def submit_archived(
        self, directory: Path, entries: list[ArchiveEntry]
    ) -> Future[list[load.LoadItem]]:
        """Read archived responses and parse them."""
        return self._executor.submit(_reparse_chunk, str(directory), entries)


async def fetch_parsed(
    fetcher: Fetcher, targets: Sequence[FetchTarget], pool: ParsePool
) -> FetchedBatch:
    """Fetch every target concurrently (within the fetcher's limits) and parse new bodies in the
    pool as they arrive."""
    results: list[FetchResult | None] = [None] * len(targets)
    chunks: list[asyncio.Future[list[tuple[int, Parsed]]]] = []
    waiting: list[_Job] = []

    def send() -> None:
        if waiting:
            chunks.append(pool.submit(list(waiting)))
            waiting.clear()

    async def one(index: int, target: FetchTarget) -> None:
        result = await fetcher.fetch(target)
        results[index] = result
        if result.changed and result.body is not None:
            waiting.append((index, result.body, result.final_url, result.fetched_at))
            if len(waiting) >= CHUNK_PAGES:
                send()

    try:
        async with asyncio.TaskGroup() as group:
            for index, target in enumerate(targets):
                group.create_task(one(index, target))
        send()
        done = [pair for chunk in await asyncio.gather(*chunks) for pair in chunk]
    except BrokenProcessPool as exc:
        raise ParseWorkerError("the parse worker process died") from exc
    finally:
        for chunk in chunks:
            chunk.cancel()  # no-op for finished ones; drops queued work on a failure
    fetched = [result for result in results if result is not None]
    assert len(fetched) == len(targets)  # every fetch returns a result, never raises
    return FetchedBatch(
        targets=tuple(targets),
        results=fetched,
        side=fetcher.take_side_results(),
        parsed=[parsed for _index, parsed in sorted(done, key=lambda pair: pair[0])],
    )


def _parse_chunk(jobs: list[_Job], config: CrawlConfig) -> list[tuple[int, Parsed]]:
    """In the worker: parse each body and find its links (as `pipeline.parse_result` and
    `CrawlSession.merge` would in the crawl process)."""
    parsed = []
    for index, body, url, fetched_at in jobs:
        item = load.LoadItem(page=parse_study(body, url), fetched_url=url, fetched_at=fetched_at)
        parsed.append((index, Parsed(item=item, links=links_from_page(item.page, config))))
    return parsed


# --- reparse -----------------------------------------------------------------------------------

# Archived pages per task of a reparse; the reader keeps a bounded window of them in flight.
REPARSE_CHUNK_PAGES = 32


def reparse_batches(
    archive: Archive, batch_size: int, pool: ParsePool
) -> Iterator[list[load.LoadItem]]:
    """`pipeline.reparse_batches` with the WARC reading and the parsing done by the pool's
    workers, in order. At most a batch and a few chunks per worker are in flight, so memory does
    not grow with the archive."""
    entries = latest_entries(archive.con, pages_only=True)
    chunks = (
        entries[start : start + REPARSE_CHUNK_PAGES]
        for start in range(0, len(entries), REPARSE_CHUNK_PAGES)
    )
    window = 2 * pool.workers + -(-batch_size // REPARSE_CHUNK_PAGES)
    pending: deque[Future[list[load.LoadItem]]] = deque()
    batch: list[load.LoadItem] = []
    try:
        for chunk in chunks:
            pending.append(pool.submit_archived(archive.directory, chunk))
            while len(pending) >= window or (pending and pending[0].done()):
                batch.extend(_result(pending.popleft()))
                while len(batch) >= batch_size:
                    yield batch[:batch_size]
                    batch = batch[batch_size:]
        while pending:
            batch.extend(_result(pending.popleft()))
            while len(batch) >= batch_size:
                yield batch[:batch_size]
                batch = batch[batch_size:]
        if batch:
            yield batch
    finally:
        for future in pending:
            future.cancel()


def _result(future: Future[list[load.LoadItem]]) -> list[load.LoadItem]:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise ParseWorkerError("a parse worker process died") from exc


def _reparse_chunk(directory: str, entries: list[ArchiveEntry]) -> list[load.LoadItem]:
    """In a worker: read each archived response and parse it (as `pipeline.reparse_batches`)."""
    items = []
    for entry in entries:
        response = read_record(Path(directory), entry)
        page = parse_study(response.body, response.target_uri)
        items.append(
            load.LoadItem(
                page=page, fetched_url=response.target_uri, fetched_at=response.fetched_at
            )
        )
    return items
