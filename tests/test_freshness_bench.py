"""The crawl on an injected clock, and a tiny run of the freshness benchmark (bench/freshness.py):
the report's shape and its invariants, never its timings."""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench import freshness, freshness_report
from replica import Replica
from replica.livesite import LiveSite
from scraper.config import CrawlConfig
from tests.test_cli_messages import alive, children, wait_for


def test_a_crawl_takes_its_times_from_the_configured_clock(tmp_path: Path) -> None:
    db_path = tmp_path / "clock.duckdb"
    with LiveSite(studies=12, seed=3) as site:
        config = CrawlConfig(
            base_url=site.base_url, rate=10_000.0, concurrency=4, clock=lambda: site.now
        )
        freshness.crawl_day(config, db_path)
        site.advance(3)
        freshness.crawl_day(config, db_path)
        now = site.now
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        visits = con.execute(
            "SELECT DISTINCT fetched_at, next_visit_at FROM pages WHERE page_kind = 'study'"
        ).fetchall()
        runs = con.execute("SELECT started_at, finished_at FROM crawl_runs ORDER BY 1").fetchall()
        seen = con.execute("SELECT DISTINCT last_seen_at FROM studies").fetchall()
    finally:
        con.close()
    # Every study page was due again three simulated days later and visited at the replica's
    # time, its next visit counted from it; the runs and the warehouse's rows carry it too.
    assert len(visits) == 1
    fetched_at, next_visit_at = visits[0]
    assert fetched_at == now
    assert next_visit_at > now
    assert next_visit_at - now <= timedelta(days=30)
    assert runs[-1] == (now, now)
    assert runs[0][0] == now - timedelta(days=3)
    assert seen == [(now,)]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> freshness.Outcome:
    # The quiet site is tiny, so it can run the day its intervals first grow past a day's
    # revisit (day 3: a day, then 1.5 days, then 2.25).
    settings = freshness.Settings(studies=40, days=3, quiet_studies=12, quiet_days=4, workers=1)
    return freshness.run(settings, tmp_path_factory.mktemp("freshness"), log=lambda _line: None)


def test_the_benchmark_reports_every_policy_every_day_within_its_budget(
    tiny_run: freshness.Outcome,
) -> None:
    days = tiny_run.settings.days
    policies = freshness_report.by_policy(tiny_run.rows)
    assert sorted(policies) == ["crawler", "fixed", "oracle"]
    for rows in policies.values():
        assert [row.day for row in rows] == list(range(days))
    assert [row.day for row in tiny_run.quiet] == list(range(4))
    for row in tiny_run.rows + tiny_run.quiet:
        assert 0 < row.requests <= row.budget
        assert 0 <= row.fresh <= row.live
        assert row.stalest_days >= 0
    # Day 0 is the first crawl: every study fetched, most still as the site shows them at the
    # day's end (the site changes during the day).
    for row in (r for r in tiny_run.rows if r.day == 0):
        assert row.pages_fetched >= tiny_run.settings.studies
        assert row.freshness >= 0.8
    crawler, fixed, oracle = (policies[name] for name in ("crawler", "fixed", "oracle"))
    # On a site where most pages never change, the crawler's intervals grow past the fixed
    # policy's day; the oracle fetches only what changed.
    assert crawler[-1].mean_interval_days > fixed[-1].mean_interval_days == 1.0
    assert sum(r.pages_fetched for r in oracle[1:]) < sum(r.pages_fetched for r in fixed[1:])
    assert all(row.new_wait_max_days <= 1.0 for row in crawler)


def test_on_a_quiet_noisy_site_nothing_changes_and_intervals_grow(
    tiny_run: freshness.Outcome,
) -> None:
    quiet = tiny_run.quiet
    assert all(row.freshness == 1.0 for row in quiet)
    # Pages differ in bytes on every request, yet no revisit is judged a change.
    assert all(row.changed == 0 for row in quiet[1:])
    assert quiet[-1].mean_interval_days > quiet[1].mean_interval_days


