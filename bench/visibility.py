"""When a crawl's batches became visible to readers: pure arithmetic over the bench's records.

The crawl child records, for every batch it spooled, when its last fetch finished, when it was
loaded and how many fetched pages the warehouse held once it was (`BatchRecord`). The bench's
readers record, for every poll they got answered, when the read-only open succeeded and how many
fetched pages they saw (`Sighting`). Loads happen in spool order, so a batch is visible from the
first poll that saw at least its count; its lag is that poll's time less its fetches' end.

    lags = visibility_lags(batches, sightings)
    summarize(lags, within_s=60.0)
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# The promise: a reader sees every batch that finished more than about a minute ago.
VISIBLE_WITHIN_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRecord:
    """One batch, as the crawl saw it (times are epoch seconds)."""

    number: int  # in the order the crawl spooled (and so loaded) them
    pages: int
    fetched_until: float  # its last fetch's answer arrived
    spooled_at: float  # fetched, archived, parsed and written to the spool
    loaded_at: float | None = None  # recorded in the warehouse (its hold closes right after)
    visible_count: int | None = None  # fetched pages in the warehouse once it was loaded


@dataclass(frozen=True, slots=True)
class Sighting:
    """One answered reader poll: when its open succeeded, how many fetched pages it saw."""

    at: float
    fetched_pages: int


@dataclass(frozen=True, slots=True)
class Lag:
    batch: int
    seconds: float | None  # None: no reader ever saw it


@dataclass(frozen=True, slots=True, kw_only=True)
class LagSummary:
    batches: int
    seen: int
    median_s: float
    max_s: float
    within: int  # seen within `within_s` of finishing
    within_s: float

    @property
    def share_within(self) -> float:
        return self.within / self.batches if self.batches else 0.0


def visibility_lags(batches: Sequence[BatchRecord], sightings: Sequence[Sighting]) -> list[Lag]:
    """Each loaded batch's lag from its last fetch to the first poll that saw it."""
    ordered = sorted(sightings, key=lambda sighting: sighting.at)
    # A count seen once stays seen (loads only add pages): the running max makes it searchable.
    times, seen_counts, most = [], [], 0
    for sighting in ordered:
        most = max(most, sighting.fetched_pages)
        times.append(sighting.at)
        seen_counts.append(most)
    lags = []
    for batch in batches:
        if batch.visible_count is None:
            lags.append(Lag(batch.number, None))
            continue
        first = bisect.bisect_left(seen_counts, batch.visible_count)
        seen_at = times[first] if first < len(times) else None
        lags.append(Lag(batch.number, None if seen_at is None else seen_at - batch.fetched_until))
    return lags


def summarize(lags: Sequence[Lag], *, within_s: float = VISIBLE_WITHIN_S) -> LagSummary:
    seconds = [lag.seconds for lag in lags if lag.seconds is not None]
    return LagSummary(
        batches=len(lags),
        seen=len(seconds),
        median_s=statistics.median(seconds) if seconds else 0.0,
        max_s=max(seconds, default=0.0),
        within=sum(1 for value in seconds if value <= within_s),
        within_s=within_s,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldEffect:
    """What a reader holding the file for a while did to the crawl."""

    held_s: float
    pages_during: int  # pages whose batch finished fetching while the reader held the file
    spool_max: int  # most batches waiting in the spool at once
    caught_up_s: float | None  # release -> every batch fetched during the hold loaded


def hold_effect(
    batches: Sequence[BatchRecord], held_from: float, held_until: float, spool_max: int
) -> HoldEffect:
    during = [batch for batch in batches if held_from <= batch.fetched_until <= held_until]
    waiting = [batch for batch in batches if batch.spooled_at <= held_until]
    loads = [batch.loaded_at for batch in waiting]
    caught_up = None
    if waiting and all(loaded is not None for loaded in loads):
        caught_up = max(0.0, max(loaded for loaded in loads if loaded is not None) - held_until)
    return HoldEffect(
        held_s=held_until - held_from,
        pages_during=sum(batch.pages for batch in during),
        spool_max=spool_max,
        caught_up_s=caught_up,
    )
