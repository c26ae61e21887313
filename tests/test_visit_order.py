"""Visits ordered by crawl run, not by the wall clock alone: a clock stepped back between runs
loses no change, no removal and no new URL (the frontier records every visit; so must the
loader)."""

from __future__ import annotations

import duckdb
import pytest

from scraper import load
from tests.warehouse_fixtures import DAY, SITE, T0, items, memory_warehouse, scalar, study


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return memory_warehouse()


def test_a_change_fetched_while_the_clock_is_behind_is_loaded(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ahead, behind = T0 + DAY, T0  # run 2's clock stands a day behind run 1's
    load.load_pages(con, items(study(), at=ahead), observed_at=ahead, run_id=1)
    moved = study(slug="new-slug", title="A new title")

    stats = load.load_pages(con, items(moved, at=behind), observed_at=behind, run_id=2)

    assert (stats.studies_changed, stats.studies_stale) == (1, 0)
    assert scalar(con, "SELECT title FROM studies") == "A new title"
    assert scalar(con, "SELECT url FROM studies") == f"{SITE}/research/new-slug-Pgny"
    assert scalar(con, "SELECT last_seen_run_id FROM studies") == 2
    assert scalar(con, "SELECT last_seen_at FROM studies") == behind  # the latest visit's time


def test_within_a_run_an_older_fetch_is_still_stale(con: duckdb.DuckDBPyConnection) -> None:
    load.load_pages(con, items(study(), at=T0 + DAY), observed_at=T0 + DAY, run_id=3)
    stats = load.load_pages(con, items(study(title="older"), at=T0), observed_at=T0, run_id=3)
    assert stats.studies_stale == 1
    assert scalar(con, "SELECT title FROM studies") != "older"


def test_a_removal_and_a_return_are_recorded_while_the_clock_is_behind(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load.load_pages(con, items(study(), at=T0 + DAY), observed_at=T0 + DAY, run_id=1)

    assert load.mark_removed(con, ["Pgny"], T0, run_id=2) == 1  # clock a day behind
    assert scalar(con, "SELECT removed_at FROM studies") == T0

    load.load_pages(con, items(study(), at=T0 - DAY), observed_at=T0 - DAY, run_id=3)
    assert scalar(con, "SELECT removed_at FROM studies") is None
    assert load.mark_removed(con, ["Pgny"], T0 - 2 * DAY, run_id=4) == 1
    load.touch_unchanged(con, ["Pgny"], T0 - 3 * DAY, run_id=5)  # a 304, clock further behind
    assert scalar(con, "SELECT removed_at FROM studies") is None
    assert scalar(con, "SELECT last_seen_run_id FROM studies") == 5
