"""The order a budget is spent in: never-fetched pages first, then known pages by their estimated
probability of having changed (Cho & Garcia-Molina's change-rate estimator on each page's own
visit history), a newer sitemap lastmod raising it, then the rest; and the history it reads."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from scraper import db
from scraper.config import CrawlConfig
from scraper.discover import Discovery, Rejected, classify
from scraper.frontier import Frontier
from scraper.responses import FetchResult
from scraper.schedule import change_rate, p_changed, with_lastmod_hint

BASE = "https://site.test"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY = 86400.0
CONFIG = CrawlConfig(base_url=BASE, batch_size=20)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = db.connect(tmp_path / "crawl.duckdb")
    yield connection
    connection.close()


def found(*paths: str, lastmod: datetime | None = None) -> Discovery:
    items = [classify(BASE + p, CONFIG, source="sitemap", lastmod=lastmod) for p in paths]
    return Discovery(found=tuple(i for i in items if not isinstance(i, Rejected)))


def ok(url: str, body: bytes, at: datetime) -> FetchResult:
    digest = hashlib.sha256(body).hexdigest()
    return FetchResult(
        url=url, final_url=url, status=200, body=body, content_sha256=digest, attempts=1,
        fetched_at=at,
    )  # fmt: skip


# --- the estimator ------------------------------------------------------------------------------
def simulated_history(rate_per_day: float, every_days: float, visits: int, seed: int) -> int:
    """Changes detected by `visits` revisits `every_days` apart of a page changing as a Poisson
    process: a visit sees whether it changed since the last one, not how often."""
    rng = random.Random(seed)
    p_change = 1 - math.exp(-rate_per_day * every_days)
    return sum(rng.random() < p_change for _ in range(visits))


@pytest.mark.parametrize(("rate", "every"), [(1.0, 0.5), (2.0, 1.0), (0.1, 1.0), (0.5, 3.0)])
def test_estimator_recovers_the_rate_of_a_synthetic_history(rate: float, every: float) -> None:
    visits = 2000
    changes = simulated_history(rate, every, visits, seed=int(rate * 100 + every))
    estimate = change_rate(visits, changes, visits * every * DAY, DAY) * DAY
    assert estimate == pytest.approx(rate, rel=0.12)


def test_estimator_beats_the_naive_ratio_when_pages_change_faster_than_visits() -> None:
    # Visited daily, changing twice a day: most visits see "changed", never how often. X/T says
    # about 0.86 a day; the estimator corrects for the changes a visit cannot see.
    visits, changes = 1000, simulated_history(2.0, 1.0, 1000, seed=3)
    naive = changes / visits
    estimate = change_rate(visits, changes, visits * DAY, DAY) * DAY
    assert naive < 1.0
    assert abs(estimate - 2.0) < abs(naive - 2.0) / 3


def test_estimator_edges_stay_finite() -> None:
    # Never seen changing: half a change over the history, less the longer it is.
    assert change_rate(10, 0, 10 * DAY, DAY) == pytest.approx(0.5 / (10 * DAY))
    assert change_rate(10, 0, 100 * DAY, DAY) < change_rate(10, 0, 10 * DAY, DAY)
    assert math.isfinite(change_rate(10, 10, 10 * DAY, DAY))  # always changed: large, finite
    assert change_rate(0, 0, 0.0, 2 * DAY) == pytest.approx(1 / (2 * DAY))  # no history: prior
    assert p_changed(0.0, 1e9) == 0.0
    assert p_changed(1 / DAY, DAY) == pytest.approx(1 - math.exp(-1))
    assert with_lastmod_hint(0.2, lastmod_newer=True) > 0.2
    assert with_lastmod_hint(0.2, lastmod_newer=False) == 0.2


@pytest.mark.parametrize(
    ("n", "x", "t", "interval"),
    [(0, 0, 0.0, DAY), (5, 2, 5 * DAY, DAY), (12, 12, 3 * DAY, DAY), (3, 0, DAY, 7 * DAY)],
)
def test_sql_estimator_is_the_python_one(
    con: duckdb.DuckDBPyConnection, n: int, x: int, t: float, interval: float
) -> None:
    row = con.execute(
        "SELECT page_change_rate(?, ?, ?, ?), page_p_changed(page_change_rate(?, ?, ?, ?), ?)",
        [n, x, t, interval, n, x, t, interval, DAY],
    ).fetchone()
    assert row is not None
    expected = change_rate(n, x, t, interval)
    assert row[0] == pytest.approx(expected)
    assert row[1] == pytest.approx(p_changed(expected, DAY))


# --- the visit history the frontier keeps -------------------------------------------------------
def test_revisits_accumulate_the_history_the_estimate_reads(con: duckdb.DuckDBPyConnection) -> None:
    frontier = Frontier(con, CONFIG)
    url = BASE + "/research/a-Aaa"
    frontier.add(found("/research/a-Aaa"), now=T0)
    bodies = [b"one", b"one", b"two", b"two", b"three"]  # new, same, changed, same, changed
    for day, body in enumerate(bodies):
        at = T0 + timedelta(days=day)
        crawl = frontier.begin_crawl(full=True, resume=False, now=at)
        frontier.due(crawl, now=at)
        frontier.record(crawl, [ok(url, body, at)], now=at)
    row = con.execute(
        "SELECT observed_visits, observed_changes, observed_seconds, judged_at FROM pages"
    ).fetchone()
    assert row == (4, 2, 4 * DAY, T0 + timedelta(days=4))


# --- the order ----------------------------------------------------------------------------------
NOW = T0 + timedelta(days=30)


def known_page(
    con: duckdb.DuckDBPyConnection,
    path: str,
    *,
    visits: int,
    changes: int,
    judged_days_ago: float,
    outcome: str = "unchanged",
    lastmod: datetime | None = None,
) -> None:
    """A page read before, with a visit history of `visits` daily revisits, due now."""
    judged = NOW - timedelta(days=judged_days_ago)
    con.execute(
        "UPDATE pages SET fetched_at = ?, judged_at = ?, content_sha256 = 'x',"
        " last_outcome = ?, observed_visits = ?, observed_changes = ?, observed_seconds = ?,"
        " sitemap_lastmod = ?, next_visit_at = ? WHERE url = ?",
        [judged, judged, outcome, visits, changes, visits * DAY, lastmod,
         NOW - timedelta(hours=1), BASE + path],
    )  # fmt: skip


def due_paths(con: duckdb.DuckDBPyConnection, config: CrawlConfig = CONFIG) -> list[str]:
    frontier = Frontier(con, config)
    crawl = frontier.begin_crawl(resume=False, now=NOW)
    return [t.url.removeprefix(BASE) for t in frontier.due(crawl, now=NOW)]


def test_new_before_likely_changed_before_the_rest(con: duckdb.DuckDBPyConnection) -> None:
    paths = ["/research/old-Ooo", "/research/lively-Lll", "/research/failing-Fff"]
    Frontier(con, CONFIG).add(found(*paths), now=T0)
    known_page(con, "/research/old-Ooo", visits=20, changes=0, judged_days_ago=20)
    known_page(con, "/research/lively-Lll", visits=20, changes=10, judged_days_ago=1)
    known_page(con, "/research/failing-Fff", visits=5, changes=5, judged_days_ago=2,
               outcome="failed")  # fmt: skip
    Frontier(con, CONFIG).add(found("/research/fresh-Nnn"), now=NOW - timedelta(days=1))
    # Oldest overdue first would take the never-changing page before the new one.
    assert due_paths(con) == [
        "/research/fresh-Nnn",
        "/research/lively-Lll",
        "/research/old-Ooo",
        "/research/failing-Fff",
    ]


def test_among_pages_never_fetched_the_newest_found_goes_first(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A first crawl's backlog found at T0; a study new on the site found a day ago goes before
    all of it (oldest found first would leave it behind the backlog); seeds before both."""
    Frontier(con, CONFIG).add(found("/research/a-Aaa", "/research/b-Bbb"), now=T0)
    Frontier(con, CONFIG).add(found("/research/published-Ppp"), now=NOW - timedelta(days=1))
    assert due_paths(con) == ["/research/published-Ppp", "/research/a-Aaa", "/research/b-Bbb"]
    # Seeds the run was given (added before the sitemaps are read) still go first.
    Frontier(con, CONFIG).add(found("/research/seeded-Sss"), now=T0 - timedelta(days=1))
    con.execute("UPDATE pages SET source = 'seed' WHERE url LIKE '%seeded%'")
    assert due_paths(con)[:2] == ["/research/seeded-Sss", "/research/published-Ppp"]
    plain = CONFIG.with_options(priority="due-order")
    assert due_paths(con, plain)[-1] == "/research/published-Ppp"  # longest overdue first


