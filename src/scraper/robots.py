"""robots.txt: what one origin's file allows us, and how long a reading of it stays good.

The file is parsed by Scrapy's `protego` (RFC 9309, plus the Crawl-delay and Request-rate lines
that RFC leaves out). The fetcher requests the file; the rules for turning its answer into a policy
(RFC 9309 section 2.3.1: 2xx parse, 4xx no restrictions, 5xx or unreachable disallow all) and for
caching it live here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from scraper.politeness import Clock

log = logging.getLogger(__name__)

# robots.txt files are small; RFC 9309 asks crawlers to read at least the first 500 KiB.
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class RobotsPolicy:
    """robots.txt of one origin, as read (or the RFC 9309 default when it could not be)."""

    parser: Protego | None  # None: no usable file
    allow_all: bool  # 4xx: no robots.txt means no restrictions
    delay_s: float | None = None  # the stricter of Crawl-delay and Request-rate for our agent
    sitemaps: tuple[str, ...] = ()
    note: str = ""  # how it was obtained, for logs

    def allows(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, agent))

    @classmethod
    def parse(cls, text: str, agent: str) -> RobotsPolicy:
        parser = Protego.parse(text)
        delays = []
        if (delay := parser.crawl_delay(agent)) is not None:
            delays.append(float(delay))
        if (rate := parser.request_rate(agent)) is not None and rate.requests:
            delays.append(float(rate.seconds) / float(rate.requests))
        return cls(
            parser,
            allow_all=True,
            delay_s=max(delays) if delays else None,
            sitemaps=tuple(parser.sitemaps),
            note="parsed",
        )


def policy_from_answer(status: int, body: bytes | None, agent: str) -> RobotsPolicy:
    """RFC 9309: 2xx -> parse; 4xx -> no restrictions; 5xx -> disallow all."""
    if 200 <= status < 300:
        return policy_from_body(body or b"", agent)
    if 400 <= status < 500:
        return RobotsPolicy(None, allow_all=True, note=f"http-{status}")
    return RobotsPolicy(None, allow_all=False, note=f"http-{status}")


def policy_from_body(body: bytes, agent: str) -> RobotsPolicy:
    """The rules in `body` (for an oversized file, its head, as RFC 9309 reads it)."""
    return RobotsPolicy.parse(body.decode("utf-8", errors="replace"), agent)


def unreachable(origin: str, reason: str) -> RobotsPolicy:
    """RFC 9309: a file that could not be read at all means nothing may be crawled."""
    log.warning("robots.txt of %s unreadable (%s): not crawling it", origin, reason)
    return RobotsPolicy(None, allow_all=False, note=f"unreachable: {reason}")


class RobotsCache:
    """The policy of each origin, read again once it is `ttl_s` old; concurrent callers of one
    origin wait for a single read."""

    def __init__(self, ttl_s: float, clock: Clock) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._policies: dict[str, tuple[float, RobotsPolicy]] = {}  # origin -> (read at, policy)
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(
        self, origin: str, read: Callable[[str], Awaitable[RobotsPolicy]]
    ) -> RobotsPolicy:
        """The cached policy of `origin`, or the one `read(origin)` gives when it is stale."""
        if self._fresh(origin):
            return self._policies[origin][1]
        async with self._locks.setdefault(origin, asyncio.Lock()):
            if not self._fresh(origin):
                policy = await read(origin)
                self._policies[origin] = (self._clock(), policy)
            return self._policies[origin][1]

    def _fresh(self, origin: str) -> bool:
        cached = self._policies.get(origin)
        return cached is not None and self._clock() - cached[0] < self.ttl_s
