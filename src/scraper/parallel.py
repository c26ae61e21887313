"""Work beside the crawl process: crawl workers that fetch, parse and encode, and reparse workers.

A crawl whose politeness allows hundreds of pages a second (a replica, a bench, a site that said
so) is CPU-bound: fetching through httpx, parsing and encoding WARC records are most of it, and
DuckDB has one writer. `CrawlWorkers` moves everything but the writing to worker processes, so
on two cores the crawl process only stores (appends WARC bytes, loads, records) while the workers
fetch and parse, and a recrawl's 304s are fetched on both cores as well:

    with CrawlWorkers(config, workers=2) as workers:
        fetched = await crawl_in_workers(workers, targets, crawl_id)
        # fetched.results: one FetchResult per target, in order (as Fetcher.fetch_batch)
        # fetched.parsed: the LoadItem and links of every result that brought a new body
        # fetched.encoded: the WARC records of every result, ready for Archive.append_encoded

Each worker keeps one `Fetcher` (client, keep-alive connections, robots.txt, host limiter) on its
own event loop for the whole crawl, with `config.for_shard(workers)`: the host's rate, requests
in flight and Crawl-delay are split between the workers, never multiplied by them. A worker
fetches a chunk of 32 pages, then parses and encodes them. Workers are spawned, not
forked: the crawl process has threads (Prefect's, the event loop's executor) and a forked copy of
their locks can deadlock.

    with ParsePool(workers=2) as pool:                       a reparse: workers read the WARC
        for items in reparse_batches(archive, 1000, pool):   records and parse them; the
            ...                                              caller only loads

    ParseWorkerError    a worker process died; the batch it held has to be fetched again
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from scraper import worker_start
from scraper.config import CrawlConfig
from scraper.discover import Discovery, links_from_page
from scraper.fetcher import Fetcher, in_order
from scraper.parse import parse_study
from scraper.records import LoadItem
from scraper.responses import FetchResult, FetchTarget
from scraper.warc import ArchiveEntry, EncodedExchange, encode_result, read_record

# Targets per job sent to a crawl worker: enough to keep its share of the requests in flight
# busy and amortise the hop, few enough that both workers stay busy to the end of a batch.
CHUNK_TARGETS = 32


class ParseWorkerError(RuntimeError):
    """A worker process died; the batch it held has to be fetched again."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One parsed page and the links it leads to."""

    item: LoadItem
    links: Discovery


@dataclass(frozen=True, slots=True)
class FetchedBatch:
    """A fetched batch: what `CrawlSession` archives, loads and records."""

    targets: tuple[FetchTarget, ...]
    results: list[FetchResult]  # one per target, in order (from workers: without exchanges)
    side: list[FetchResult]  # robots.txt fetched on the way (archived, never parsed)
    # In the order of `results`, for those that brought a new body; None: not parsed yet.
    parsed: list[Parsed] | None = None
    # The WARC records of `results`, in order; None: not encoded yet.
    encoded: list[EncodedExchange] | None = None


@dataclass(frozen=True, slots=True)
class _Crawled:
    """What a worker sends back for one chunk of targets."""

    results: list[FetchResult]  # without their exchanges (`FetchResult.without_exchanges`)
    parsed: list[Parsed]  # as `FetchedBatch.parsed`
    encoded: list[EncodedExchange]  # as `FetchedBatch.encoded`
    side: list[FetchResult]


def parse_results(results: Iterable[FetchResult]) -> list[LoadItem]:
    """Parse what is new (pure: no I/O). Unchanged pages, failures and refusals cost nothing."""
    return [item for result in results if (item := parse_result(result)) is not None]


def parse_result(result: FetchResult) -> LoadItem | None:
    """The parsed page of one fetch, or None when it brought no new body."""
    if not result.changed or result.body is None:
        return None
    return LoadItem(
        page=parse_study(result.body, result.final_url),
        fetched_url=result.final_url,
        fetched_at=result.fetched_at,
    )


