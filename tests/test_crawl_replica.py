"""A crawl against the replica on 127.0.0.1: politeness, resume after kill -9, recrawls.

Timing assertions compare request times seen by the server with the configured limits (with a
small tolerance for scheduling jitter); no test asserts how long anything took.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from replica import LoggedRequest, Replica, ReplicaServer
from scraper import db
from scraper.ages import consistent, estimate_age
from scraper.archive import Archive
from scraper.config import CrawlConfig
from scraper.records import CommunityPost, StudyPage
from scraper.session import default_archive_dir
from scraper.warc import scan
from tests.crawling import Crawled, crawl

pytestmark = pytest.mark.slow

PAGES = 30
# Seconds the server's timestamps may bunch up against the client's schedule: `at` is taken when
# the answer is ready, so a first request that also opened the connection, or a slow render,
# lands late while the next one lands on time (measured: up to ~35 ms on a busy 2-core box).
JITTER = 0.045


@pytest.fixture
def replica() -> Replica:
    return Replica(pages=PAGES, seed=11)


@pytest.fixture
def server(replica: Replica) -> Iterator[ReplicaServer]:
    with ReplicaServer(replica) as running:
        yield running


def config(server: ReplicaServer, **changes: object) -> CrawlConfig:
    settings: dict[str, object] = {
        "base_url": server.base_url,
        "rate": 50.0,
        "batch_size": 8,
        "backoff_initial_s": 0.05,
        "backoff_jitter_s": 0.05,
    }
    settings.update(changes)
    return CrawlConfig().with_options(**settings)


def page_gets(log: list[LoggedRequest]) -> list[LoggedRequest]:
    return [e for e in log if e.method == "GET" and e.path.startswith("/research/")]


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_robots_disallow_honoured(tmp_path: Path) -> None:
    probe = Replica(pages=PAGES, seed=11)
    hidden = probe.study_paths()[:3]
    with ReplicaServer(Replica(pages=PAGES, seed=11, disallow=hidden)) as server:
        summary = crawl(config(server), tmp_path / "c.duckdb")
        requested = {e.path for e in server.request_log}
    assert summary.complete
    assert not requested & set(hidden)
    refused = query(
        tmp_path / "c.duckdb", "SELECT url FROM pages WHERE error = 'robots-disallowed'"
    )
    assert {str(url).removeprefix(server.base_url) for (url,) in refused} == set(hidden)


def test_request_rate_never_above_limit(server: ReplicaServer, tmp_path: Path) -> None:
    rate = 20.0
    crawl(config(server, rate=rate, concurrency=2), tmp_path / "c.duckdb")
    times = [e.at for e in server.request_log]
    assert len(times) > PAGES
    # No k+1 consecutive requests closer together than k intervals, for every k: the rate holds
    # over any stretch, from two neighbours to the whole crawl.
    for k in range(1, len(times)):
        shortest = min(times[i + k] - times[i] for i in range(len(times) - k))
        assert shortest >= k / rate - JITTER, f"{k + 1} requests within {shortest:.3f}s"


def test_crawl_delay_from_robots_is_stricter(tmp_path: Path) -> None:
    with ReplicaServer(Replica(pages=PAGES, seed=11, crawl_delay=0.1)) as server:
        crawl(config(server, rate=100.0), tmp_path / "c.duckdb", max_pages=8)
        times = [e.at for e in server.request_log]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.1 - JITTER


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_waited_as_told(
    replica: Replica, server: ReplicaServer, tmp_path: Path, status: int
) -> None:
    replica.inject("/research/", status=status, retry_after="1", times=2)
    summary = crawl(config(server), tmp_path / "c.duckdb")
    assert summary.outcomes["failed"] == 0
    log = server.request_log
    faults = [i for i, e in enumerate(log) if e.status == status]
    assert len(faults) == 2
    for i in faults:
        retry = next(e for e in log[i + 1 :] if e.path == log[i].path)
        assert retry.at - log[i].at >= 1.0 - JITTER
        later = [e for e in log[i + 1 :] if e.at - log[i].at < 1.0 - JITTER]
        assert len(later) <= 1  # the host pauses: at most the request already in flight


def test_second_crawl_is_conditional_and_cheap(server: ReplicaServer, tmp_path: Path) -> None:
    db_path = tmp_path / "c.duckdb"
    first = crawl(config(server), db_path)
    first_bytes = sum(e.bytes_sent for e in server.request_log)
    server.clear_log()
    second = crawl(config(server), db_path, full=True)
    log = server.request_log
    assert second.outcomes["unchanged"] == first.outcomes["new"] == PAGES
    assert len(page_gets(log)) == PAGES
    revisits = [e for e in log if e.path != "/robots.txt"]  # pages and sitemaps
    assert all("if-none-match" in e.headers and e.status == 304 for e in revisits)
    assert sum(e.bytes_sent for e in log) < 0.05 * first_bytes
    # 304s keep the connection alive: a revisit costs a round trip, not a new connection each.
    assert len({e.client for e in log}) <= config(server).concurrency


def test_after_advance_only_changed_pages_are_changed(
    replica: Replica, server: ReplicaServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.duckdb"
    crawl(config(server), db_path)
    before = {path: replica.truth(path) for path in replica.study_paths()}
    advanced = replica.advance(30)
    visible = _visibly_changed(replica, before, advanced.changed)
    summary = crawl(config(server), db_path, full=True)
    rows = query(
        db_path,
        f"SELECT url, last_outcome FROM pages WHERE last_crawl_id = '{summary.crawl_id}'",
    )
    outcomes = {str(url).removeprefix(server.base_url): str(out) for url, out in rows}
    moved = set(advanced.moved)
    for path, outcome in outcomes.items():
        if path in moved:
            continue  # answered by a redirect to the new slug: judged by the body behind it
        if path in advanced.removed:
            assert outcome == "gone", path
        elif path in advanced.added:
            assert outcome == "new", path
        else:
            assert outcome == ("changed" if path in visible else "unchanged"), path
    assert set(advanced.added) <= set(outcomes)
    unchanged = [e for e in page_gets(server.request_log) if e.status == 304]
    # a page whose bytes changed and whose record did not was fetched whole, and is unchanged
    same_bytes = [p for p, o in outcomes.items() if o == "unchanged" and p not in advanced.changed]
    assert len(unchanged) == len(same_bytes)


def test_oversize_non_html_and_off_site_refused(
    replica: Replica, server: ReplicaServer, tmp_path: Path
) -> None:
    sizes = sorted(len(replica.render(p)[2]) for p in replica.study_paths())
    cap = sizes[len(sizes) // 2]  # half the study pages are too large
    seeds = ("/sitemaps/studies-1.xml", "https://elsewhere.example/research/x-Abc")
    cfg = config(server, max_body_bytes=cap, seed_urls=seeds)
    summary = crawl(cfg, tmp_path / "c.duckdb")
    assert summary.outcomes["refused"] >= len(sizes) // 2 - 1
    rows = query(tmp_path / "c.duckdb", "SELECT error, count(*) FROM pages GROUP BY ALL")
    errors = {str(error): int(str(count)) for error, count in rows}
    assert errors["too-large"] >= len(sizes) // 2 - 1
    assert errors["not-html: application/xml"] == 1
    rejected = query(tmp_path / "c.duckdb", "SELECT url, reason FROM frontier_rejected")
    assert ("https://elsewhere.example/research/x-Abc", "off-site: elsewhere.example") in rejected
    assert not [e for e in server.request_log if "elsewhere" in e.path]


CHILD = """
import asyncio
import sys
from pathlib import Path
from scraper.config import CrawlConfig
from scraper.records import CommunityPost, StudyPage
from scraper.session import CrawlSession