def test_freshness_is_read_at_the_end_of_every_run_of_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several runs a day (here 4 of 50 requests): each day's row holds the freshness read at
    the end of each of them, the last one the day's end."""
    monkeypatch.setattr(freshness, "RUN_BUDGET_FLOOR", 50)
    settings = freshness.Settings(studies=40, days=2, ratio=5, quiet_studies=12, workers=1)
    rows = freshness.simulate(settings, freshness.Job(freshness.POLICIES[0]), tmp_path)
    for row in rows:
        assert freshness.runs_per_day(row.budget) == 4
        assert len(row.through_day) == 4
        end = row.through_day[-1]
        assert (end.live, end.fresh, end.changing, end.changing_fresh) == (
            row.live, row.fresh, row.changing, row.changing_fresh,
        )  # fmt: skip
    # During the first crawl the studies not read yet are stale: day 0 fills up run by run.
    first = [snapshot.fresh for snapshot in rows[0].through_day]
    assert first[0] < first[-1]


def test_the_report_has_its_verdicts_tables_and_chart(
    tiny_run: freshness.Outcome, tmp_path: Path
) -> None:
    text = freshness_report.markdown(tiny_run)
    verdicts = freshness_report.verdicts(tiny_run)
    assert len(verdicts) == 6
    assert all(target in text for target, _met, _figures in verdicts)
    assert ("never over budget", True, "0 runs over") in verdicts
    assert "**One run a day**" in text  # a site this small: the oracle is no bound
    # No verdict on the lead where the oracle is not above the fixed policy.
    lead = next(v for v in verdicts if v[0].startswith("of the oracle's lead"))
    assert (lead[1] is None) == ("n/a" in lead[2])
    assert text.count("| day | policy |") == 2
    assert "| 1-2 | " in text  # the week-by-week table: days 1 and 2 of a 3-day run
    path = tmp_path / "freshness.png"
    freshness_report.chart(tiny_run, path)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_well_above_is_read_as_a_share_of_the_fixed_policys_stale_studies() -> None:
    assert freshness_report.stale_share(0.99, 0.98) == pytest.approx(0.5)
    assert freshness_report.stale_share(0.97, 0.98) == pytest.approx(1.5)
    assert freshness_report.stale_share(1.0, 1.0) == 0.0
    assert freshness_report.stale_share(0.99, 1.0) == float("inf")


def test_the_lead_won_is_the_crawlers_share_of_the_oracles_lead_over_the_fixed_policy() -> None:
    assert freshness_report.lead_won(0.99, 0.98, 1.0) == pytest.approx(0.5)
    assert freshness_report.lead_won(0.97, 0.98, 1.0) == pytest.approx(-0.5)
    assert freshness_report.lead_won(0.9, 0.95, 0.95) is None  # no lead to win


def day_row(policy: str, day: int, fresh: int) -> freshness.DayRow:
    """A day of 100 live studies (20 that change: the `fresh - 80` of them fresh)."""
    return freshness.DayRow(
        policy=policy,
        day=day,
        budget=170,
        requests=100,
        pages_fetched=100,
        changed=0,
        live=100,
        fresh=fresh,
        changing=20,
        changing_fresh=fresh - 80,
        stalest_days=1.0,
        new_pending=0,
        new_wait_max_days=0.0,
        mean_interval_days=1.0,
        ended_by="budget",
    )


def test_the_quiet_verdict_fails_on_a_revisit_judged_a_change_not_on_a_first_fetch() -> None:
    def quiet(day: int, interval: float, changed: int = 0, revisits: int = 0) -> freshness.DayRow:
        row = day_row("crawler", day, 100)
        return dataclasses.replace(
            row, mean_interval_days=interval, changed=changed, revisits_changed=revisits
        )

    def verdict(*days: freshness.DayRow) -> bool | None:
        rows = tuple(day_row(name, day, 95) for day in range(3) for name in ("crawler", "fixed"))
        rows += tuple(day_row("oracle", day, 99) for day in range(3))
        outcome = freshness.Outcome(
            settings=freshness.Settings(days=3), rows=rows, quiet=days, seconds=1.0
        )
        return next(v for v in freshness_report.verdicts(outcome) if "quiet" in v[0])[1]

    day0 = quiet(0, 1.0, changed=100)
    assert verdict(day0, quiet(1, 1.5, changed=3), quiet(2, 2.25)) is True  # 3 new pages
    assert verdict(day0, quiet(1, 1.5, changed=1, revisits=1), quiet(2, 2.25)) is False
    assert verdict(day0, quiet(1, 1.5), quiet(2, 1.5)) is False  # the interval did not grow


