"""A run with a request budget and nothing due spends what is left on the pages likeliest to have
changed since their last visit (above `SPEND_AHEAD_FLOOR`, or the lower
`SPEND_AHEAD_FLOOR_SEEN_CHANGING` for a page seen changing `CHANGES_FOR_THE_LOW_FLOOR` times),
then on the pages unread for at least `sweep_after`, longest unread first; without a budget it
fetches nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from replica import Replica, ReplicaServer
from scraper import shards
from scraper.config import CrawlConfig
from scraper.frontier import (
    CHANGES_FOR_THE_LOW_FLOOR,
    SPEND_AHEAD_FLOOR,
    SPEND_AHEAD_FLOOR_SEEN_CHANGING,
)
from scraper.report import terminal_summary
from scraper.schedule import change_rate, p_changed
from scraper.session import CrawlSession
from tests.crawling import crawl
from tests.test_budget import config as budget_config

pytestmark = pytest.mark.slow

PAGES = 12
# Ten visits over 20 days; the changes seen set the estimated rate, and so P(changed) a day after
# the last visit: 9 of 10 -> 0.62, 7 -> 0.42, 5 -> 0.28, 3 -> 0.15; 0 of 10 -> 0.025, the benefit
# of the doubt, under its floor (0.05) by a margin that lasts the module's run.
HISTORY_DAYS = 20
CHANGES = [9, 7, 5, 3, 0]


@pytest.fixture(scope="module")
def server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=PAGES, seed=11)) as running:
        yield running


def config(server: ReplicaServer, **changes: object) -> CrawlConfig:
    """test_budget's cheap pages (a page costs at most 2 requests), one fetcher, one batch; no
    sweep of the pages unread longest unless asked for (the floors alone)."""
    return budget_config(
        server, **{"concurrency": 1, "batch_size": 50, "sweep_after": None, **changes}
    )


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
            " observed_seconds = ? * 86400, judged_at = now() - INTERVAL 1 DAY,"
            " next_visit_at = now() + INTERVAL 5 DAY",
            [HISTORY_DAYS],
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
    """The pages seen changing, likeliest changed first, as request paths."""
    return read_paths(db_path, "observed_changes > 0 ORDER BY observed_changes DESC, url")


def read_paths(db_path: Path, which: str) -> list[str]:
    """The request paths of the pages read so far that `which` (WHERE ... ORDER BY) selects."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            f"SELECT url FROM pages WHERE alias_of IS NULL AND judged_at IS NOT NULL AND {which}"
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
    done = crawl(config(server, max_requests=500), db_path)  # far above what is worth it
    assert len(page_paths(server)) == len(CHANGES) - 1  # the rest: never seen changing, 0.025
    assert SPEND_AHEAD_FLOOR > 0
    # The closing line says why most of the budget went unspent.
    assert "nothing left due or worth reading ahead" in terminal_summary(done.report)


