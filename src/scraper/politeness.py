"""Per-host politeness: how far apart requests to one host start, and how many are in flight.

The fetcher keeps one `HostLimiter` per host. Its interval is the configured rate, raised by
robots.txt's Crawl-delay, stretched while the host errors and paused by a Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

# Injected so that unit tests can check waits without spending them.
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class HostLimiter:
    """Spaces request starts on one host and caps requests in flight.

    The interval is `1 / rate`, raised to robots.txt's delay when that is stricter, multiplied by a
    slow-down factor while the host errors, and a Retry-After pauses the whole host. A shard of a
    split crawl is given `rate / shards`, so the host's total budget never grows with the shards.
    """

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        max_slowdown: float = 8.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_interval = 1.0 / rate
        self.crawl_delay = 0.0
        self.slowdown = 1.0
        self.max_slowdown = max_slowdown
        self._clock = clock
        self._sleep = sleep
        self._semaphore = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()  # one start at a time, each spaced from the last
        self._last_start = float("-inf")
        self._next_start = 0.0
        self._paused_until = 0.0

    @property
    def interval(self) -> float:
        return max(self.base_interval, self.crawl_delay) * self.slowdown

    def set_crawl_delay(self, seconds: float | None, *, shards: int = 1) -> None:
        """robots.txt's delay between requests, kept by `shards` fetchers together."""
        self.crawl_delay = max(0.0, seconds or 0.0) * shards
        # The request that fetched robots.txt already counts: the next one waits the new interval.
        self._next_start = max(self._next_start, self._last_start + self.interval)

    async def quiet(self) -> None:
        """Wait until the next request may start (the interval since the last one, a pause)."""
        while (start := max(self._next_start, self._paused_until)) > self._clock():
            await self._sleep(start - self._clock())

    def pause(self, seconds: float) -> None:
        """Retry-After: no request to this host before `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def slow_down(self) -> None:
        self.slowdown = min(self.max_slowdown, self.slowdown * 2)

    def recover(self) -> None:
        self.slowdown = max(1.0, self.slowdown / 2)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the host's concurrent slots, starting no sooner than the interval allows.

        Starts are taken one at a time and spaced from the previous *actual* start, so a waiter
        that wakes late on a busy machine delays the next start instead of bunching with it;
        a pause (Retry-After) that arrives while a waiter sleeps is honoured when it wakes.
        """
        async with self._semaphore:
            async with self._start_lock:
                await self.quiet()
                self._last_start = self._clock()
                self._next_start = self._last_start + self.interval
            yield
