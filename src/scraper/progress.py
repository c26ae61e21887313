"""A run's progress as people watch it: counted page by page, shown as one live line or logged.

`RunProgress` counts what a run has done so far (pages, bytes, failures by reason) as each page
comes back, not only when a batch ends; `CrawlSession` feeds it. `ProgressSnapshot` is one reading
of it and `progress_line` its one-line text: pages done of due, rate, ETA, failures, bytes.

Who shows it is installed by the caller: `show_to(display)` for the block, and the flows call
`show(snapshot)` on a timer (`ticking`). The CLI installs a `LiveLine` (rich, redrawn in place)
on a terminal and a `LogLines` (a plain line every ~30 s) otherwise, so a crawl piped to a file
or a journal still says how far it got.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, Protocol

from scraper.responses import FetchResult

log = logging.getLogger(__name__)

# How often a plain progress line is logged when stdout is not a terminal (Scrapy's LogStats
# logs every 60 s; a crawl at 1 page/s moves enough in 30 s to be worth a line).
LOG_INTERVAL_S = 30.0
# How often the flows read the progress: the live line's refresh, and the pace at which the
# Prefect artifact and the flow's log line are checked (they update at most once a minute).
TICK_S = 1.0
FLOW_REPORT_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressSnapshot:
    """One reading of a run's progress."""

    done: int  # pages visited by this run, whatever their outcome
    due: int | None  # pages this run has to do in all (done + still due); None: not known yet
    budget: int | None  # the most pages the run may fetch (`--max-pages`); None: no cap
    elapsed_s: float
    bytes_received: int
    failures: dict[str, int] = field(default_factory=dict)  # reason -> pages
    # 404/410: gone, as the closing line says (`removed`), never failures -- a search listing
    # past its last page answers 404 by design
    removed: int = 0

    @property
    def target(self) -> int | None:
        """The page count the ETA runs to: the budget when it is the nearer end."""
        if self.budget is None:
            return self.due
        return self.budget if self.due is None else min(self.budget, self.due)

    @property
    def rate(self) -> float:
        """Pages per second since the run started."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        target = self.target
        if target is None or self.rate <= 0:
            return None
        return max(target - self.done, 0) / self.rate


def progress_line(snapshot: ProgressSnapshot) -> str:
    """`120/5,000 pages · 0.98/s · ETA 1h23m · 1 removed · 2 failed (HTTP 503: 2) · 4.1 MiB`."""
    target = snapshot.target
    of = f"/{target:,}" if target is not None else ""
    eta = snapshot.eta_s
    parts = [
        f"{snapshot.done:,}{of} pages",
        f"{snapshot.rate:.2f}/s",
        f"ETA {_duration(eta)}" if eta is not None else "ETA ?",
    ]
    if snapshot.removed:
        parts.append(f"{snapshot.removed:,} removed")
    failed = sum(snapshot.failures.values())
    if failed:
        reasons = Counter(snapshot.failures).most_common(3)
        parts.append(f"{failed} failed (" + ", ".join(f"{r}: {n}" for r, n in reasons) + ")")
    parts.append(_size(snapshot.bytes_received))
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class RunProgress:
    """What a run has done so far, counted as pages come back.

    Pages fetched in this process are counted by `fetched` as each arrives; a batch's results
    are then `settled`, which counts those fetched elsewhere (a shard on a Dask worker) once.
    A lock: Prefect may run a batch task in another thread than the flow that reads it.
    """

    def __init__(self, *, budget: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.budget = budget
        self._clock = clock
        self._started = clock()
        self._done = 0
        self._bytes = 0
        self._failures: Counter[str] = Counter()
        self._removed = 0
        self._remaining: int | None = None
        self._remaining_at = 0  # `_done` when `_remaining` was read
        self._visited = 0  # the crawl's visits (over all its runs) when `_remaining` was read
        self._live: set[str] = set()  # target URLs of this batch already counted
        self._lock = threading.Lock()

    def fetched(self, result: FetchResult) -> None:
        """One page came back (or gave up)."""
        with self._lock:
            self._count(result)
            self._live.add(result.url)

    def settled(self, results: Iterable[FetchResult]) -> None:
        """A batch was loaded: count the pages `fetched` did not see, and start the next."""
        with self._lock:
            for result in results:
                if result.url not in self._live:
                    self._count(result)
            self._live.clear()

    def set_remaining(self, remaining: int, visited: int = 0) -> None:
        """The pages still due in the run's crawl and those it visited, over all its runs (read
        from the frontier between batches)."""
        self._remaining, self._remaining_at, self._visited = remaining, self._done, visited

    def crawl_percent(self) -> float | None:
        """The share of the crawl done, as `CrawlSession.progress` reads it at a batch's end,
        moved on by the pages done since; None before the frontier was read."""
        if self._remaining is None:
            return None
        since = self._done - self._remaining_at
        total = self._visited + self._remaining
        return min(100.0, 100.0 * (self._visited + since) / total) if total else 100.0

    def add_pages(self, count: int, failures: dict[str, int] | None = None) -> None:
        """Pages done without a fetch (a reparse's batch), with the failures among them."""
        self._done += count
        self._failures.update({reason: n for reason, n in (failures or {}).items() if n})

    def add_bytes(self, count: int) -> None:
        """Bytes received outside page fetches (robots.txt, sitemaps)."""
        self._bytes += count

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> ProgressSnapshot:
        due = None
        if self._remaining is not None:
            # pages done since the frontier was read came out of its remaining count
            due = self._remaining_at + max(self._remaining, self._done - self._remaining_at)
        return ProgressSnapshot(
            done=self._done,
            due=due,
            budget=self.budget,
            elapsed_s=self._clock() - self._started,
            bytes_received=self._bytes,
            failures=dict(self._failures),
            removed=self._removed,
        )

    def _count(self, result: FetchResult) -> None:
        self._done += 1
        self._bytes += result.bytes
        if result.gone:
            self._removed += 1
        elif result.error is not None:
            self._failures[result.error] += 1


# --- who shows it --------------------------------------------------------------------------------
class Display(Protocol):
    def show(self, snapshot: ProgressSnapshot) -> None: ...


class LogLines:
    """A plain progress line every `interval` seconds, for output that is not a terminal."""

    def __init__(
        self,
        stream: IO[str],
        *,
        interval: float = LOG_INTERVAL_S,
        label: str = "crawl",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.label = label
        self._clock = clock
        self._last = clock()

    def show(self, snapshot: ProgressSnapshot) -> None:
        now = self._clock()
        if now - self._last < self.interval:
            return
        self._last = now
        self.stream.write(f"{self.label}: {progress_line(snapshot)}\n")
        self.stream.flush()


class LiveLine:
    """One line redrawn in place on a terminal (rich's Live), gone when the run ends."""

    def __init__(self, stream: IO[str], *, label: str = "crawl") -> None:
        from rich.console import Console  # noqa: PLC0415  # rich: only for a terminal
        from rich.live import Live  # noqa: PLC0415

        self.label = label
        self._live = Live("", console=Console(file=stream), transient=True, auto_refresh=False)

    def __enter__(self) -> LiveLine:
        self._live.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._live.stop()

    def show(self, snapshot: ProgressSnapshot) -> None:
        self._live.update(f"{self.label}: {progress_line(snapshot)}", refresh=True)


def terminal_display(label: str) -> AbstractContextManager[Display]:
    """A live line when both outputs are a terminal; else a log line on stderr every
    `SCRAPER_PROGRESS_INTERVAL` seconds (default `LOG_INTERVAL_S`)."""
    if sys.stdout.isatty() and sys.stderr.isatty():
        return LiveLine(sys.stderr, label=label)
    try:
        interval = float(os.environ.get("SCRAPER_PROGRESS_INTERVAL", LOG_INTERVAL_S))
    except ValueError:
        interval = LOG_INTERVAL_S
    return nullcontext(LogLines(sys.stderr, interval=interval, label=label))


_display: ContextVar[Display | None] = ContextVar("progress_display", default=None)


@contextmanager
def show_to(display: Display) -> Iterator[None]:
    """Send the progress the flows read to `display` while the block runs."""
    token = _display.set(display)
    try:
        yield
    finally:
        _display.reset(token)


def show(snapshot: ProgressSnapshot) -> None:
    display = _display.get()
    if display is not None:
        display.show(snapshot)


class Ticker:
    """Every `tick` seconds (`TICK_S`) the installed display gets a reading, and every
    `report_every` seconds (`FLOW_REPORT_INTERVAL_S`) `report` too (the flow's artifact and log
    line), so that they move during a long batch, not only between batches. `start` it on the
    flow's event loop; `stop` it when the run's steps end."""

    def __init__(
        self,
        progress: Callable[[], ProgressSnapshot],
        report: Callable[[ProgressSnapshot], Awaitable[None]],
        *,
        tick: float | None = None,
        report_every: float | None = None,
    ) -> None:
        self._progress = progress
        self._report = report
        self._tick = TICK_S if tick is None else tick  # read now: a test may shorten them
        self._report_every = FLOW_REPORT_INTERVAL_S if report_every is None else report_every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Ticker:
        self._task = asyncio.create_task(self._loop())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self._tick)
            snapshot = self._progress()
            show(snapshot)
            if time.monotonic() - last >= self._report_every:
                last = time.monotonic()
                try:
                    await self._report(snapshot)
                except Exception as exc:  # a report that fails must not end the crawl
                    log.warning("progress report failed: %s", exc)


@asynccontextmanager
async def ticking(
    progress: Callable[[], ProgressSnapshot],
    report: Callable[[ProgressSnapshot], Awaitable[None]],
    *,
    tick: float | None = None,
    report_every: float | None = None,
) -> AsyncIterator[None]:
    """A `Ticker` running while the block runs."""
    ticker = Ticker(progress, report, tick=tick, report_every=report_every).start()
    try:
        yield
    finally:
        await ticker.stop()
