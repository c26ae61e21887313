"""A run's request budget: never exceeded, counted exactly, ended as a completed run that says
what it left due; `--budget` and `--until` refuse bad input in one line."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from replica import Replica, ReplicaServer
from scraper import flows, session
from scraper.budget import Budget, parse_duration, worst_case_per_page
from scraper.cli import app
from scraper.config import CrawlConfig
from scraper.report import terminal_summary
from tests.crawling import crawl
from tests.test_cli import one_line_error, scraper

pytestmark = pytest.mark.slow

PAGES = 20


@pytest.fixture(scope="module")
def server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=PAGES, seed=5)) as running:
        yield running


def config(server: ReplicaServer, **changes: object) -> CrawlConfig:
    # One attempt and one redirect hop: a page costs at most 2 requests, so a small budget
    # still fetches pages (the default worst case is 18).
    settings: dict[str, object] = {
        "base_url": server.base_url,
        "rate": 200.0,
        "concurrency": 4,
        "batch_size": 5,
        "max_attempts": 1,
        "max_redirects": 1,
    }
    settings.update(changes)
    return CrawlConfig().with_options(**settings)


def run_row(db_path: Path) -> tuple[Any, ...]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        row = con.execute(
            "SELECT status, ended_by, max_requests, requests_counted, pages_left_due,"
            " stalest_due_s FROM crawl_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return row


@pytest.mark.parametrize("budget", [9, 23])
def test_the_budget_is_never_exceeded_and_counted_exactly(
    server: ReplicaServer, tmp_path: Path, budget: int
) -> None:
    server.clear_log()
    done = crawl(config(server, max_requests=budget), tmp_path / "w.duckdb")
    made = len(server.request_log)
    assert made <= budget
    assert done.report.summary.requests_counted == made  # robots.txt and sitemaps included
    assert done.report.summary.pages_fetched > 0


def test_a_run_ended_by_its_budget_completes_and_reports_what_is_left(
    server: ReplicaServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "w.duckdb"
    done = crawl(config(server, max_requests=16), db_path)
    summary = done.report.summary
    assert summary.status == "completed"
    assert not done.complete
    status, ended_by, budget, counted, left, stalest = run_row(db_path)
    assert (status, ended_by, budget) == ("completed", "budget", 16)
    assert counted <= 16
    assert left == summary.pages_left_due > 0
    assert stalest == summary.stalest_due_s
    assert stalest is not None
    assert stalest >= 0
    line = terminal_summary(done.report)
    assert "ended by its budget" in line
    # A first run cut short leaves pages never read: "unread for" is true of those too.
    assert f"{left} pages left due, the stalest unread for " in line
    # The incremental crawl was closed: the next run discovers again and takes what was left.
    rest = crawl(config(server), db_path)
    assert not rest.resumed
    assert rest.complete
    assert run_row(db_path)[1:5] == ("done", None, rest.report.summary.requests_counted, 0)


def test_sitemaps_a_small_budget_left_unread_bring_in_no_keyword_listings(
    server: ReplicaServer, tmp_path: Path
) -> None:
    # Worst case 18: after robots.txt, 30 requests afford no sitemap. The site has sitemaps:
    # their not being read is no reason to fall back on every keyword's listings.
    db_path = tmp_path / "w.duckdb"
    small = config(server, max_requests=30, max_attempts=3, max_redirects=5)
    assert crawl(small, db_path).report.summary.requests_counted <= 30
    rest = crawl(config(server), db_path)
    assert rest.complete
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        kinds = dict(con.execute("SELECT page_kind, count(*) FROM pages GROUP BY 1").fetchall())
    finally:
        con.close()
    assert "listing" not in kinds
    assert kinds["study"] >= PAGES


def test_a_deadline_that_has_passed_claims_nothing_and_completes(
    server: ReplicaServer, tmp_path: Path
) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    done = crawl(config(server, deadline=past), tmp_path / "w.duckdb")
    assert done.report.summary.status == "completed"
    assert done.report.summary.pages_fetched == 0
    assert done.report.summary.ended_by == "deadline"
    assert done.report.summary.pages_left_due > 0


def test_budget_caps_the_last_batch_at_the_worst_case() -> None:
    settings = CrawlConfig(max_requests=100, max_attempts=3, max_redirects=5)
    budget = Budget(settings)
    now = datetime.now(UTC)
    assert worst_case_per_page(settings) == 18
    assert budget.pages_affordable(50, now) == (100 - 18) // 18  # one worst case kept back
    budget.spent = 80
    assert budget.pages_affordable(50, now) == 0
    assert budget.ended_by == "budget"
    unlimited = Budget(CrawlConfig())
    assert unlimited.pages_affordable(50, now) == 50


def test_a_gated_batch_is_claimed_whole_and_each_page_starts_while_its_worst_case_fits() -> None:
    budget = Budget(CrawlConfig(max_requests=100, max_attempts=3, max_redirects=5))
    now = datetime.now(UTC)
    # Claimed at a request a page: 100 - 18 kept back for robots.txt leaves room for 50.
    assert budget.pages_affordable(50, now, gated=True) == 50
    started = 0
    while budget.reserve():
        started += 1
    assert started == 2  # each reserves its worst case of 18 and a robots.txt read's: 36
    budget.unreserve()  # one ended, after one request: the next may start
    budget.spent += 1
    assert budget.reserve()
    assert not budget.reserve()


def test_a_run_cut_by_its_budget_fetches_in_full_batches(
    server: ReplicaServer, tmp_path: Path
) -> None:
    # The worst case is 9 requests a page: claimed at the worst case, each batch of this run
    # would hold one or two pages, and a run of a few hundred requests would end in dozens.
    settings = config(server, max_requests=40, max_attempts=3, max_redirects=2, batch_size=5)
    worst = worst_case_per_page(settings)
    server.clear_log()
    sizes = asyncio.run(_batch_sizes(settings, tmp_path / "w.duckdb"))
    made = len(server.request_log)
    assert made <= 40
    assert 40 - made < 2 * worst  # spent down to less than two worst cases
    assert sum(sizes) >= 40 - 2 * worst - 5  # robots.txt and the sitemaps took the rest
    assert all(size == 5 for size in sizes[:-1]), sizes  # every batch full but the last


async def _batch_sizes(settings: CrawlConfig, db_path: Path) -> list[int]:
    sizes = []
    async with session.CrawlSession.open(settings, db_path) as crawl_session:
        await crawl_session.discover()
        while (batch := await crawl_session.run_batch()) is not None:
            sizes.append(batch.fetched)
        crawl_session.finish()
    return sizes


def test_a_deadline_sizes_the_last_batch_to_the_rate() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=10)
    budget = Budget(CrawlConfig(rate=1.0, deadline=soon))
    assert 1 <= budget.pages_affordable(50, datetime.now(UTC)) <= 10


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("8h", 28800), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("2d", 172800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


BAD_OPTIONS = [
    ["--budget", "0"],
    ["--budget", "-5"],
    ["--budget", "lots"],
    ["--budget", "1.5"],
    ["--budget", "30"],  # too small for robots.txt, a sitemap and a page at their worst case
    ["--until", "tomorrow"],
    ["--until", "0h"],
    ["--until", "8"],
    ["--until", "2026-12-01T06:00"],
]


@pytest.mark.parametrize("option", BAD_OPTIONS, ids=" ".join)
def test_bad_budget_or_until_is_refused_with_exit_2(option: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["crawl", "--db", str(tmp_path / "w.duckdb"), *option])
    assert result.exit_code == 2
    assert f"scraper: error: {option[0]}" in result.output


@pytest.mark.parametrize("option", [BAD_OPTIONS[2], BAD_OPTIONS[4]], ids=" ".join)
def test_the_refusal_is_one_line_without_traceback(option: list[str], tmp_path: Path) -> None:
    result = scraper("crawl", "--db", str(tmp_path / "w.duckdb"), *option, timeout=60)
    assert option[0] in one_line_error(result)
    assert result.returncode == 2


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_the_flow_takes_a_budget_and_completes(server: ReplicaServer, tmp_path: Path) -> None:
    state = flows.run_crawl(
        base_url=server.base_url, db=str(tmp_path / "w.duckdb"), rate=200.0, concurrency=4,
        batch_size=5, budget=40, until="1h",
    )  # fmt: skip
    assert state.is_completed()
    assert "pages left due" in (state.message or "")
    assert run_row(tmp_path / "w.duckdb")[1:3] == ("budget", 40)


def test_no_sweep_reaches_the_flow_and_its_settings(
    server: ReplicaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper import flow_cli  # noqa: PLC0415
    from scraper.flows.crawl import crawl_config  # noqa: PLC0415  # Prefect: on use

    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(flow_cli, "_run_crawl", lambda **parameters: runs.append(parameters))
    monkeypatch.setattr(flow_cli, "_check_reachable_soon", lambda config: None)
    base = ["crawl", "--base-url", server.base_url, "--db", str(tmp_path / "w.duckdb")]
    for extra in ([], ["--no-sweep"]):
        result = CliRunner().invoke(app, [*base, "--budget", "500", *extra])
        assert result.exit_code == 0, result.output
    assert [run["sweep"] for run in runs] == [True, False]
    settings = [crawl_config(server.base_url, 2, 1.0, 50, None, sweep=s) for s in (True, False)]
    assert [c.sweep_after for c in settings] == [timedelta(days=1), None]


def test_each_scheduled_run_fits_its_hour_at_the_polite_rate(tmp_path: Path) -> None:
    from scraper.flows.deployments import RUN_BUDGET, deployments  # noqa: PLC0415  # Prefect

    polite = CrawlConfig()
    for deployment in deployments(str(tmp_path / "w.duckdb")):
        parameters = deployment.parameters
        assert parameters["budget"] == RUN_BUDGET <= 3600 * polite.rate
        assert parse_duration(parameters["until"]) < timedelta(hours=1)


def test_no_two_scheduled_runs_start_within_a_runs_length_of_each_other() -> None:
    """A run may claim pages for RUN_UNTIL: a schedule firing sooner after another would find
    the warehouse held and be Skipped (the weekly full pass, every week)."""
    from cronsim import CronSim  # noqa: PLC0415  # Prefect's own cron library

    from scraper.flows.deployments import (  # noqa: PLC0415
        HOURLY_CRONS,
        RUN_UNTIL,
        WEEKLY_CRON,
    )

    month_start = datetime(2026, 3, 1, tzinfo=UTC)
    month_end = month_start + timedelta(days=31)
    starts: list[datetime] = []
    for cron in (*HOURLY_CRONS, WEEKLY_CRON):
        for start in CronSim(cron, month_start - timedelta(seconds=1)):  # from the month's start
            if start >= month_end:
                break
            starts.append(start)
    starts.sort()

    assert len(starts) == 31 * 24  # a run an hour, the weekly pass in place of one
    assert len(set(starts)) == len(starts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= parse_duration(RUN_UNTIL)


class FakeTime:
    """A crawl clock that moves only when the crawl sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept_s = 0.0

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.slept_s += seconds


