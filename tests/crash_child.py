"""A crawl in a child process that kills itself with SIGKILL at a chosen moment.

    python -m tests.crash_child BASE_URL DB_PATH [POINT N]

Used by tests/test_crashes.py. The crawl is `scraper.session.CrawlSession` itself, no Prefect
(its start-up would cost seconds per restart). POINT says where the Nth call dies:

    fetch    in `Fetcher._request`, once the Nth response arrived: the batch's other requests
             are in flight, nothing of the batch is archived
    parse    in the crawl's Nth `parse_study`: the batch is archived, not loaded
    load     inside the load transaction: every statement of the Nth `_write_staged` ran, the
             COMMIT did not
    record   inside the frontier's transaction of the Nth `record`: the batch is loaded and
             committed, its visits are not recorded
    archive  in the middle of the Nth WARC record: the file ends in a torn gzip member

Without POINT the crawl runs to its end and the process exits 0.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scraper import fetcher, frontier, load, parse, warc
from scraper.config import CrawlConfig
from scraper.session import CrawlSession

MAX_BATCHES = 100  # a safety net: the test's site needs well under 20


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def counting(kill_at: int, after: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """A decorator that runs the wrapped function and dies on its `kill_at`-th call."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        calls = 0

        def tick(*args: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == kill_at:
                if after is not None:
                    after(*args)
                die()

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                result = await function(*args, **kwargs)
                tick(*args)
                return result

            return wrapped_async

        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            tick(*args)
            return result

        return wrapped

    return decorate


def tear_last_record(writer: warc.WarcWriter, *_: Any) -> None:
    """Cut the file inside the record just written, as a crash mid-write would leave it."""
    handle = writer._file  # test-only: reach the open WARC file
    assert handle is not None
    handle.flush()
    size = handle.tell()
    handle.truncate(size - min(size // 4, 200))
    os.fsync(handle.fileno())


# Where each kill point sits: (object, attribute, what to do just before dying).
POINTS: dict[str, tuple[object, str, Callable[..., Any] | None]] = {
    "fetch": (fetcher.Fetcher, "_request", None),
    "parse": (parse, "parse_study", None),
    "load": (load, "_write_staged", None),
    "record": (frontier.Frontier, "_update_pages", None),
    "archive": (warc.WarcWriter, "_write_exchange", tear_last_record),
}


def arm(point: str, kill_at: int) -> None:
    """Install the kill at `point` (see the module docstring)."""
    owner, name, after = POINTS[point]
    setattr(owner, name, counting(kill_at, after)(getattr(owner, name)))


def config(base_url: str) -> CrawlConfig:
    return CrawlConfig(
        base_url=base_url,
        rate=200.0,
        concurrency=2,
        batch_size=5,
        backoff_initial_s=0.01,
        backoff_jitter_s=0.01,
    )


async def crawl(base_url: str, db_path: Path) -> None:
    async with CrawlSession.open(config(base_url), db_path) as session:
        await session.discover()
        for _ in range(MAX_BATCHES):
            if await session.run_batch() is None:
                break
        session.finish()


def main(argv: list[str]) -> None:
    base_url, db_path = argv[0], Path(argv[1])
    if len(argv) == 4:
        arm(argv[2], int(argv[3]))
    asyncio.run(crawl(base_url, db_path))


if __name__ == "__main__":
    main(sys.argv[1:])
