"""The replica's fault mode and layout switch, and a crawl that must come through a heavy mix.

Small worlds (20-30 pages), a 0.5 s read timeout, a 1 s `slow` fault and near-zero backoff keep
this file to a few seconds; every loop is bounded by the crawl's own budget (3 attempts per URL,
5 redirect hops).
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import cast

import httpx
import pytest
from typer.testing import CliRunner

from replica import (
    FAULT_KINDS,
    TRANSIENT_KINDS,
    FaultPlan,
    FaultPlanError,
    Replica,
    ReplicaServer,
)
from replica.cli import replica_app
from replica.faults import FaultKind, FaultState, parse_kinds
from scraper import db
from scraper.ages import estimate_age
from scraper.archive import Archive
from scraper.config import CrawlConfig
from scraper.parse import parse_study
from scraper.report import RunReport
from scraper.session import CrawlSession, default_archive_dir
from scraper.staging import content_hash

pytestmark = pytest.mark.slow

LOST_FIELDS = ("published", "venue", "tldr", "summary")
KEPT_FIELDS = ("title", "authors", "image_url", "discussion_url", "source_url", "sections")
SLOW_S = 1.0  # the `slow` fault; twice the client's read timeout below
READ_TIMEOUT_S = 0.5


def broken_plan(kind: FaultKind, path: str, **changes: object) -> FaultPlan:
    """A plan in which only `path` misbehaves, always as `kind`."""
    settings: dict[str, object] = {"rate": 0.0, "broken": {path: kind}, "slow_s": SLOW_S}
    settings.update(changes)
    return FaultPlan(**settings)  # type: ignore[arg-type]  # keyword settings of a test


# --- the plan: seeded, per path, transient -----------------------------------------------------
def test_decisions_depend_on_path_and_count_only() -> None:
    plan = FaultPlan(rate=0.5, seed=3)
    paths = [f"/research/study-{n}-Ab{n}" for n in range(6)]
    forward, backward = FaultState(plan), FaultState(plan)
    ahead = {p: [forward.draw(p) for _ in range(8)] for p in paths}
    # The other state sees the same paths interleaved in the opposite order.
    behind: dict[str, list[object]] = {p: [] for p in paths}
    for _ in range(8):
        for path in reversed(paths):
            behind[path].append(backward.draw(path))
    assert ahead == behind
    assert any(fault is not None for drawn in ahead.values() for fault in drawn)


def test_random_faults_never_outlast_the_streak_and_broken_pages_always_fail() -> None:
    state = FaultState(FaultPlan(rate=1.0, max_streak=2, broken={"/research/x-Bad": "500"}))
    drawn = [state.draw("/research/y-Good") for _ in range(9)]
    assert [fault is not None for fault in drawn] == [True, True, False] * 3
    broken = [state.draw("/research/x-Bad") for _ in range(5)]
    assert all(f is not None and f.kind == "500" and f.permanent for f in broken)


def test_random_faults_keep_to_their_paths() -> None:
    replica = Replica(pages=20, seed=3, faults=FaultPlan(rate=1.0, kinds=("500",)))
    for path in ("/robots.txt", "/sitemap.xml", "/sitemaps/studies-1.xml", "/"):
        assert replica.render(path)[0] == 200, path
    assert replica.render(replica.study_paths()[0])[0] == 500
    replica.set_faults(None)
    assert replica.render(replica.study_paths()[0])[0] == 200


def test_plan_and_cli_refuse_what_cannot_be() -> None:
    for bad in ({"rate": 1.5}, {"kinds": ("teapot",)}, {"huge_bytes": 0}, {"max_streak": -1}):
        with pytest.raises(FaultPlanError):
            FaultPlan(**bad)
    assert parse_kinds("slow, 429") == ("429", "slow")
    with pytest.raises(FaultPlanError, match="unknown fault kinds"):
        parse_kinds("slow,teapot")
    runner = CliRunner()
    for args in (["--faults", "2"], ["--faults", "0.3", "--fault-kinds", "teapot"]):
        result = runner.invoke(replica_app, ["serve", "--port", "0", *args])
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1
        assert result.output.startswith("scraper replica: error:")


# --- each kind, as `render` answers it -----------------------------------------------------------
def test_status_faults_carry_retry_after_as_seconds_then_as_a_date() -> None:
    replica = Replica(pages=20, seed=3)
    path = replica.study_paths()[0]
    replica.set_faults(broken_plan("503", path, retry_after_s=7))
    first, second = replica.render(path), replica.render(path)
    assert (first[0], first[1]["Retry-After"]) == (503, "7")
    assert second[0] == 503
    assert parsedate_to_datetime(second[1]["Retry-After"]).tzinfo is not None
    replica.set_faults(broken_plan("500", path))
    status, headers, _ = replica.render(path)
    assert status == 500
    assert "Retry-After" not in headers


def test_body_faults_as_rendered() -> None:
    replica = Replica(pages=20, seed=3)
    path = replica.study_paths()[1]
    clean = replica.render(path, headers={"Accept-Encoding": "gzip"})
    html = gzip.decompress(clean[2])

    replica.set_faults(broken_plan("wrong-type", path))
    labels = [replica.render(path)[1]["Content-Type"] for _ in range(2)]
    assert labels == ["text/plain; charset=utf-8", "application/octet-stream"]

    replica.set_faults(broken_plan("bad-encoding", path))
    _, headers, body = replica.render(path, headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    assert body == html  # not gzip at all

    replica.set_faults(broken_plan("huge", path, huge_bytes=100_000))
    _, headers, body = replica.render(path, headers={"Accept-Encoding": "gzip"})
    assert len(body) == 100_000
    assert body.startswith(html)
    assert "Content-Encoding" not in headers

    replica.set_faults(broken_plan("redirect-loop", path))
    status, headers, _ = replica.render(path)
    assert (status, headers["Location"]) == (302, f"{path}?_loop=1")
    hops = [replica.render(f"{path}?_loop={n}")[1]["Location"] for n in (1, 2)]
    assert hops == [f"{path}?_loop=2", f"{path}?_loop=1"]


def test_flux_pages_change_between_two_fetches() -> None:
    replica = Replica(pages=40, seed=7)
    # A page with community post cards: their upvotes are what moves.
    path = next(p for p in replica.study_paths() if (t := replica.truth(p)) and t.community_posts)
    truth = replica.truth(path)
    assert truth is not None
    replica.set_faults(broken_plan("flux", path))
    first, second = replica.render(path), replica.render(path)
    assert first[2] != second[2]
    assert first[1]["ETag"] != second[1]["ETag"]
    votes = [
        [post.upvotes for post in parse_study(body, replica.base_url + path).community_posts]
        for _, _, body in (first, second)
    ]
    expected = [
        u + 1 if u is not None else None for u in (p.upvotes for p in truth.community_posts)
    ]
    assert votes[0] == expected
    assert votes[1] == [u + 1 if u is not None else None for u in expected]


# --- faults on the wire ---------------------------------------------------------------------------
def test_wire_faults_break_the_exchange_the_way_they_say() -> None:
    replica = Replica(pages=20, seed=3)
    paths = replica.study_paths()
    kinds: tuple[FaultKind, ...] = ("slow", "reset", "truncated", "huge")
    broken = dict(zip(paths[:4], kinds, strict=True))
    replica.set_faults(FaultPlan(rate=0.0, broken=broken, slow_s=SLOW_S, huge_bytes=300_000))
    timeout = httpx.Timeout(5.0, read=READ_TIMEOUT_S)
    errors: dict[str, str] = {}
    with ReplicaServer(replica) as server, httpx.Client(timeout=timeout) as client:
        for path, kind in broken.items():
            try:
                client.get(server.base_url + path).raise_for_status()
                errors[kind] = "ok"
            except httpx.HTTPError as exc:
                errors[kind] = type(exc).__name__
        huge = [client.get(server.base_url + paths[3]) for _ in range(2)]
    assert errors == {
        "slow": "ReadTimeout",
        "reset": "RemoteProtocolError",
        "truncated": "RemoteProtocolError",
        "huge": "ok",
    }
    # Every other huge answer comes without Content-Length (streamed), as a hostile server might.
    assert [("content-length" in r.headers, len(r.content)) for r in huge] == [
        (False, 300_000),
        (True, 300_000),
    ]
    sent = {e.fault: e.bytes_sent for e in server.request_log if e.fault in ("reset", "truncated")}
    assert sent["reset"] == 0
    assert 0 < sent["truncated"] < len(replica.render(paths[2])[2])


# --- a crawl through a heavy mix ------------------------------------------------------------------
def crawl_config(base_url: str) -> CrawlConfig:
    return CrawlConfig(
        base_url=base_url,
        rate=200.0,
        concurrency=4,
        batch_size=10,
        connect_timeout_s=2.0,
        read_timeout_s=READ_TIMEOUT_S,
        request_deadline_s=5.0,
        backoff_initial_s=0.01,
        backoff_jitter_s=0.01,
        backoff_max_s=0.1,
        max_body_bytes=200_000,  # study pages here are under 20 KB
    )


async def crawl(base_url: str, db_path: Path) -> RunReport:
    async with CrawlSession.open(crawl_config(base_url), db_path) as session:
        await session.discover()
        for _ in range(20):  # 30 pages in batches of 10: 3 batches; the bound is a safety net
            if await session.run_batch() is None:
                break
        return session.finish()


@pytest.mark.anyio
async def test_crawl_through_a_heavy_fault_mix(tmp_path: Path) -> None:
    replica = Replica(pages=30, seed=11)
    paths = replica.study_paths()
    broken: dict[str, FaultKind] = {paths[3]: "500", paths[7]: "huge", paths[12]: "huge"}
    # Every path misbehaves, robots.txt and the sitemaps too.
    plan = FaultPlan(
        rate=0.4, seed=5, broken=broken, slow_s=SLOW_S, huge_bytes=300_000, paths=("/",)
    )
    assert plan.kinds == TRANSIENT_KINDS  # every kind but `huge`, which only the broken pages get
    replica.set_faults(plan)
    db_path = tmp_path / "w.duckdb"
    with ReplicaServer(replica) as server:
        report = await crawl(server.base_url, db_path)
    log = server.request_log  # complete: stopping the server waited for the slow answers
    base = server.base_url
    served = Counter(e.fault for e in log if e.fault and "_loop=" not in e.path)
    assert set(served) == set(FAULT_KINDS), served  # every kind really happened
    feeds = [e for e in log if not e.path.startswith("/research/")]
    assert any(e.fault for e in feeds)
    # A Retry-After in seconds was waited out before the same page was asked for again.
    waits = [
        (after.at - before.at, float(before.response_headers["retry-after"]))
        for before, after in itertools.pairwise(sorted(log, key=lambda e: (e.path, e.at)))
        if before.path == after.path and before.response_headers.get("retry-after", "").isdigit()
    ]
    assert waits
    assert all(waited >= told for waited, told in waits), waits

    con = db.connect(db_path, read_only=True)
    ids = {p.rsplit("-", 1)[1] for p in paths}
    broken_ids = {p.rsplit("-", 1)[1] for p in broken}
    rows = con.execute("SELECT study_id, content_hash, url FROM studies").fetchall()
    # Every page that is not permanently broken is in the warehouse, exactly once.
    assert sorted(r[0] for r in rows) == sorted(ids - broken_ids)
    for table in ("study_authors", "cited_research", "related_research"):
        dupes = con.execute(
            f"SELECT count(*) FROM (SELECT study_id, position FROM {table} GROUP BY ALL"
            " HAVING count(*) > 1)"
        ).fetchone()
        assert dupes == (0,), table
    # The broken ones are listed with their reason, in `pages` and in the run's summary.
    failed = dict(con.execute("SELECT url, error FROM pages WHERE error IS NOT NULL").fetchall())
    assert failed == {
        base + paths[3]: "http-500 after 3 attempts",
        base + paths[7]: "too-large",
        base + paths[12]: "too-large",
    }
    run = con.execute(
        "SELECT status, pages_fetched, pages_new, pages_failed, requests, failure_reasons"
        " FROM crawl_runs WHERE run_id = ?",
        [report.run_id],
    ).fetchone()
    assert run is not None
    page_requests = [e for e in log if e.path.startswith("/research/") and "_loop=" not in e.path]
    assert run[:4] == ("completed", len(paths), len(paths) - 3, 3)
    # requests: every request of the run, robots.txt, sitemaps and redirect hops too (a failed
    # attempt's hops are not kept, so at most what the server saw)
    assert run[4] == report.summary.requests_counted
    assert len(page_requests) < run[4] <= len(log), (len(page_requests), run[4], len(log))
    assert json.loads(cast(str, run[5])) == {"http-500 after 3 attempts": 1, "too-large": 2}

    # What was stored is what was archived, and no damaged body was archived as a page.
    replica.set_faults(None)
    fluxed = {e.path for e in log if e.fault == "flux"}
    archive = Archive(default_archive_dir(db_path), con)
    by_url = {url: digest for _, digest, url in rows}
    for path in paths:
        if path in broken:
            continue
        stored = archive.read(base + path)
        assert stored is not None, path
        record = parse_study(stored.body, base + path)
        ages = [estimate_age(post.age_text, stored.fetched_at) for post in record.community_posts]
        assert by_url[base + path] == content_hash(record, ages)
        if path not in fluxed:
            assert stored.body == replica.render(path)[2], path
    con.close()


# --- broken layout (the drift test's switch) ------------------------------------------------
def test_break_layout_loses_header_fields_on_every_study_page_and_changes_bytes() -> None:
    replica = Replica(pages=40, seed=7)
    paths = replica.study_paths()
    before = {path: replica.render(path) for path in paths}
    replica.break_layout(True)
    assert replica.layout_broken
    for path in paths:
        status, headers, body = replica.render(path)
        assert status == 200
        assert headers["ETag"] != before[path][1]["ETag"]
        assert headers["Last-Modified"] != before[path][1]["Last-Modified"]
        record, truth = parse_study(body, replica.base_url + path), replica.truth(path)
        assert truth is not None
        assert all(getattr(record, name) is None for name in LOST_FIELDS), path
        assert all(getattr(record, n) == getattr(truth, n) for n in KEPT_FIELDS), path
    replica.break_layout(False)
    assert [replica.render(path)[2] for path in paths] == [before[p][2] for p in paths]


def test_break_layout_answers_200_to_conditional_get_and_over_http() -> None:
    replica = Replica(pages=20, seed=3)
    path = replica.study_paths()[0]
    with ReplicaServer(replica) as server, httpx.Client(base_url=server.base_url) as client:
        first = client.get(path)
        validators = {
            "If-None-Match": first.headers["ETag"],
            "If-Modified-Since": first.headers["Last-Modified"],
        }
        assert client.get(path, headers=validators).status_code == 304
        assert client.post("/_replica/layout?broken=1").json() == {"broken": True}
        broken = client.get(path, headers=validators)
        assert broken.status_code == 200
        assert parse_study(broken.content, server.base_url + path).tldr is None
        assert client.post("/_replica/layout?broken=0").json() == {"broken": False}
        assert client.get(path).content == first.content
