"""The due pages a crawl run keeps claimed ahead of its fetching.

A run claims the next hour or so of targets at once (`CLAIM_AHEAD_S` of fetching at the configured
rate) and fetches them from memory, so that a reader holding the warehouse delays loads, never
fetching. The claims are renewed whenever the run gets the warehouse: given back and claimed again,
in the frontier's order of that moment, so pages found since come in at their place.
"""

from __future__ import annotations

import math
from collections import deque

from scraper.config import CrawlConfig
from scraper.frontier import Crawl, Frontier
from scraper.responses import FetchTarget

# How much fetching the claimed targets cover at the configured rate: a reader may hold the
# warehouse this long before fetching waits for it. The claims are renewed at every load.
CLAIM_AHEAD_S = 3600.0
CLAIM_AHEAD_MAX_BATCHES = 100  # bounds the claim of a fast (replica, test) crawl


def claim(frontier: Frontier, crawl: Crawl, wanted: int) -> list[FetchTarget]:
    """Claim up to `wanted` targets in the order a run spends its requests: what is due, then,
    in a run with a budget or a deadline (`CrawlConfig.spends_ahead`), pages not due yet, the
    likeliest changed since their last visit, and then, with a request budget
    (`CrawlConfig.sweeps`), those unread longest. A run without either ends when nothing is
    due."""
    config = frontier.config
    targets = frontier.due(crawl, wanted)
    for spends, ahead in (
        (config.spends_ahead, frontier.likely_changed),
        (config.sweeps, frontier.long_unread),
    ):
        if spends and len(targets) < wanted:
            targets.extend(ahead(crawl, wanted - len(targets)))
    return targets


class ClaimQueue:
    """Targets claimed for a crawl and not fetched yet, in the frontier's order."""

    def __init__(self, config: CrawlConfig) -> None:
        self.config = config
        self._targets: deque[FetchTarget] = deque()

    def __len__(self) -> int:
        return len(self._targets)

    def take(self, count: int) -> list[FetchTarget]:
        """Up to `count` targets off the front, to be fetched."""
        return [self._targets.popleft() for _ in range(min(count, len(self._targets)))]

    def renew(self, frontier: Frontier, crawl: Crawl, at_least: int = 0) -> None:
        """Give back the claimed targets and claim the next ones again: what is due now, in the
        frontier's order, with fresh claim times (inside a hold of the warehouse)."""
        self.give_back(frontier, crawl)
        wanted = max(at_least, self._claim_ahead())
        self._targets.extend(claim(frontier, crawl, wanted))

    def give_back(self, frontier: Frontier, crawl: Crawl) -> None:
        """Release every target still claimed: they are due again (the run ends)."""
        if self._targets:
            frontier.release(crawl, [target.url for target in self._targets])
            self._targets.clear()

    def _claim_ahead(self) -> int:
        """Targets kept claimed: `CLAIM_AHEAD_S` of fetching at the configured rate."""
        batches = math.ceil(self.config.rate * CLAIM_AHEAD_S / self.config.batch_size)
        return self.config.batch_size * max(1, min(batches, CLAIM_AHEAD_MAX_BATCHES))