def test_a_page_seen_changing_twice_clears_a_lower_floor_than_one_seen_once_or_never(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    """Three pages a day after their last visit, each with P(changed) ~0.025 from ten visits:
    two changes over 80 days, one over 40, none over 20 (the benefit of the doubt). Only the
    first is worth a request ahead of its time: one change may be a one-off."""
    day = 86_400
    histories = {"twice": (2, 80), "once": (1, 40), "never": (0, 20)}
    for changes, days in histories.values():
        p = p_changed(change_rate(10, changes, days * day, day), day)
        assert SPEND_AHEAD_FLOOR_SEEN_CHANGING < p < SPEND_AHEAD_FLOOR
    assert CHANGES_FOR_THE_LOW_FLOOR == 2
    db_path = copy_of(crawled_once, tmp_path)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("UPDATE pages SET observed_changes = 0")  # P = 0.025 for all, never changed
        urls = [
            row[0]
            for row in con.execute(
                "SELECT url FROM pages WHERE judged_at IS NOT NULL AND alias_of IS NULL"
                " AND url LIKE '%/research/%' ORDER BY url LIMIT 3"
            ).fetchall()
        ]
        assert len(urls) == 3
        for url, (changes, days) in zip(urls, histories.values(), strict=True):
            con.execute(
                "UPDATE pages SET observed_changes = ?, observed_seconds = ? * 86400 WHERE url = ?",
                [changes, days, url],
            )
    finally:
        con.close()
    server.clear_log()
    crawl(config(server, max_requests=500), db_path)
    assert page_paths(server) == [urls[0].removeprefix(urls[0].split("/research/")[0])]


def test_without_a_budget_a_run_with_nothing_due_fetches_nothing(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    db_path = copy_of(crawled_once, tmp_path)
    server.clear_log()
    done = crawl(config(server), db_path)
    assert page_paths(server) == []
    assert done.complete


def test_what_is_left_over_the_floors_goes_to_the_pages_unread_longest(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    """The pages seen changing first (over their floors), then the quiet ones unread for at least
    `sweep_after`, longest unread first; a quiet page read more recently waits for its interval.
    Every quiet page stays under its floor (P(changed) at most 0.021 here)."""
    db_path = copy_of(crawled_once, tmp_path)
    con = duckdb.connect(str(db_path))
    try:
        quiet = [
            row[0]
            for row in con.execute(
                "SELECT url FROM pages WHERE judged_at IS NOT NULL AND alias_of IS NULL"
                " AND observed_changes = 0 AND url LIKE '%/research/%' ORDER BY url"
            ).fetchall()
        ]
        assert len(quiet) >= 4
        con.execute(
            "UPDATE pages SET judged_at = now() - INTERVAL 3 HOUR WHERE observed_changes = 0"
        )
        # unread 12, 20 and 16 hours: swept 20, 16, 12 (not in URL order); the rest, 3 hours, not
        ages = dict(zip(quiet[:3], (12, 20, 16), strict=True))
        for url, hours in ages.items():
            con.execute(
                "UPDATE pages SET judged_at = now() - to_hours(?::BIGINT) WHERE url = ?",
                [hours, url],
            )
    finally:
        con.close()
    expected = likeliest(db_path) + [
        url.removeprefix(url.split("/research/")[0])
        for url in sorted(ages, key=lambda u: ages[u], reverse=True)
    ]
    server.clear_log()
    crawl(config(server, max_requests=500, sweep_after=timedelta(hours=6)), db_path)
    assert page_paths(server) == expected


def test_a_sweep_interval_must_be_positive(server: ReplicaServer) -> None:
    with pytest.raises(ValueError, match="sweep_after"):
        config(server, sweep_after=timedelta(0))


def test_a_budgeted_scale_out_round_spends_ahead_too(
    server: ReplicaServer, crawled_once: Path, tmp_path: Path
) -> None:
    """The scale-out coordinator claims its rounds as a crawl run does: with a budget and nothing
    due, the pages over their floors; without one, nothing."""
    db_path = copy_of(crawled_once, tmp_path)
    expected = sorted(likeliest(db_path))
    budgeted = asyncio.run(_round_paths(config(server, max_requests=500), db_path, tmp_path))
    assert budgeted == expected
    assert asyncio.run(_round_paths(config(server), db_path, tmp_path)) == []
    # With a sweep of the pages unread 6 hours or more (all of them: read a day ago), every one.
    swept = config(server, max_requests=500, sweep_after=timedelta(hours=6))
    everything = sorted(read_paths(db_path, "url LIKE '%/research/%'"))
    assert len(everything) > len(expected)
    assert asyncio.run(_round_paths(swept, db_path, tmp_path)) == everything


async def _round_paths(settings: CrawlConfig, db_path: Path, tmp_path: Path) -> list[str]:
    """The study paths the first scale-out round would fetch (claimed, then given back)."""
    async with CrawlSession.open(settings, db_path) as crawl_session:
        await crawl_session.discover()
        specs = shards.plan_round(crawl_session, 1, 1, tmp_path / "staging")
        targets = [target for spec in specs for target in spec.targets]
        crawl_session.release(targets)
        crawl_session.finish()
    return sorted(
        t.url.removeprefix(t.url.split("/research/")[0]) for t in targets if "/research/" in t.url
    )