class _Pool:
    """Worker processes, closed (and waited for) on leaving a `with` block."""

    _executor: ProcessPoolExecutor

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class CrawlWorkers(_Pool):
    """Spawned processes that fetch, parse and encode for the crawl (see the module docstring)."""

    def __init__(self, config: CrawlConfig, *, workers: int = 2) -> None:
        self.workers = workers
        self.config = config.for_shard(workers)  # refuses workers < 1
        self._executor, self._warm_ups = self._start()
        self._released = False

    def _start(self) -> tuple[ProcessPoolExecutor, list[Future[Any]]]:
        return _spawned(
            self.workers,
            _crawl_chunk,
            ((), None),
            start=f"{__name__}:_start_crawl_worker",
            args=(self.config,),
        )

    def restart(self) -> None:
        """New workers after one died (a pool with a dead worker refuses all further work)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor, self._warm_ups = self._start()

    @property
    def ready(self) -> bool:
        """Every worker has started (imported, read robots.txt) and none was let go."""
        return not self._released and all(warm_up.done() for warm_up in self._warm_ups)

    def release(self) -> None:
        """Let the workers exit without waiting for them (nothing is due): they wind down while
        the run is being closed. Work submitted later starts new ones."""
        self._executor.shutdown(wait=False)
        self._released = True

    def submit(
        self, targets: Sequence[FetchTarget], crawl_id: str | None
    ) -> asyncio.Future[_Crawled]:
        """Crawl a chunk of targets in whichever worker is free (from a running event loop)."""
        if self._released:
            (self._executor, self._warm_ups), self._released = self._start(), False
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, _crawl_chunk, tuple(targets), crawl_id)


async def crawl_in_workers(
    workers: CrawlWorkers, targets: Sequence[FetchTarget], crawl_id: str | None
) -> FetchedBatch:
    """Fetch, parse and encode every target in the workers; results in input order."""
    if not targets:
        return FetchedBatch(targets=(), results=[], side=[], parsed=[], encoded=[])
    chunks = [
        workers.submit(targets[start : start + CHUNK_TARGETS], crawl_id)
        for start in range(0, len(targets), CHUNK_TARGETS)
    ]
    try:
        done = await asyncio.gather(*chunks)
    except BrokenProcessPool as exc:
        workers.restart()  # so that the batch, given back, can be crawled again
        raise ParseWorkerError("a crawl worker process died") from exc
    finally:
        for chunk in chunks:
            chunk.cancel()  # no-op for finished ones; drops queued work on a failure
    results = [result for crawled in done for result in crawled.results]
    assert len(results) == len(targets)  # every fetch returns a result, never raises
    return FetchedBatch(
        targets=tuple(targets),
        results=results,
        side=[result for crawled in done for result in crawled.side],
        parsed=[parsed for crawled in done for parsed in crawled.parsed],
        encoded=[exchange for crawled in done for exchange in crawled.encoded],
    )


def _spawned(
    workers: int,
    warm_up: Callable[..., object],
    warm_up_args: tuple[object, ...],
    *,
    start: str | None = None,
    args: tuple[Any, ...] = (),
) -> tuple[ProcessPoolExecutor, list[Future[Any]]]:
    """`workers` spawned processes, started now with a no-op job each (returned: done once the
    worker is up): spawning and importing overlap with the caller's own setup (discovery,
    opening the warehouse). Each runs `scraper.worker_start` first, then `start`
    ("module:function") with `args`."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_start.run,
        initargs=(start, *args),
    )
    return executor, [executor.submit(warm_up, *warm_up_args) for _ in range(workers)]


# --- in a crawl worker process -------------------------------------------------------------------


@dataclass(slots=True)
class _Worker:
    """A worker process's lasting state: its event loop and its fetcher."""

    config: CrawlConfig
    loop: asyncio.AbstractEventLoop
    fetcher: Fetcher


_worker: _Worker | None = None


def _start_crawl_worker(config: CrawlConfig) -> None:
    global _worker  # noqa: PLW0603  # one per process, by design: it lives as long as the process
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    fetcher = loop.run_until_complete(_open_fetcher(config))
    _worker = _Worker(config=config, loop=loop, fetcher=fetcher)


async def _open_fetcher(config: CrawlConfig) -> Fetcher:
    fetcher = Fetcher(config)  # made inside the loop that will use it
    # robots.txt now, while the crawl process is still discovering: the first requests need it.
    await fetcher.robots(config.base_url)
    return fetcher