def test_the_report_gives_the_lead_won_week_by_week() -> None:
    """A crawler that learns: level with the fixed policy in its first week, level with the
    oracle after; day 0 (the first crawl) is left out, as in the means."""
    rows = [
        row
        for day in range(10)
        for row in (
            day_row("crawler", day, 90 if day <= 7 else 98),
            day_row("fixed", day, 90),
            day_row("oracle", day, 98),
        )
    ]
    text = freshness_report.markdown_weeks(rows)
    assert "| 1-7 | 0.900 (0.500) | 0.900 (0.500) | 0.980 (0.900) | 0%; 0% |" in text
    assert "| 8-9 | 0.980 (0.900) | 0.900 (0.500) | 0.980 (0.900) | 100%; 100% |" in text
    assert freshness_report.mean_freshness(rows[::3]) == pytest.approx((90 * 7 + 98 * 2) / 900)


def test_freshness_through_the_day_is_the_mean_of_its_instants() -> None:
    """A policy fresh at the day's end but stale earlier in it (its visits late in the day) is
    read as such through the day; a row without instants is its day's end."""
    late = dataclasses.replace(
        day_row("fixed", 1, 98),
        through_day=(freshness.Snapshot(100, 90, 20, 10), freshness.Snapshot(100, 98, 20, 18)),
    )
    assert late.freshness == pytest.approx(0.98)
    assert late.day_freshness == pytest.approx(0.94)
    assert late.day_changing_freshness == pytest.approx(0.7)
    plain = day_row("crawler", 1, 96)
    assert (plain.day_freshness, plain.day_changing_freshness) == (0.96, 0.8)
    rows = [plain, late, day_row("oracle", 1, 99)]
    assert freshness_report.mean_freshness([late]) == pytest.approx(0.98)
    assert freshness_report.mean_freshness([late], through_day=True) == pytest.approx(0.94)
    # the crawler behind the fixed policy at the day's end, ahead of it through the day
    assert "| 1-1 | 0.960 (0.800) | 0.980 (0.900) |" in freshness_report.markdown_weeks(rows)
    through = freshness_report.markdown_weeks(rows, through_day=True)
    assert "| 1-1 | 0.960 (0.800) | 0.940 (0.700) |" in through


def test_a_warehouse_duckdb_shortened_by_its_free_tail_opens(tmp_path: Path) -> None:
    """DuckDB truncates free blocks at the end of the file at a checkpoint while its header still
    counts them: such a sound file is no file cut short. Daily runs on a quiet site that each
    fetch a page or two bring it about by the fourth run (budget 41: one page a run)."""
    db_path = tmp_path / "daily.duckdb"
    with LiveSite(studies=24, seed=8) as site:
        site.replica.stop_changes()
        config = CrawlConfig(
            base_url=site.base_url,
            rate=10_000.0,
            concurrency=4,
            clock=lambda: site.now,
            max_requests=41,
        )
        for _day in range(4):
            freshness.crawl_day(config, db_path)
            site.advance(1)
        freshness.crawl_day(config, db_path)  # refused as "cut short" by a total-blocks check


def _urlsets(replica: Replica) -> str:
    index = replica.render("/sitemap.xml")[2].decode()
    children = re.findall(r"/sitemaps/[^<]+", index)
    bodies = ((child, replica.render(child)[2]) for child in children)
    return "".join(
        (gzip.decompress(body) if child.endswith(".gz") else body).decode()
        for child, body in bodies
    )


