"""When to look at a page again: the revisit policy, pure (no database, no clock of its own).

A visit is judged into an `Outcome`: a study page by the signature of the record it was read into
(`scraper.staging.content_hash`: what a reader sees, without the page's per-request noise or ages
that tick over), any other page by the hash of its body. The outcome moves the
page's revisit interval: shorter after a change, longer when nothing changed, within
[revisit_min, revisit_max]. A failed visit keeps the interval and comes back sooner, doubling the
wait with each failure in a row and never before a Retry-After. A page known to be gone or refused
waits the longest. The validators of the last good visit are what the next conditional request
sends. `scraper.frontier` stores what this decides.

The interval decides when a page is due; within what is due, a budget is spent in order of
expected value (`priority`): pages never fetched first, then known pages by the estimated
probability that they changed since their last visit, a newer sitemap lastmod raising it, then
the rest. The estimates run in SQL (`warehouse/views/030_freshness.sql`) over the whole frontier;
`change_rate` and `p_changed` here are their Python twins, for the tests and for reasoning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from scraper.config import CrawlConfig, PriorityPolicy
from scraper.discover import Discovered
from scraper.responses import FetchResult

Outcome = Literal["new", "changed", "unchanged", "gone", "failed", "refused"]
OUTCOMES: tuple[Outcome, ...] = ("new", "changed", "unchanged", "gone", "failed", "refused")


@dataclass(frozen=True, slots=True)
class Signature:
    """What a study page's visit is judged by: the `content_hash` of the record the page was read
    into, and the version of the parser that read it (None: kept before versions were)."""

    content_hash: str
    parser_version: str | None = None

    def comparable_with(self, previous: Signature) -> bool:
        """Whether a visit can be judged against `previous`: not when two parser versions read
        them. A parser release may read every page differently (a field it now finds, a fix),
        and judging that a change of each page would shrink every interval and count a change
        in every history (lowering each page's floor for spending ahead). A signature kept
        before versions were is compared by its hash."""
        versions = (self.parser_version, previous.parser_version)
        return None in versions or versions[0] == versions[1]


@dataclass(frozen=True, slots=True)
class PageState:
    """What the frontier holds about a URL before a visit is recorded."""

    revisit_seconds: int
    failures: int
    etag: str | None
    last_modified: str | None
    content_sha256: str | None
    signature: Signature | None = None  # of the record last read from the page (study pages)


@dataclass(frozen=True, slots=True)
class Visit:
    """What one visit changes in the page's row."""

    url: str
    outcome: Outcome
    status_code: int | None
    fetched_at: datetime
    etag: str | None
    last_modified: str | None
    content_sha256: str | None
    error: str | None
    next_visit_at: datetime
    revisit_seconds: int
    failures: int
    attempts: int
    signature: Signature | None = None
    # False for a visit that could not be judged (`Signature.comparable_with`): it adds nothing
    # to the page's observed history and keeps its interval.
    judged: bool = True


def visit(
    result: FetchResult,
    before: PageState,
    now: datetime,
    config: CrawlConfig,
    signature: Signature | None = None,
) -> Visit:
    """The row update for `result`: its outcome, the next visit, and the validators to keep (a
    failed visit keeps those of the last good one). `signature`: of the record the page was read
    into on this visit, when it was read into one."""
    outcome, judged = _judged(result, before.content_sha256, signature, before.signature)
    interval, wait, failures = (
        schedule(outcome, before.revisit_seconds, before.failures, config, result.retry_after_s)
        if judged
        else (before.revisit_seconds, timedelta(seconds=before.revisit_seconds), 0)
    )
    fine = outcome in ("new", "changed", "unchanged")
    return Visit(
        url=result.url,
        outcome=outcome,
        status_code=result.status,
        fetched_at=result.fetched_at,
        etag=result.etag if fine else before.etag,
        last_modified=result.last_modified if fine else before.last_modified,
        content_sha256=result.content_sha256 if fine else before.content_sha256,
        error=result.error,
        next_visit_at=now + wait,
        revisit_seconds=interval,
        failures=failures,
        attempts=result.attempts,
        signature=signature if fine and signature is not None else before.signature,
        judged=judged,
    )


def outcome_of(
    result: FetchResult,
    previous_sha256: str | None,
    signature: Signature | None = None,
    previous_signature: Signature | None = None,
) -> Outcome:
    """What a visit found: judged by the record's signature when this visit and an earlier one
    were both read into a record, else against the hash of the last body we saw (identical bytes
    are unchanged either way)."""
    return _judged(result, previous_sha256, signature, previous_signature)[0]


def _judged(
    result: FetchResult,
    previous_sha256: str | None,
    signature: Signature | None,
    previous_signature: Signature | None,
) -> tuple[Outcome, bool]:
    """`outcome_of`, and whether the visit was judged at all: not when its record and the last
    one were read by two parser versions (`Signature.comparable_with`); it is then taken as
    unchanged, and `visit` keeps the interval and the history."""
    if result.ok:
        return _ok_outcome(result, previous_sha256, signature, previous_signature)
    if result.gone:
        return "gone", True
    if result.failure == "refused":
        return "refused", True
    return "failed", True


def _ok_outcome(
    result: FetchResult,
    previous_sha256: str | None,
    signature: Signature | None,
    previous_signature: Signature | None,
) -> tuple[Outcome, bool]:
    if result.unchanged or (previous_sha256 and result.content_sha256 == previous_sha256):
        return "unchanged", True
    if previous_sha256 is None:
        return "new", True
    if signature is not None and previous_signature is not None:
        if not signature.comparable_with(previous_signature):
            return "unchanged", False
        same = signature.content_hash == previous_signature.content_hash
        return ("unchanged" if same else "changed"), True
    return "changed", True


def schedule(
    outcome: Outcome,
    interval_s: int,
    failures: int,
    config: CrawlConfig,
    retry_after_s: float | None = None,
) -> tuple[int, timedelta, int]:
    """(new interval in seconds, wait until the next visit, consecutive failures) after a visit.

    The interval shrinks when a visit found a change and grows when it did not, within
    [revisit_min, revisit_max]. A failed visit keeps the interval and retries sooner, doubling the
    wait with each failure in a row (and never before a Retry-After we were given, up to
    `revisit_max`).
    """
    low, high = seconds(config.revisit_min), seconds(config.revisit_max)
    if outcome == "failed":
        failures += 1
        return interval_s, failure_wait(failures, config, retry_after_s), failures
    if outcome in ("gone", "refused"):
        interval = high
    elif outcome == "new":
        interval = seconds(config.revisit_initial)
    elif outcome == "changed":
        interval = round(interval_s * config.revisit_shrink)
    else:
        interval = round(interval_s * config.revisit_grow)
    interval = max(low, min(high, interval))
    return interval, timedelta(seconds=interval), 0


def failure_wait(failures: int, config: CrawlConfig, retry_after_s: float | None) -> timedelta:
    """The wait after the `failures`-th failure in a row: doubling from `failure_backoff`, never
    before a Retry-After, and never longer than `revisit_max`.

    Everything is capped in float seconds before a timedelta is made: the site chooses the
    Retry-After (a 20-digit one, or a date in the year 9999) and a page may fail for years, and
    a timedelta or `now + wait` beyond datetime's range would raise on every later run.
    """
    cap = config.revisit_max.total_seconds()
    base = config.failure_backoff.total_seconds()
    # Past 2**64 times the base any wait is over the cap; the exponent is bounded first.
    wait = min(base * 2.0 ** min(failures - 1, 64), cap)
    if retry_after_s and retry_after_s > 0:  # NaN compares False: ignored
        wait = max(wait, min(retry_after_s, cap))
    return timedelta(seconds=wait)


def newest_lastmods(found: Iterable[Discovered]) -> list[Discovered]:
    """One entry per URL: the first seen, with the newest lastmod any of them gave (a sitemap
    lastmod is a hint that brings a page forward; the newest is the one that can)."""
    merged: dict[str, Discovered] = {}
    for item in found:
        first = merged.get(item.url)
        if first is None:
            merged[item.url] = item
        elif item.lastmod and (first.lastmod is None or item.lastmod > first.lastmod):
            merged[item.url] = Discovered(
                url=first.url,
                source=first.source,
                kind=first.kind,
                study_id=first.study_id,
                lastmod=item.lastmod,
                referrer=first.referrer,
            )
    return list(merged.values())


def seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


# --- priority within what is due ------------------------------------------------------------------

# How much a sitemap lastmod newer than our last visit counts: as independent evidence of a change
# with this probability. A hint, never a truth: sites touch lastmod for trivial rebuilds.
LASTMOD_HINT = 0.5
# The changes a history that saw none is taken to hide: half of one (the estimator's own +0.5).
UNSEEN_CHANGES = 0.5


def change_rate(visits: int, changes: int, observed_s: float, interval_s: float) -> float:
    """Changes per second from a page's own history: Cho & Garcia-Molina's estimator for
    incomplete change histories (a visit sees whether the page changed, not how often),
    -log((n - X + 0.5) / (n + 0.5)) / (T / n), never under half a change over T: a page seen
    unchanged n times has changed rarely, not never, and the doubt shrinks as T grows (so a
    budget with requests to spare revisits it, after pages seen changing). With no history the
    revisit interval is the prior: one change per interval."""
    if visits > 0 and observed_s > 0:
        estimate = -math.log((visits - changes + 0.5) / (visits + 0.5)) / (observed_s / visits)
        return max(estimate, UNSEEN_CHANGES / observed_s)
    return 1.0 / max(interval_s, 1.0)


def p_changed(rate: float, elapsed_s: float) -> float:
    """P(at least one change in `elapsed_s`) for a Poisson change process of `rate`."""
    return 1.0 - math.exp(-rate * max(elapsed_s, 0.0))


def with_lastmod_hint(probability: float, lastmod_newer: bool) -> float:
    """The probability raised by a sitemap lastmod newer than the last visit."""
    return 1.0 - (1.0 - probability) * (1.0 - LASTMOD_HINT) if lastmod_newer else probability


# A page's estimated P(changed) since its last judged visit, in SQL; parameter: now.
P_CHANGED_SQL = (
    "page_p_changed(page_change_rate(observed_visits, observed_changes,"
    " observed_seconds, revisit_seconds), epoch(?::TIMESTAMPTZ) - epoch(judged_at))"
)

# Priority within what is due, per `CrawlConfig.priority`. "change-rate": never fetched first (the
# seeds the run was given, then the newest found first), then pages last read by P(changed
# since), a newer sitemap lastmod raising it (`schedule.with_lastmod_hint`), then the rest (pages
# whose last visit failed or found them gone: no estimate), longest overdue first. The macros are
# warehouse/views/030_freshness.sql's; "due-order": longest overdue first, whatever the page.
# Newest found first: a study that appeared since the last discovery is what readers of the
# warehouse wait for, whereas the backlog of a first crawl (days of it at a live site's budget)
# is read in full whatever its order; oldest first left a study published during a first crawl
# behind all of it. Nothing starves while a day's budget reads more pages than are found in a day
# (by sitemaps, links and listings alike: on the live site, a few hundred against tens of
# thousands read).
# Parameters: now, the lastmod hint's weight.
_CHANGE_RATE_ORDER = (
    "CASE WHEN fetched_at IS NULL AND source = 'seed' THEN 0 WHEN fetched_at IS NULL THEN 1"
    "  WHEN judged_at IS NOT NULL AND last_outcome IN ('new', 'changed', 'unchanged') THEN 2"
    "  ELSE 3 END,"
    " CASE WHEN fetched_at IS NULL THEN discovered_at END DESC NULLS LAST,"
    " CASE WHEN judged_at IS NOT NULL AND last_outcome IN ('new', 'changed', 'unchanged')"
    f"  THEN (1 - {P_CHANGED_SQL})"
    "   * CASE WHEN sitemap_lastmod > judged_at THEN 1 - ? ELSE 1 END"
    "  END NULLS LAST,"
    " next_visit_at, url"
)
_ORDER: dict[PriorityPolicy, str] = {
    "change-rate": _CHANGE_RATE_ORDER,
    "due-order": "next_visit_at, url",
}


def due_order(config: CrawlConfig, now: datetime) -> tuple[str, list[object]]:
    """The ORDER BY of the frontier's due pages under `config.priority`, and its parameters."""
    if config.priority == "change-rate":
        return _ORDER["change-rate"], [now, LASTMOD_HINT]
    return _ORDER[config.priority], []
