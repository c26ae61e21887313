"""A run with a request budget and nothing due spends what is left on the pages likeliest to have
changed since their last visit (above `SPEND_AHEAD_FLOOR`, or the lower
`SPEND_AHEAD_FLOOR_SEEN_CHANGING` for a page seen changing); without a budget it fetches
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from replica import Replica, ReplicaServer
from scraper.config import CrawlConfig
from scraper.frontier import SPEND_AHEAD_FLOOR, SPEND_AHEAD_FLOOR_SEEN_CHANGING
from scraper.schedule import change_rate, p_changed
from tests.crawling import crawl
from tests.test_budget import config as budget_config

pytestmark = pytest.mark.slow

PAGES = 12
# Ten visits a day apart each; the changes seen set the estimated rate, and so P(changed) a day
# after the last visit: 9 of 10 -> ~0.9, 0 of 10 -> 0 (under the floor).
CHANGES = [9, 7, 5, 3, 0]


@pytest.fixture(scope="module")
def server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=PAGES, seed=11)) as running:
        yield running


def config(server: ReplicaServer, **changes: object) -> CrawlConfig:
    """test_budget's cheap pages (a page costs at most 2 requests), one fetcher, one batch."""
    return budget_config(server, **{"concurrency": 1, "batch_size": 50, **changes})


@pytest.fixture(scope="module")
def crawled_once(server: ReplicaServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse whose pages were all read, none due again yet, with a made-up history: the
    first studies changed often, one never, the rest never changed in a short history."""
    db_path = tmp_path_factory.mktemp("spend") / "w.duckdb"
    assert crawl(config(server), db_path).complete
    con = duckdb.connect(str(db_path))
    try:
        rows = con.execute(
            "SELECT url FROM pages WHERE judged_at IS NOT NULL AND alias_of IS NULL ORDER BY url"
        ).fetchall()
        urls = [row[0] for row in rows]
        assert len(urls) >= len(CHANGES) + 1
        con.execute(
            "UPDATE pages SET observed_visits = 10, observed_changes = 0,"
            " observed_seconds = 10 * 86400, judged_at = now() - INTERVAL 1 DAY,"
            " next_visit_at = now() + INTERVAL 5 DAY"
        )
        for url, changes in zip(urls, CHANGES, strict=False):
            con.execute("UPDATE pages SET observed_changes = ? WHERE url = ?", [changes, url])
    finally:
        con.close()
    return db_path


def copy_of(db_path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "w.duckdb"
    target.write_bytes(db_path.read_bytes())
    return target


def page_paths(server: ReplicaServer) -> list[str]:
    return [e.path for e in server.request_log if e.path.startswith("/research/")]


def likeliest(db_path: Path) -> list[str]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT url FROM pages WHERE alias_of IS NULL AND judged_at IS NOT NULL"
            " AND observed_changes > 0 ORDER BY observed_changes DESC, url"
        ).fetchall()
    finally:
        con.close()
    return [row[0].removeprefix(row[0].split("/research/")[0]) for row in rows]


def test_a_budgeted_run_with_nothing_due_revisits_the_likeliest_changed_first(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    db_path = copy_of(crawled_once, tmp_path)
    expected = likeliest(db_path)
    server.clear_log()
    done = crawl(config(server, max_requests=40, batch_size=2), db_path)
    made = len(server.request_log)
    assert made <= 40
    assert done.report.summary.requests_counted == made
    assert page_paths(server) == expected  # likeliest first, each once, none under the floor


def test_a_page_under_the_floor_is_never_claimed_ahead(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    db_path = copy_of(crawled_once, tmp_path)
    server.clear_log()
    crawl(config(server, max_requests=500), db_path)  # a budget far above what is worth it
    assert len(page_paths(server)) == len(CHANGES) - 1  # P = 0 for the rest: under the floor
    assert SPEND_AHEAD_FLOOR > 0


def test_a_page_seen_changing_clears_a_lower_floor_than_one_never_seen_changing(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    """Two pages a day after their last visit, each with P(changed) ~0.025: one changed once in
    ten visits over 40 days (its own record), the other never in ten over 20 days (the benefit
    of the doubt). Only the first is worth a request ahead of its time; the rest are under both
    floors."""
    day = 86_400
    seen, unseen = (p_changed(change_rate(10, x, d * day, day), day) for x, d in ((1, 40), (0, 20)))
    for p in (seen, unseen):
        assert SPEND_AHEAD_FLOOR_SEEN_CHANGING < p < SPEND_AHEAD_FLOOR
    db_path = copy_of(crawled_once, tmp_path)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("UPDATE pages SET observed_changes = 0")  # P = 0 for all: under both floors
        urls = [
            row[0]
            for row in con.execute(
                "SELECT url FROM pages WHERE judged_at IS NOT NULL AND alias_of IS NULL"
                " AND url LIKE '%/research/%' ORDER BY url LIMIT 2"
            ).fetchall()
        ]
        assert len(urls) == 2
        first, second = urls
        con.execute(
            "UPDATE pages SET observed_changes = 1, observed_seconds = 40 * 86400 WHERE url = ?",
            [first],
        )
        con.execute("UPDATE pages SET observed_seconds = 20 * 86400 WHERE url = ?", [second])
    finally:
        con.close()
    server.clear_log()
    crawl(config(server, max_requests=500), db_path)
    assert page_paths(server) == [first.removeprefix(first.split("/research/")[0])]


def test_without_a_budget_a_run_with_nothing_due_fetches_nothing(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    db_path = copy_of(crawled_once, tmp_path)
    server.clear_log()
    done = crawl(config(server), db_path)
    assert page_paths(server) == []
    assert done.complete
