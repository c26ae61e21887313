"""The readers bench's arithmetic (bench/visibility.py): when a batch became visible to a reader,
and what a reader holding the file did to the crawl. Made-up records, no crawl, no clock."""

from __future__ import annotations

import pytest

from bench.visibility import (
    BatchRecord,
    Lag,
    Sighting,
    hold_effect,
    summarize,
    visibility_lags,
)


def batch(
    number: int, fetched_until: float, loaded_at: float | None, visible_count: int | None
) -> BatchRecord:
    return BatchRecord(
        number=number,
        pages=20,
        fetched_until=fetched_until,
        spooled_at=fetched_until + 0.5,
        loaded_at=loaded_at,
        visible_count=visible_count,
    )


def test_a_batch_is_visible_from_the_first_poll_that_counts_its_pages() -> None:
    batches = [batch(1, 100.0, 101.0, 20), batch(2, 110.0, 111.0, 40)]
    sightings = [Sighting(100.5, 0), Sighting(102.0, 20), Sighting(112.0, 40)]

    assert visibility_lags(batches, sightings) == [Lag(1, 2.0), Lag(2, 2.0)]


def test_a_later_poll_seeing_more_pages_also_shows_the_earlier_batches() -> None:
    # Batches loaded together after a hold: one poll sees both.
    batches = [batch(1, 100.0, 230.0, 20), batch(2, 110.0, 230.0, 40)]
    sightings = [Sighting(150.0, 0), Sighting(231.0, 40)]

    assert visibility_lags(batches, sightings) == [Lag(1, 131.0), Lag(2, 121.0)]


def test_polls_out_of_order_do_not_hide_what_an_earlier_one_saw() -> None:
    batches = [batch(1, 100.0, 101.0, 20)]
    sightings = [Sighting(105.0, 20), Sighting(103.0, 20), Sighting(104.0, 0)]

    assert visibility_lags(batches, sightings) == [Lag(1, 3.0)]


def test_a_batch_never_loaded_or_never_seen_has_no_lag() -> None:
    batches = [batch(1, 100.0, 101.0, 20), batch(2, 110.0, None, None), batch(3, 120.0, 121.0, 60)]
    sightings = [Sighting(102.0, 20)]

    assert visibility_lags(batches, sightings) == [Lag(1, 2.0), Lag(2, None), Lag(3, None)]


def test_the_summary_counts_unseen_batches_as_late() -> None:
    summary = summarize([Lag(1, 2.0), Lag(2, 70.0), Lag(3, 4.0), Lag(4, None)], within_s=60.0)

    assert (summary.batches, summary.seen, summary.within) == (4, 3, 2)
    assert summary.median_s == 4.0
    assert summary.max_s == 70.0
    assert summary.share_within == pytest.approx(0.5)


def test_hold_effect_counts_pages_fetched_while_held_and_the_catch_up() -> None:
    batches = [
        batch(1, 100.0, 101.0, 20),  # before the hold
        batch(2, 130.0, 225.0, 40),  # fetched while held, loaded 5 s after the release
        batch(3, 190.0, 225.0, 60),
        batch(4, 240.0, 241.0, 80),  # after
    ]

    effect = hold_effect(batches, 120.0, 220.0, spool_max=2)

    assert effect.held_s == 100.0
    assert effect.pages_during == 40
    assert effect.spool_max == 2
    assert effect.caught_up_s == pytest.approx(5.0)


def test_hold_effect_never_caught_up_when_a_held_batch_was_not_loaded() -> None:
    batches = [batch(1, 130.0, None, None)]

    assert hold_effect(batches, 120.0, 220.0, spool_max=1).caught_up_s is None
