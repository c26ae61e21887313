"""Two crawls of an advancing replica, rendered in process (no server): history accumulates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pytest

from scraper import load
from scraper.parse import parse_study
from scraper.records import LoadItem
from scraper.urls import study_id_from_url
from tests.warehouse_fixtures import DAY, SITE, T0, dump, memory_warehouse

replica_module = pytest.importorskip("replica")

GONE = (404, 410)


def _crawl(
    replica: Any, paths: list[str], con: duckdb.DuckDBPyConnection, at: datetime, run: int
) -> dict[str, bytes]:
    """Render every path, load the pages that answer 200, mark the ones gone. Returns bodies."""
    bodies, batch, gone = {}, [], []
    for path in paths:
        status, _headers, body = replica.render(path)
        url = SITE + path
        if status in GONE:
            gone.append(url)
        elif status == 200:
            bodies[path] = body
            batch.append(LoadItem(page=parse_study(body, url), fetched_url=url, fetched_at=at))
    load.load_pages(con, batch, observed_at=at, run_id=run)
    load.mark_removed(con, gone, at)
    return bodies


def _column(
    con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
) -> list[Any]:
    return [row[0] for row in con.execute(query, params or []).fetchall()]


def _id(path: str) -> str:
    study_id = study_id_from_url(SITE + path)
    assert study_id is not None
    return study_id


def test_two_crawls_of_an_advancing_replica() -> None:
    con = memory_warehouse()
    replica = replica_module.Replica(pages=40, seed=7)
    # Sorted both times: a study reachable under two slugs is loaded from both in one batch, and
    # the later of two same-instant records wins, so the order must not change between crawls.
    first_paths = sorted(replica.study_paths())
    first = _crawl(replica, first_paths, con, T0, 1)
    replica.advance(days=60)
    second_paths = sorted(set(replica.study_paths()) | set(first_paths))
    second = _crawl(replica, second_paths, con, T0 + DAY, 2)

    ids = {_id(p) for p in [*first, *second]}
    assert sorted(_column(con, "SELECT study_id FROM studies")) == sorted(ids)  # one row per id
    both = {_id(p) for p in set(first) & set(second)}
    per_study = dict(
        con.execute("SELECT study_id, count(*) FROM study_observations GROUP BY ALL").fetchall()
    )
    assert all(per_study[sid] == 2 for sid in both)
    # a page whose bytes did not move keeps its last_changed_at from the first crawl
    same = {_id(p) for p in first if second.get(p) == first[p]}
    assert same
    unchanged = _column(
        con, "SELECT study_id FROM studies WHERE last_changed_at = ? ORDER BY ALL", [T0]
    )
    assert same <= set(unchanged)
    # upvotes moved for some post between the crawls, and the growth view sees it
    growth = _column(con, "SELECT upvote_growth FROM post_upvote_growth WHERE observations = 2")
    assert growth
    assert any(g != 0 for g in growth)
    # pages that disappeared are marked, never deleted
    gone = {_id(p) for p in first if p not in second}
    removed = set(_column(con, "SELECT study_id FROM studies WHERE removed_at IS NOT NULL"))
    assert gone - _ids(second) <= removed

    before = dump(con)
    _crawl(replica, second_paths, con, T0 + DAY, 2)
    assert dump(con) == before  # replaying the second crawl changes nothing


def _ids(bodies: dict[str, bytes]) -> set[str]:
    """Ids still served under some path (a moved study is not a removed one)."""
    return {_id(p) for p in bodies}