def test_the_replica_can_serve_sitemaps_without_lastmod() -> None:
    """Without them the crawler learns of a change only by visiting: the bench's honest case."""
    replica = Replica(20, 5, profile="live", validators="none")
    assert "<lastmod>" in _urlsets(replica)
    replica = Replica(20, 5, profile="live", validators="none")
    replica.lastmods = False
    urlsets = _urlsets(replica)
    assert "/research/" in urlsets
    assert "<lastmod>" not in urlsets


def test_change_rates_reach_the_changing_site(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    given: list[float] = []

    class Noting(LiveSite):
        def __init__(self, *args: Any, change_rates: float = 1.0, **kwargs: Any) -> None:
            given.append(change_rates)
            super().__init__(*args, change_rates=change_rates, **kwargs)

    monkeypatch.setattr(freshness, "LiveSite", Noting)
    settings = freshness.Settings(studies=12, days=0, change_rates=3.0)
    freshness.simulate(settings, freshness.Job(freshness.POLICIES[0]), tmp_path)
    assert given == [3.0]
    with pytest.raises(SystemExit) as refused:
        freshness.main(["--change-rates", "0"])
    assert refused.value.code == 2


def test_quick_refuses_studies_or_days_it_would_override(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        freshness.main(["--quick", "--days", "3"])
    assert refused.value.code == 2
    assert "--quick is 300 studies for 4 days" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--studies", "abc"], "argument --studies: invalid int value: 'abc'"),
        (["--studies", "5"], "--studies must be 10 or more, not 5"),
        (["--days", "1"], "--days must be 2 or more, not 1"),
        (["--ratio", "nan"], "--ratio must be positive and finite, not nan"),
        (["--ratio", "inf"], "--ratio must be positive and finite, not inf"),
        (["--workers", "-1"], "--workers must be 0 (one per core) or more, not -1"),
    ],
)
def test_wrong_arguments_get_one_line_each(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        freshness.main(argv)
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert err == f"python -m bench freshness: error: {says} (--help for usage)\n"


def pool_workers(pid: int) -> set[int]:
    """The child processes of `pid` that are multiprocessing's spawned workers (not its resource
    tracker)."""
    found = set()
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_a_bench_stopped_stops_its_worker_processes() -> None:
    """SIGTERM ends a freshness bench and its workers, which would otherwise run their jobs
    (minutes each) on, orphaned."""
    workers: set[int] = set()
    with subprocess.Popen(
        [sys.executable, "-m", "bench", "freshness", "--studies", "400", "--days", "30",
         "--workers", "2"],
        cwd=freshness.REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as bench:  # fmt: skip
        try:
            assert wait_for(lambda: len(pool_workers(bench.pid)) == 2, 60)
            workers = pool_workers(bench.pid)
            bench.send_signal(signal.SIGTERM)
            assert bench.wait(timeout=60) == 128 + signal.SIGTERM
            assert wait_for(lambda: not any(alive(pid) for pid in workers), 30)
        finally:
            workers |= pool_workers(bench.pid)
            bench.kill()
            for pid in workers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def test_the_command_line_reads_into_settings() -> None:
    quick = freshness.parse_command(["--quick"])
    assert (quick.settings.studies, quick.settings.days) == (300, 4)
    assert quick.settings.lastmods is False  # the honest case: a change is learnt by visiting
    assert freshness.parse_command(["--quick", "--lastmod"]).settings.lastmods is True
    assert freshness.parse_command(["--no-lastmod"]).settings.lastmods is False  # older commands
    default = freshness.parse_command([])
    assert default.settings == freshness.Settings(quiet_studies=1000)
    assert (default.chart, default.markdown) == (None, None)
    crawler = freshness.Job(freshness.POLICIES[0])
    assert freshness.job_policy(default.settings, crawler) == crawler.policy
    unswept = freshness.parse_command(["--no-sweep"]).settings
    assert freshness.job_policy(unswept, crawler).changes["sweep_after"] is None
    fixed = freshness.Job(freshness.POLICIES[1])
    assert freshness.job_policy(unswept, fixed) == fixed.policy
    written = freshness.parse_command(["--chart", "c.png", "--markdown", "r.md", "--ratio", "0.5"])
    assert (written.chart, written.markdown) == (Path("c.png"), Path("r.md"))
    assert written.settings.ratio == 0.5