async def main():
    config = CrawlConfig(base_url=sys.argv[1], rate=40.0, batch_size=int(sys.argv[3]))
    async with CrawlSession.open(config, Path(sys.argv[2])) as session:
        await session.discover()
        while await session.run_batch() is not None:
            pass
        session.finish()

asyncio.run(main())
"""


def test_kill_9_then_resume_fetches_each_page_once(server: ReplicaServer, tmp_path: Path) -> None:
    db_path, batch = tmp_path / "c.duckdb", 5
    child = subprocess.Popen(  # our own interpreter, our own code
        [sys.executable, "-c", CHILD, server.base_url, str(db_path), str(batch)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )
    try:
        deadline = time.monotonic() + 60
        while len(page_gets(server.request_log)) < 2 * batch + 2:  # into the third batch
            assert child.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "the crawl never got going"
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    killed_at = len(page_gets(server.request_log))

    summary: Crawled = crawl(config(server, batch_size=batch), db_path)
    assert summary.resumed
    assert summary.complete
    fetched = Counter(e.path for e in page_gets(server.request_log))
    primaries = query(db_path, "SELECT url FROM pages WHERE alias_of IS NULL")
    expected = {str(url).removeprefix(server.base_url) for (url,) in primaries}
    assert set(fetched) == expected  # no page lost
    assert sum(fetched.values()) - len(expected) <= batch  # at most the batch in flight again
    assert killed_at < len(expected)  # the kill did land mid-crawl
    reports = [scan(path) for path in default_archive_dir(db_path).glob("*.warc.gz")]
    assert sum(len(r.entries) for r in reports) >= len(expected)


def test_archive_holds_what_the_server_sent(
    replica: Replica, server: ReplicaServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.duckdb"
    crawl(config(server), db_path)
    con = db.connect(db_path)
    try:
        with Archive(default_archive_dir(db_path), con) as archive:
            bodies = {r.url.removeprefix(server.base_url): r.body for r in archive.iter_latest()}
    finally:
        con.close()
    assert len(bodies) == PAGES
    for path, body in bodies.items():
        served = replica.render(path)[2]
        assert hashlib.sha256(body).digest() == hashlib.sha256(served).digest(), path


def _visibly_changed(
    replica: Replica, before: dict[str, StudyPage | None], changed: Iterable[str]
) -> set[str]:
    """The pages among `changed` whose record changed for a reader: the replica's clock moved
    but the crawler's did not, so a post's age text that moved counts only when its estimate at
    one moment is not consistent with the earlier one (the signature's rule, `scraper.ages`)."""
    now = datetime.now(UTC)

    def agree(old: CommunityPost, new: CommunityPost) -> bool:
        a, b = estimate_age(old.age_text, now), estimate_age(new.age_text, now)
        return a == b or (a is not None and b is not None and consistent(a, b))

    def without_ages(page: StudyPage) -> StudyPage:
        posts = tuple(dataclasses.replace(p, age_text=None) for p in page.community_posts)
        return dataclasses.replace(page, community_posts=posts)

    def differ(old: StudyPage | None, new: StudyPage | None) -> bool:
        if old is None or new is None or without_ages(old) != without_ages(new):
            return True
        return not all(map(agree, old.community_posts, new.community_posts))

    return {path for path in changed if differ(before.get(path), replica.truth(path))}
