"""A run's request budget: how many HTTP requests it may make and until when, and what is spent.

The budget counts every HTTP request to the site the run makes itself: robots.txt, sitemaps and
pages, each retry and each redirect hop (`requests_of`). The worst case of a page is every attempt
following every redirect it may (`worst_case_per_page`: 18 requests by default), and a page is
only started while its worst case still fits, so the budget is never exceeded:

- the run's own fetching starts each page only after reserving its worst case, and a robots.txt
  read's (it may be the page that reads it again), beside the pages in flight (`reserve`), and
  counts the page's real cost (`FetchResult.requests`) and any robots.txt read when it ends, so
  its batches stay full (a page costs one request, nearly always) until the last one, whose
  pages that could not start are given back unvisited. Claiming each batch at the worst case
  instead would shrink the batches geometrically over a run's last ~900 requests: some 60
  batches of a few pages, each a warehouse open, load and checkpoint;
- a batch fetched elsewhere (scale-out's shard workers) cannot be gated page by page, so it claims
  only as many pages as each one's worst case fits (`pages_affordable(gated=False)`).

What is left at the end is less than two pages' worst case (one for a robots.txt read). A
deadline stops claiming once it has passed and sizes the last batch to what the polite rate can
fetch before it. Discovery fetches each level of sitemaps in slices the budget affords.

Where the bound is not exact (each at most once per robots.txt TTL, a day by default): a page
whose redirects cross to the site's other origin (www, http) may read that origin's robots.txt
too, a second read beyond its reservation; and a scale-out shard whose Prefect task is retried
counts only the requests of the attempt that returned.

`--until` takes a duration from the run's start (`8h`, `90m`, `1h30m`, `45s`, `2d`), one syntax:
a daily schedule wants "at most this long", and a duration needs no clock or time zone agreed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: the CLI validates --until without the archive's imports
    from scraper.config import CrawlConfig
    from scraper.responses import FetchResult

# "done": nothing due is left; "budget", "deadline": what ended the run early; "stopped": it ended
# with pages due for another reason (`max_pages`, an error).
EndedBy = Literal["done", "budget", "deadline", "stopped"]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def parse_duration(text: str) -> timedelta:
    """`8h`, `90m`, `1h30m`, `45s`, `2d` -> a positive timedelta; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"not a duration like 8h, 90m or 1h30m: {text!r}")
    total = sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if n)
    if total <= 0 or total > 366 * 86400:
        raise ValueError(f"a duration must be more than 0 s and at most 366 days: {text!r}")
    return timedelta(seconds=total)


def requests_of(result: FetchResult) -> int:
    """HTTP requests behind one result: all the fetcher sent for it (`FetchResult.requests`).

    A result read back from a staging file does not know it: then its attempts, and the
    redirect hops it carries (none: staging keeps none), an undercount. Such results never
    reach the budget: a shard worker counts what it sent before it stages its visits
    (`ShardManifest.requests`, `count_sent`), and a spooled batch was counted as it was
    fetched. They make only batch reports: a spooled batch's report keeps the fetch's exact
    count (`CrawlSession._load_one`); a shard's report undercounts its redirect hops."""
    if result.requests is not None:
        return result.requests
    return max(result.attempts, 1) + len(result.redirects)


def smallest_useful(config: CrawlConfig) -> int:
    """The least budget that can fetch a page: robots.txt and a sitemap at their worst case, then
    a page's reservation (`Budget.reserve`: its own worst case and a robots.txt read's)."""
    return 4 * worst_case_per_page(config)


def worst_case_per_page(config: CrawlConfig) -> int:
    """The most requests one page can cost: every attempt following every redirect allowed."""
    return config.max_attempts * (config.max_redirects + 1)


@dataclass(slots=True)
class Budget:
    """What a run may still spend; `max_requests` None and `deadline` None mean no limit."""

    config: CrawlConfig
    spent: int = 0
    reserved: int = 0  # worst cases of the pages in flight (`reserve`, `unreserve`)
    ended_by: EndedBy = "done"

    def count(self, results: Iterable[FetchResult]) -> None:
        self.spent += sum(requests_of(result) for result in results)

    @property
    def left(self) -> int | None:
        limit = self.config.max_requests
        return None if limit is None else max(limit - self.spent, 0)

    def fits_another(self) -> bool:
        """Whether one more page's reservation fits beside those of the pages in flight."""
        left = self.left
        return left is None or left - self.reserved >= self._page_reservation

    def reserve(self) -> bool:
        """Reserve a page's requests if they fit (`fits_another`), until `unreserve`: its own
        worst case and a robots.txt read's, since the page may be the one that reads robots.txt
        again on the way (each read is counted when a page ends)."""
        if not self.fits_another():
            return False
        self.reserved += self._page_reservation
        return True

    def unreserve(self) -> None:
        """A reserved page has ended (its requests are counted by `count`)."""
        self.reserved -= self._page_reservation

    @property
    def _page_reservation(self) -> int:
        return 2 * worst_case_per_page(self.config)

    def sitemaps_affordable(self) -> int | None:
        """How many sitemaps discovery may fetch at once (None: no limit): each one's worst case,
        beside one kept back for a robots.txt re-read."""
        left = self.left
        if left is None:
            return None
        worst = worst_case_per_page(self.config)
        return max(left - worst, 0) // worst

    def count_sent(self, requests: int) -> None:
        """Count requests made elsewhere, as their sender counted them: a shard worker's
        (`ShardManifest.requests`), whose results read back do not know their own."""
        self.spent += requests

    def pages_affordable(
        self, wanted: int, now: datetime, *, fetchers: int = 1, gated: bool = False
    ) -> int:
        """How many of `wanted` pages the next batch may claim; 0 ends the run on its budget.

        `gated`: the batch's pages are started one by one through `reserve`, so it may claim a
        page for every request left (a page costs one, nearly always); otherwise each page's
        worst case must fit. Either way one worst case per fetcher is kept back for a robots.txt
        read on the way (a run longer than its robots TTL reads it again; each shard worker
        reads it once), and a run ends once not one more page's worst case fits."""
        worst = worst_case_per_page(self.config)
        allowed = wanted
        left = self.left
        if left is not None:
            spare = left - fetchers * worst
            if spare < worst:
                self.ended_by = "budget"
                return 0
            allowed = min(allowed, spare if gated else spare // worst)
        deadline = self.config.deadline
        if deadline is not None:
            seconds_left = (deadline - now).total_seconds()
            if seconds_left <= 0:
                self.ended_by = "deadline"
                return 0
            # At the polite rate a batch takes about pages / rate seconds: the last one is cut so
            # it ends near the deadline rather than a whole batch past it.
            allowed = min(allowed, max(1, math.floor(seconds_left * self.config.rate)))
        return allowed
