"""Crawl state in DuckDB: due/claim/record, resume after a crash, aliases, lastmod, intervals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper import db
from scraper.config import CrawlConfig
from scraper.discover import Discovery, Rejected, classify
from scraper.frontier import Frontier
from scraper.responses import FetchResult
from scraper.schedule import Outcome, outcome_of, schedule

BASE = "https://site.test"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
CONFIG = CrawlConfig(base_url=BASE, batch_size=10)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = db.connect(tmp_path / "crawl.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def frontier(con: duckdb.DuckDBPyConnection) -> Frontier:
    return Frontier(con, CONFIG)


def found(*paths: str, lastmod: datetime | None = None) -> Discovery:
    items = [classify(BASE + p, CONFIG, source="sitemap", lastmod=lastmod) for p in paths]
    return Discovery(found=tuple(i for i in items if not isinstance(i, Rejected)))


def ok(url: str, body: bytes = b"<html>x</html>", **changes: object) -> FetchResult:
    fields: dict[str, object] = {
        "url": url,
        "final_url": url,
        "status": 200,
        "body": body,
        "etag": f'"{hashlib.sha256(body).hexdigest()[:8]}"',
        "content_sha256": hashlib.sha256(body).hexdigest(),
        "attempts": 1,
        "fetched_at": T0,
    }
    fields.update(changes)
    return FetchResult(**fields)  # type: ignore[arg-type]


def test_new_urls_are_due_once_per_crawl(frontier: Frontier) -> None:
    summary = frontier.add(found("/research/a-Aaa", "/research/b-Bbb"), now=T0)
    assert summary.new == 2
    crawl = frontier.begin_crawl(now=T0)
    batch = frontier.due(crawl, 10, now=T0)
    assert [t.url for t in batch] == [f"{BASE}/research/a-Aaa", f"{BASE}/research/b-Bbb"]
    assert frontier.due(crawl, 10, now=T0) == []  # claimed
    outcomes = frontier.record(crawl, [ok(t.url) for t in batch], now=T0)
    assert outcomes == ["new", "new"]
    assert frontier.due(crawl, 10, now=T0 + timedelta(days=400)) == []  # done in this crawl
    stats = frontier.finish_crawl(crawl, now=T0)
    assert (stats.visited, stats.claimed, stats.outcomes["new"]) == (2, 0, 2)


def test_claims_of_a_dead_process_come_back_on_resume(frontier: Frontier) -> None:
    frontier.add(found("/research/a-Aaa", "/research/b-Bbb", "/research/c-Ccc"), now=T0)
    crawl = frontier.begin_crawl(now=T0)
    first = frontier.due(crawl, 1, now=T0)
    frontier.record(crawl, [ok(first[0].url)], now=T0)
    frontier.due(crawl, 1, now=T0)  # claimed, then the process "dies"
    resumed = frontier.begin_crawl(now=T0)
    assert resumed.crawl_id == crawl.crawl_id
    assert resumed.resumed
    left = [t.url for t in frontier.due(resumed, 10, now=T0)]
    assert left == [f"{BASE}/research/b-Bbb", f"{BASE}/research/c-Ccc"]


def test_a_full_crawl_asked_for_over_an_open_incremental_one_replaces_it(
    frontier: Frontier,
) -> None:
    frontier.add(found("/research/a-Aaa", "/research/b-Bbb"), now=T0)
    incremental = frontier.begin_crawl(now=T0)
    [first] = frontier.due(incremental, 1, now=T0)
    frontier.record(incremental, [ok(first.url)], now=T0)  # then the run stops, crawl open
    full = frontier.begin_crawl(full=True, now=T0)
    assert (full.full, full.resumed) == (True, False)
    assert full.crawl_id != incremental.crawl_id
    assert len(frontier.due(full, 10, now=T0)) == 2  # every page, the one just visited too
    # A full crawl left open is resumed by the incremental runs that follow: they carry it on.
    carried = frontier.begin_crawl(now=T0 + timedelta(hours=1))
    assert (carried.crawl_id, carried.full, carried.resumed) == (full.crawl_id, True, True)


def test_next_crawl_sends_validators_only_when_due(frontier: Frontier) -> None:
    frontier.add(found("/research/a-Aaa"), now=T0)
    crawl = frontier.begin_crawl(now=T0)
    [target] = frontier.due(crawl, now=T0)
    result = ok(target.url)
    frontier.record(crawl, [result], now=T0)
    frontier.finish_crawl(crawl, now=T0)
    nxt = frontier.begin_crawl(now=T0 + timedelta(hours=1))
    assert frontier.due(nxt, now=T0 + timedelta(hours=1)) == []  # not due yet
    assert not nxt.full
    frontier.finish_crawl(nxt)
    full = frontier.begin_crawl(full=True, now=T0 + timedelta(hours=1))
    [again] = frontier.due(full, now=T0 + timedelta(hours=1))
    assert (again.etag, again.content_sha256) == (result.etag, result.content_sha256)


def test_unchanged_grows_interval_and_changed_shrinks_it(
    frontier: Frontier, con: duckdb.DuckDBPyConnection
) -> None:
    url = f"{BASE}/research/a-Aaa"
    frontier.add(found("/research/a-Aaa"), now=T0)
    seen = []
    for i, body in enumerate([b"v1", b"v1", b"v2"]):
        now = T0 + timedelta(days=40 * i)
        crawl = frontier.begin_crawl(now=now)
        [target] = frontier.due(crawl, now=now)
        seen += frontier.record(crawl, [ok(url, body)], now=now)
        seen_interval = con.execute(
            "SELECT revisit_seconds FROM pages WHERE url = ?", [url]
        ).fetchone()
        assert seen_interval is not None
        seen.append(seen_interval[0])
        frontier.finish_crawl(crawl, now=now)
        assert target.url == url
    day = 86_400
    assert seen == ["new", day, "unchanged", int(day * 1.5), "changed", int(day * 0.75)]


def test_304_keeps_hash_and_counts_no_change(
    frontier: Frontier, con: duckdb.DuckDBPyConnection
) -> None:
    url = f"{BASE}/research/a-Aaa"
    frontier.add(found("/research/a-Aaa"), now=T0)
    crawl = frontier.begin_crawl(now=T0)
    frontier.due(crawl, now=T0)
    first = ok(url)
    frontier.record(crawl, [first], now=T0)
    frontier.finish_crawl(crawl, now=T0)
    later = T0 + timedelta(days=2)
    crawl = frontier.begin_crawl(now=later)
    frontier.due(crawl, now=later)
    not_modified = FetchResult(
        url=url,
        final_url=url,
        status=304,
        etag=first.etag,
        content_sha256=first.content_sha256,
        not_modified=True,
        unchanged=True,
        attempts=1,
        fetched_at=later,
    )
    assert frontier.record(crawl, [not_modified], now=later) == ["unchanged"]
    row = con.execute(
        "SELECT content_sha256, etag, visits, changes, status_code FROM pages WHERE url = ?", [url]
    ).fetchone()
    assert row == (first.content_sha256, first.etag, 2, 1, 304)


def test_failure_keeps_validators_and_backs_off(
    frontier: Frontier, con: duckdb.DuckDBPyConnection
) -> None:
    url = f"{BASE}/research/a-Aaa"
    frontier.add(found("/research/a-Aaa"), now=T0)
    crawl = frontier.begin_crawl(now=T0)
    frontier.due(crawl, now=T0)
    frontier.record(crawl, [ok(url)], now=T0)
    frontier.finish_crawl(crawl, now=T0)
    crawl = frontier.begin_crawl(full=True, now=T0)
    frontier.due(crawl, now=T0)
    failed = FetchResult(
        url=url,
        final_url=url,
        status=None,
        error="timeout after 3 attempts",
        failure="transient",
        attempts=3,
        fetched_at=T0,
    )
    assert frontier.record(crawl, [failed], now=T0) == ["failed"]
    row = con.execute(
        "SELECT etag IS NOT NULL, error, failures, attempts, next_visit_at"
        " FROM pages WHERE url = ?",
        [url],
    ).fetchone()
    assert row is not None
    assert row[:4] == (True, "timeout after 3 attempts", 1, 4)
    assert row[4] == T0 + CONFIG.failure_backoff


def test_same_study_under_two_slugs_fetched_once(frontier: Frontier) -> None:
    summary = frontier.add(found("/research/long-title-slug-Abc1", "/research/short-Abc1"), now=T0)
    assert (summary.new, summary.aliases) == (2, 1)
    crawl = frontier.begin_crawl(now=T0)
    [target] = frontier.due(crawl, now=T0)
    assert target.url == f"{BASE}/research/long-title-slug-Abc1"
    gone = FetchResult(
        url=target.url, final_url=target.url, status=404, error="http-404", failure="http"
    )
    assert frontier.record(crawl, [gone], now=T0) == ["gone"]
    [successor] = frontier.due(crawl, now=T0)
    assert successor.url == f"{BASE}/research/short-Abc1"


def test_redirect_to_other_slug_becomes_alias(
    frontier: Frontier, con: duckdb.DuckDBPyConnection
) -> None:
    old, new = f"{BASE}/research/old-Abc1", f"{BASE}/research/new-Abc1"
    frontier.add(found("/research/old-Abc1"), now=T0)
    crawl = frontier.begin_crawl(now=T0)
    frontier.due(crawl, now=T0)
    frontier.record(crawl, [ok(old, final_url=new)], now=T0)
    frontier.add(found("/research/new-Abc1"), now=T0)
    row = con.execute("SELECT alias_of, source FROM pages WHERE url = ?", [new]).fetchone()
    assert row == (old, "redirect")


def test_newer_sitemap_lastmod_brings_page_forward(frontier: Frontier) -> None:
    frontier.add(found("/research/a-Aaa"), now=T0)
    crawl = frontier.begin_crawl(now=T0)
    [target] = frontier.due(crawl, now=T0)
    frontier.record(crawl, [ok(target.url)], now=T0)
    frontier.finish_crawl(crawl, now=T0)
    later = T0 + timedelta(hours=2)
    same = frontier.add(found("/research/a-Aaa", lastmod=T0 - timedelta(days=1)), now=later)
    assert same.brought_forward == 0
    crawl = frontier.begin_crawl(now=later)
    assert frontier.due(crawl, now=later) == []
    newer = frontier.add(found("/research/a-Aaa", lastmod=T0 + timedelta(hours=1)), now=later)
    assert newer.brought_forward == 1
    assert [t.url for t in frontier.due(crawl, now=later)] == [target.url]


def test_rejected_urls_recorded_with_counts(
    frontier: Frontier, con: duckdb.DuckDBPyConnection
) -> None:
    items = [
        classify(u, CONFIG, source="link", base=BASE)
        for u in ["https://doi.org/10.1/x", "javascript:void(0)", "https://doi.org/10.1/x"]
    ]
    rejected = tuple(i for i in items if isinstance(i, Rejected))
    assert frontier.add(Discovery(rejected=rejected), now=T0).rejected == 2
    frontier.add(Discovery(rejected=rejected[:1]), now=T0)
    rows = con.execute("SELECT url, reason, seen FROM frontier_rejected ORDER BY url").fetchall()
    assert rows == [
        ("https://doi.org/10.1/x", "off-site: doi.org", 3),
        ("javascript:void(0)", "bad-url: javascript", 1),
    ]


def test_record_of_unknown_url_adds_it(frontier: Frontier) -> None:
    crawl = frontier.begin_crawl(now=T0)
    assert frontier.record(crawl, [ok(f"{BASE}/research/x-Xyz")], now=T0) == ["new"]
    assert frontier.outcomes(crawl) == {f"{BASE}/research/x-Xyz": "new"}


def test_outcome_of_classifies_visits() -> None:
    url = f"{BASE}/p"
    assert outcome_of(ok(url), None) == "new"
    assert outcome_of(ok(url), "0" * 64) == "changed"
    assert outcome_of(ok(url), ok(url).content_sha256) == "unchanged"
    refused = FetchResult(url=url, final_url=url, status=200, error="too-large", failure="refused")
    assert outcome_of(refused, None) == "refused"
    forbidden = FetchResult(url=url, final_url=url, status=403, error="http-403", failure="http")
    assert outcome_of(forbidden, None) == "failed"


@given(
    outcomes=st.lists(st.sampled_from(["new", "changed", "unchanged", "gone", "refused"])),
)
def test_schedule_stays_within_bounds(outcomes: list[Outcome]) -> None:
    interval = int(CONFIG.revisit_initial.total_seconds())
    for outcome in outcomes:
        interval, wait, failures = schedule(outcome, interval, 0, CONFIG)
        assert CONFIG.revisit_min <= wait <= CONFIG.revisit_max
        assert failures == 0


def test_schedule_failures_double_up_to_max() -> None:
    waits = [schedule("failed", 86_400, n, CONFIG)[1] for n in range(12)]
    assert waits[:3] == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert waits[-1] == CONFIG.revisit_max
    assert schedule("failed", 86_400, 0, CONFIG, retry_after_s=7200)[1] == timedelta(hours=2)


@pytest.mark.parametrize("failures", [35, 36, 64, 65, 1_000, 10**9])
@pytest.mark.parametrize("retry_after_s", [None, 1e20, 1e12, float("inf"), float("nan"), -5.0])
def test_schedule_caps_the_wait_before_it_can_overflow(
    failures: int, retry_after_s: float | None
) -> None:
    # The failure count and the Retry-After come from the site: any value gives a wait a
    # datetime can hold, no longer than the longest revisit interval.
    interval, wait, after = schedule("failed", 86_400, failures, CONFIG, retry_after_s)
    assert (interval, wait, after) == (86_400, CONFIG.revisit_max, failures + 1)
    assert T0 + wait == T0 + CONFIG.revisit_max


def test_schedule_takes_a_retry_after_between_backoff_and_cap() -> None:
    assert schedule("failed", 86_400, 0, CONFIG, 3 * 86_400.0)[1] == timedelta(days=3)
    assert schedule("failed", 86_400, 0, CONFIG, float("nan"))[1] == CONFIG.failure_backoff


@pytest.mark.parametrize("rate", [float("inf"), float("nan"), 0.0, -1.0])
def test_a_config_refuses_a_rate_that_would_not_space_requests(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be positive and finite"):
        CrawlConfig(base_url="https://site.test", rate=rate)