def test_a_high_rate_page_before_a_low_rate_one(con: duckdb.DuckDBPyConnection) -> None:
    Frontier(con, CONFIG).add(found("/research/slow-Sss", "/research/fast-Fst"), now=T0)
    # The slow page waited longer, but changed once in 20 visits; the fast one in 15 of 20.
    known_page(con, "/research/slow-Sss", visits=20, changes=1, judged_days_ago=3)
    known_page(con, "/research/fast-Fst", visits=20, changes=15, judged_days_ago=1)
    assert due_paths(con) == ["/research/fast-Fst", "/research/slow-Sss"]
    plain = CONFIG.with_options(priority="due-order")
    con.execute(
        "UPDATE pages SET next_visit_at = ? WHERE url LIKE '%slow%'", [NOW - timedelta(days=2)]
    )
    assert due_paths(con, plain) == ["/research/slow-Sss", "/research/fast-Fst"]


def test_a_newer_sitemap_lastmod_raises_priority(con: duckdb.DuckDBPyConnection) -> None:
    paths = ("/research/hinted-Hhh", "/research/plain-Ppp")
    Frontier(con, CONFIG).add(found(*paths), now=T0)
    known_page(con, "/research/plain-Ppp", visits=20, changes=4, judged_days_ago=2)
    known_page(con, "/research/hinted-Hhh", visits=20, changes=4, judged_days_ago=2,
               lastmod=NOW - timedelta(days=1))  # fmt: skip
    assert due_paths(con) == ["/research/hinted-Hhh", "/research/plain-Ppp"]
    # A hint, not a truth: a page far likelier to have changed still goes first.
    known_page(con, "/research/plain-Ppp", visits=20, changes=19, judged_days_ago=2)
    assert due_paths(con) == ["/research/plain-Ppp", "/research/hinted-Hhh"]


def test_page_freshness_view(con: duckdb.DuckDBPyConnection) -> None:
    Frontier(con, CONFIG).add(found("/research/a-Aaa", "/research/b-Bbb"), now=T0)
    known_page(con, "/research/a-Aaa", visits=10, changes=5, judged_days_ago=1)
    rows = con.execute(
        "SELECT url, change_rate_per_day, p_changed_now, due, staleness_s IS NOT NULL"
        " FROM page_freshness ORDER BY url"
    ).fetchall()
    rate = change_rate(10, 5, 10 * DAY, DAY) * DAY
    assert rows[0][0].endswith("a-Aaa")
    assert rows[0][1] == pytest.approx(rate)
    assert 0 < rows[0][2] <= 1
    assert rows[0][3:] == (True, True)
    assert rows[1][2::2] == (None, False)  # never read: no estimate, no staleness