def _crawl_chunk(targets: tuple[FetchTarget, ...], crawl_id: str | None) -> _Crawled:
    assert _worker is not None, "not in a crawl worker"
    return _worker.loop.run_until_complete(_crawl(_worker, targets, crawl_id))


async def _crawl(
    worker: _Worker, targets: tuple[FetchTarget, ...], crawl_id: str | None
) -> _Crawled:
    """Fetch the chunk concurrently, then parse and encode it.

    Not each page the moment it arrives: alternating between the HTTP stack and the parser or
    WARC writer page by page kept neither in the CPU's caches. Done a chunk at a time, a worker
    spends ~10% less CPU on a 304 and ~12% less on a new page (measured on loopback).
    """
    fetched = await in_order(targets, worker.fetcher.fetch, worker.fetcher.runners)
    parsed, encoded = parse_and_encode(fetched, worker.config, crawl_id)
    return _Crawled(
        # Archived and parsed here: the bytes need not cross back.
        results=[result.without_exchanges() for result in fetched],
        parsed=parsed,
        encoded=encoded,
        side=worker.fetcher.take_side_results(),
    )


def parse_and_encode(
    results: Sequence[FetchResult], config: CrawlConfig, crawl_id: str | None
) -> tuple[list[Parsed], list[EncodedExchange]]:
    """What a crawl worker makes of fetched pages (the crawl process too, for pages it fetched
    while the workers started): the parsed ones (those that brought a new body) and every
    exchange's WARC records, in order."""
    parsed = [p for result in results if (p := _parsed(result, config)) is not None]
    return parsed, [exchange for result in results for exchange in encode_result(result, crawl_id)]


def _parsed(result: FetchResult, config: CrawlConfig) -> Parsed | None:
    item = parse_result(result)
    return Parsed(item=item, links=links_from_page(item.page, config)) if item else None


# --- reparse workers -----------------------------------------------------------------------------


class ParsePool(_Pool):
    """Spawned worker processes that read archived pages and parse them (a reparse)."""

    def __init__(self, *, workers: int = 1) -> None:
        self.workers = workers
        self._executor, _ = _spawned(workers, _reparse_chunk, ("", []))

    def submit_archived(
        self, directory: Path, entries: list[ArchiveEntry]
    ) -> Future[list[LoadItem]]:
        """Read archived responses and parse them."""
        return self._executor.submit(_reparse_chunk, str(directory), entries)


# Archived pages per task of a reparse; the reader keeps a bounded window of them in flight.
REPARSE_CHUNK_PAGES = 32


def reparse_batches(
    entries: list[ArchiveEntry], directory: Path, batch_size: int, pool: ParsePool
) -> Iterator[list[LoadItem]]:
    """`pipeline.reparse_batches` with the WARC reading and the parsing done by the pool's
    workers, in order: the records `entries` point at in `directory` (`archive.latest_entries`).
    At most a batch and a few chunks per worker are in flight, so memory does not grow with the
    archive."""
    chunks = (
        entries[start : start + REPARSE_CHUNK_PAGES]
        for start in range(0, len(entries), REPARSE_CHUNK_PAGES)
    )
    window = 2 * pool.workers + -(-batch_size // REPARSE_CHUNK_PAGES)
    pending: deque[Future[list[LoadItem]]] = deque()
    batch: list[LoadItem] = []
    try:
        for chunk in chunks:
            pending.append(pool.submit_archived(directory, chunk))
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


def _result(future: Future[list[LoadItem]]) -> list[LoadItem]:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise ParseWorkerError("a parse worker process died") from exc


def _reparse_chunk(directory: str, entries: list[ArchiveEntry]) -> list[LoadItem]:
    """In a worker: read each archived response and parse it (as `pipeline.reparse_batches`)."""
    items = []
    for entry in entries:
        response = read_record(Path(directory), entry)
        page = parse_study(response.body, response.target_uri)
        items.append(
            LoadItem(page=page, fetched_url=response.target_uri, fetched_at=response.fetched_at)
        )
    return items