def test_a_run_with_a_deadline_waits_for_pages_falling_due_before_it(
    server: ReplicaServer, tmp_path: Path
) -> None:
    db_path = tmp_path / "w.duckdb"
    time_ = FakeTime(datetime(2026, 1, 5, 3, tzinfo=UTC))
    timed = {"clock": time_.clock, "sleep": time_.sleep}
    first = crawl(config(server, **timed), db_path).report.summary
    time_.now += timedelta(minutes=30)
    # Nothing is due for most of a day: a run without a deadline ends at once...
    assert crawl(config(server, **timed), db_path).report.summary.pages_fetched == 0
    assert time_.slept_s == 0
    # ...while one whose deadline lies past the pages' due times waits for them and visits
    # each, as it falls due or once it is likely changed, before the deadline.
    deadline = time_.now + timedelta(days=2)
    waited = crawl(config(server, deadline=deadline, **timed), db_path).report.summary
    assert waited.pages_fetched == first.pages_fetched
    assert waited.ended_by == "done"
    assert time_.slept_s > 0
    assert time_.now < deadline


def test_a_run_with_a_deadline_waits_for_pages_coming_round_for_the_sweep(
    server: ReplicaServer, tmp_path: Path
) -> None:
    """Pages not due for 10 days and under their floors come round for the sweep 6 hours after
    their visit: a run with a budget whose deadline is 12 hours away waits for them (a daily run
    of a day's length would otherwise end before the pages it read at its start a day before come
    round); without a sweep, or without a budget (a deadline bounds a run's length, it is no
    allowance of requests to spend), it ends at once."""
    fetched = {}
    for name, sweep, budget in (
        ("sweep", timedelta(hours=6), 1000),
        ("no sweep", None, 1000),
        ("deadline alone", timedelta(hours=6), None),
    ):
        db_path = tmp_path / f"{name}.duckdb"
        time_ = FakeTime(datetime(2026, 1, 5, 3, tzinfo=UTC))
        timed = {
            "clock": time_.clock,
            "sleep": time_.sleep,
            "revisit_initial": timedelta(days=10),
            "sweep_after": sweep,
        }
        first = crawl(config(server, **timed), db_path).report.summary
        read_at = time_.now
        time_.now += timedelta(minutes=30)
        deadline = time_.now + timedelta(hours=12)
        run = crawl(
            config(server, deadline=deadline, max_requests=budget, **timed), db_path
        ).report.summary
        fetched[name] = run.pages_fetched
        assert run.ended_by == "done"
        if name == "sweep":
            assert run.pages_fetched == first.pages_fetched
            assert read_at + timedelta(hours=6) <= time_.now < deadline
    assert fetched["no sweep"] == fetched["deadline alone"] == 0


def test_a_waiting_run_looks_again_every_due_wait(
    server: ReplicaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks: list[datetime] = []
    real_wait = session.CrawlSession._wait_for_due

    async def wait_for_due(self: session.CrawlSession) -> bool:
        looks.append(self.config.clock())
        return await real_wait(self)

    monkeypatch.setattr(session.CrawlSession, "_wait_for_due", wait_for_due)
    gaps = {}
    for hours in (2, 6):
        db_path = tmp_path / f"{hours}.duckdb"
        time_ = FakeTime(datetime(2026, 1, 5, 3, tzinfo=UTC))
        timed = {"clock": time_.clock, "sleep": time_.sleep, "due_wait": timedelta(hours=hours)}
        crawl(config(server, **timed), db_path)
        looks.clear()
        deadline = time_.now + timedelta(days=2)  # the pages fall due a day after their visit
        waited = crawl(config(server, deadline=deadline, spend_ahead=False, **timed), db_path)
        assert waited.report.summary.pages_fetched > 0
        # A look right after the batch the waits led to is no wait: left out.
        gaps[hours] = {b - a for a, b in itertools.pairwise(looks) if b > a}
    assert gaps == {2: {timedelta(hours=2)}, 6: {timedelta(hours=6)}}
    with pytest.raises(ValueError, match="due_wait must be positive"):
        CrawlConfig(due_wait=timedelta(0))


def test_a_stop_ends_the_wait_for_pages_falling_due(server: ReplicaServer, tmp_path: Path) -> None:
    db_path = tmp_path / "w.duckdb"
    time_ = FakeTime(datetime(2026, 1, 5, 3, tzinfo=UTC))
    crawl(config(server, clock=time_.clock, sleep=time_.sleep), db_path)

    async def stop_while_waiting(seconds: float) -> None:
        session.request_stop()
        await time_.sleep(seconds)

    try:
        deadline = time_.now + timedelta(days=2)
        done = crawl(
            config(server, clock=time_.clock, sleep=stop_while_waiting, deadline=deadline),
            db_path,
        )
    finally:
        session.clear_stop()
    assert done.report.summary.pages_fetched == 0
    assert time_.slept_s <= 1.0


def test_a_waiting_run_outlasts_a_reader_holding_the_warehouse(
    server: ReplicaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding the file while a run waits for pages to fall due delays the run; it
    does not end it (the pages falling due later in its hour would wait for the next run)."""
    db_path = tmp_path / "w.duckdb"
    time_ = FakeTime(datetime(2026, 1, 5, 3, tzinfo=UTC))
    timed = {"clock": time_.clock, "sleep": time_.sleep}
    first = crawl(config(server, **timed), db_path).report.summary
    time_.now += timedelta(minutes=30)
    held = iter([False, False])  # the waiting run's first two tries find a reader there
    real_catch_up = session.CrawlSession._catch_up

    def catch_up(self: session.CrawlSession, *, claim_at_least: int = 0) -> bool:
        if not claim_at_least and next(held, True) is False:
            return False
        return real_catch_up(self, claim_at_least=claim_at_least)

    monkeypatch.setattr(session.CrawlSession, "_catch_up", catch_up)
    deadline = time_.now + timedelta(days=2)
    waited = crawl(config(server, deadline=deadline, **timed), db_path).report.summary
    assert next(held, None) is None  # both refusals were met
    assert waited.pages_fetched == first.pages_fetched


def test_a_resumed_crawl_reads_the_sitemaps_again_an_hour_after_it_last_did(
    server: ReplicaServer, tmp_path: Path
) -> None:
    """A full pass carried on by hourly runs for most of a day still takes in new studies: each
    run resuming it reads the sitemaps again once an hour has passed since they were read."""
    db_path = tmp_path / "w.duckdb"
    time_ = FakeTime(datetime(2026, 1, 5, 3, tzinfo=UTC))
    timed = {"clock": time_.clock, "sleep": time_.sleep}

    def sitemap_reads() -> int:
        return sum("sitemap" in request.path for request in server.request_log)

    crawl(config(server, **timed), db_path, max_pages=5)  # the crawl stays open
    server.clear_log()
    time_.now += timedelta(minutes=10)
    assert crawl(config(server, **timed), db_path, max_pages=5).resumed
    assert sitemap_reads() == 0  # read ten minutes ago: not again
    time_.now += timedelta(hours=1)
    assert crawl(config(server, **timed), db_path, max_pages=5).resumed
    assert sitemap_reads() > 0
