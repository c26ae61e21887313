"""The freshness benchmark: daily budgeted crawls of a changing live-profile replica, per policy.

    uv run python -m bench freshness                       5,000 studies, 14 simulated days
    uv run python -m bench freshness --studies 10000 --days 21 --ratio 1.7
    uv run python -m bench freshness --quick               300 studies, 4 days: a minute or two

Time passes as on the live site. Each policy has its own `replica.LiveSite` (noisy pages, no
validators, the live change process; the same seed, so the same history) on loopback. Each
simulated day is a few runs at even intervals (`runs_per_day`), as the hourly deployment
(`scraper.flows.deployments`) makes them: each through `scraper.session.CrawlSession` (the
session the crawl flow drives, batch by batch, without Prefect: its tasks would only add their
overhead), with its share of a daily budget of `ratio` requests per live study and a deadline at
the next run's start. Every request takes the same share of simulated time (`LiveSite.pace`), so
the day's budget would fill the day, as 86,400 requests at the polite 1 a second do, and the site
changes while the crawl goes on: a page fetched in the morning may have changed by the evening.
The crawl reads the replica's clock (`CrawlConfig.clock`). At the end of the day each warehouse
is compared with its site's truth. Policies:

- `crawler`: the crawler's own (`priority="change-rate"`, adaptive intervals);
- `fixed`: revisit everything daily, cut at the budget (`priority="due-order"`, intervals of
  exactly one day, nothing fetched ahead of its time);
- `oracle`: the bound. Before each run it reads the truth and makes due only the studies whose
  stored values differ from it (and those removed since), and fetches nothing else: it hears of
  every change by its next run. New studies come from the sitemaps as for the others.

Every policy runs as often, with the same share of the day's budget.

A second, quiet site (the change process off, noise and ticking ages still on) is crawled daily
by the crawler's policy alone: its mean revisit interval should grow, never shrink.

The policies run in parallel processes (`--workers`; each serves its own replica), since a day of
a few thousand studies is a few minutes of parsing 50-300 KB pages.

Measures, per day and policy, at the end of the day: requests counted by the run's budget,
freshness (live studies whose stored record equals the truth; see `comparable`; read at the end of
each run of the day too, for its mean through the day), the stalest
page (the longest time since a live study's page was last fetched), new studies not yet in the
warehouse and the longest wait of those that arrived (from appearing on the site to their first
fetch), and the mean revisit interval.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench import ArgumentParser
from replica.livesite import LiveSite
from scraper.config import CrawlConfig
from scraper.records import StudyPage
from scraper.session import CrawlSession
from scraper.stored import read_studies

REPO = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)
# The live site's ratio: 86,400 requests a day at the polite rate over its ~50,000 studies.
LIVE_RATIO = 1.7
# Loopback, politeness lifted: the bench simulates days, so it fetches as fast as the replica
# answers. Still several requests in flight, as the real crawl has.
BENCH_RATE = 100_000.0
BENCH_CONCURRENCY = 8
# Runs a simulated day, as the hourly deployment (`scraper.flows.deployments`) makes them: each
# with its share of the day's budget, ending by the next one's start.
RUNS_PER_DAY = 24
# Each run reads robots.txt and the sitemaps again and keeps back a worst case of requests
# (`scraper.budget`); the live site's hourly runs have 3,300 requests each. A bench site is
# smaller, so it gets fewer, larger runs, each of at least this many requests, which also keeps a
# simulated day to tens of seconds (5,000 studies: 8 runs a day, one every 3 hours).
RUN_BUDGET_FLOOR = 1_000


@dataclass(frozen=True, slots=True)
class Policy:
    """A way to spend a day's budget: crawl settings, and whether it may read the truth."""

    name: str
    changes: dict[str, Any]  # CrawlConfig fields
    oracle: bool = False


POLICIES: tuple[Policy, ...] = (
    Policy("crawler", {"priority": "change-rate"}),
    Policy(
        "fixed",
        {
            "priority": "due-order",
            "revisit_initial": DAY,
            "revisit_min": DAY,
            "revisit_max": DAY,
            "spend_ahead": False,
        },
    ),
    Policy("oracle", {"priority": "due-order", "spend_ahead": False}, oracle=True),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DayRow:
    """One policy's day."""

    policy: str
    day: int
    budget: int
    requests: int
    pages_fetched: int
    changed: int  # visits the crawl judged new or changed
    revisits_changed: int = 0  # of those, revisits judged changed (first fetches left out)
    live: int  # live studies in the truth
    fresh: int  # of those, stored exactly as the truth has them
    changing: int  # live studies that change after publication (where policies differ)
    changing_fresh: int  # of those, stored exactly as the truth has them
    stalest_days: (
        float  # longest time since a live study's page was fetched (never: since it appeared)
    )
    new_pending: int  # studies appeared so far that are not in the warehouse yet
    new_wait_max_days: float  # longest wait of a new study for its first fetch (pending: so far)
    mean_interval_days: float  # mean revisit interval of the fetched study pages
    ended_by: str
    # Freshness read at the end of each of the day's runs (its end included), evenly spaced
    # through it: of every live study, and of the studies that change. Read at the day's end alone,
    # freshness depends on when in the day each policy's visits fall.
    through_day: tuple[Snapshot, ...] = ()

    @property
    def end(self) -> Snapshot:
        return Snapshot(self.live, self.fresh, self.changing, self.changing_fresh)

    @property
    def freshness(self) -> float:
        return self.end.freshness

    @property
    def changing_freshness(self) -> float:
        return self.end.changing_freshness

    @property
    def day_freshness(self) -> float:
        """Mean freshness over the day's instants (the day's end alone, without them)."""
        instants = self.through_day or (self.end,)
        return sum(s.freshness for s in instants) / len(instants)

    @property
    def day_changing_freshness(self) -> float:
        instants = self.through_day or (self.end,)
        return sum(s.changing_freshness for s in instants) / len(instants)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Freshness at one instant: live studies, how many stored as the truth has them, and the
    same of the studies that change after publication."""

    live: int
    fresh: int
    changing: int
    changing_fresh: int

    @property
    def freshness(self) -> float:
        return self.fresh / self.live if self.live else 1.0

    @property
    def changing_freshness(self) -> float:
        return self.changing_fresh / self.changing if self.changing else 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    studies: int = 5000
    days: int = 14
    ratio: float = LIVE_RATIO
    seed: int = 7
    quiet_studies: int = 1000  # the quiet site's size
    quiet_days: int | None = None  # its days; None: `days`
    # The sitemaps give each study's <lastmod> (true to its last change): off by default, since
    # with them every policy that reads sitemaps hourly is as good as an oracle.
    lastmods: bool = False
    change_rates: float = 1.0  # multiplies the changing studies' rates (`LiveSite`)
    # The crawler's budget left over its floors goes to the pages unread a day or more
    # (`CrawlConfig.sweep_after`); False: the floors alone (the policy before session 9).
    sweep: bool = True
    workers: int = 0  # processes, one policy each; 0: as many as there are cores; 1: in this one


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    settings: Settings
    rows: tuple[DayRow, ...]  # every policy's days, the shared day 0 once per policy
    quiet: tuple[DayRow, ...]  # the crawler on the quiet site
    seconds: float


# --- one crawl ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crawled:
    requests: int
    fetched: int
    changed: int  # visits judged new or changed
    revisits_changed: int  # of those, revisits judged changed (first fetches left out)
    ended_by: str

    def __add__(self, other: Crawled) -> Crawled:
        return Crawled(
            self.requests + other.requests,
            self.fetched + other.fetched,
            self.changed + other.changed,
            self.revisits_changed + other.revisits_changed,
            other.ended_by,
        )


NOTHING = Crawled(0, 0, 0, 0, "done")


def crawl_day(config: CrawlConfig, db_path: Path) -> Crawled:
    """One run: discover, batches until the budget, the deadline or the due pages end, the end."""
    return asyncio.run(_crawl_day(config, db_path))


async def _crawl_day(config: CrawlConfig, db_path: Path) -> Crawled:
    async with CrawlSession.open(config, db_path) as session:
        await session.discover()
        while await session.run_batch() is not None:
            pass
        summary = session.finish().summary
    return Crawled(
        requests=summary.requests_counted or 0,
        fetched=summary.pages_fetched,
        changed=summary.pages_new + summary.pages_changed,
        revisits_changed=summary.pages_changed,
        ended_by=str(summary.ended_by),
    )


def day_config(
    site: LiveSite, policy: Policy, budget: int, deadline: datetime | None = None
) -> CrawlConfig:
    clock: Callable[[], datetime] = lambda: site.now  # noqa: E731 -- the replica's time

    async def sleep(seconds: float) -> None:  # waiting passes the replica's time
        site.pass_time(max(1, round(seconds)))
        await asyncio.sleep(0)

    # A run with nothing due waits `CrawlConfig.due_wait` (5 minutes) before it looks again, in the
    # bench as on the live site, although a bench request takes longer than a live one: the wait is
    # time set against a change process counted in days, not requests. Scaled to 300 requests' time
    # (50 minutes here) it let the fixed policy's daily visits drift hours later in the day over two
    # weeks, nearer the day's end, where freshness is read: 0.986 against 0.980 unscaled.
    return CrawlConfig(
        base_url=site.base_url,
        rate=BENCH_RATE,
        concurrency=BENCH_CONCURRENCY,
        backoff_initial_s=0.01,
        backoff_jitter_s=0.0,
        max_requests=budget,
        deadline=deadline,
        clock=clock,
        sleep=sleep,
        **policy.changes,
    )


def runs_per_day(budget: int) -> int:
    """As many runs as give each at least `RUN_BUDGET_FLOOR` requests, at most `RUNS_PER_DAY`."""
    return max(1, min(RUNS_PER_DAY, budget // RUN_BUDGET_FLOOR))


def run_day(
    site: LiveSite, policy: Policy, budget: int, db_path: Path
) -> tuple[Crawled, list[Snapshot]]:
    """A policy's day from its start: runs at even intervals (`runs_per_day`), each with its
    share of the day's budget and stopping at the next one's start; requests paced so the day's
    budget would fill the day. Returns what the runs did and the freshness at the end of each
    run but the last (the day's end, which `measure` reads)."""
    start = site.now
    runs = runs_per_day(budget)
    share = budget // runs
    crawled = NOTHING
    snapshots: list[Snapshot] = []
    site.pace(DAY.total_seconds() / budget)
    try:
        for slice_ in range(1, runs + 1):
            end = start + slice_ * DAY / runs
            if policy.oracle:
                point_oracle(db_path, site.now, by_study(site.truth()), site.removed())
            if site.now < end:
                crawled += crawl_day(day_config(site, policy, share, end), db_path)
            site.pass_time(max(0, round((end - site.now).total_seconds())))
            if slice_ < runs and db_path.exists():
                snapshots.append(snapshot(site, db_path))
    finally:
        site.pace(None)
    return crawled, snapshots


# --- the truth against the warehouse --------------------------------------------------------------


def comparable(record: StudyPage) -> StudyPage:
    """A record as compared for freshness: without the parser's version and warnings (the truth
    has none) and without post cards' age texts, which tick as days pass while the stored
    estimate of the instant they name stays right (`scraper.ages`). Every other value, the
    volatile counts and upvotes included, must be equal."""
    posts = tuple(dataclasses.replace(post, age_text=None) for post in record.community_posts)
    return dataclasses.replace(record, parser_version="", warnings=(), community_posts=posts)


def by_study(truth: dict[str, StudyPage]) -> dict[str, tuple[StudyPage, ...]]:
    """The truth per study id: a study with a second editorial slug has a page under each URL,
    and the two may show it in different forms (the site's own variants); either is the study."""
    grouped: dict[str, tuple[StudyPage, ...]] = {}
    for record in truth.values():
        if record.study_id:
            grouped[record.study_id] = (*grouped.get(record.study_id, ()), comparable(record))
    return grouped


def stale_studies(
    con: duckdb.DuckDBPyConnection, truth: dict[str, tuple[StudyPage, ...]]
) -> set[str]:
    """The live study ids whose stored record differs from the truth (absent ones included)."""
    stored = read_studies(con, list(truth))
    return {
        sid
        for sid, pages in truth.items()
        if sid not in stored or comparable(stored[sid]) not in pages
    }


def point_oracle(
    db_path: Path, now: datetime, truth: dict[str, tuple[StudyPage, ...]], removed: frozenset[str]
) -> int:
    """Make due exactly the known study pages that changed or went since their last visit; every
    other fetched page waits past the run. Returns how many were made due."""
    if not db_path.exists():  # before the first crawl
        return 0
    con = duckdb.connect(str(db_path))
    try:
        stale = sorted(stale_studies(con, truth))
        con.execute(
            "UPDATE pages SET next_visit_at = ? WHERE fetched_at IS NOT NULL", [now + 10 * DAY]
        )
        made_due = con.execute(
            "UPDATE pages SET next_visit_at = ?"
            " WHERE fetched_at IS NOT NULL AND alias_of IS NULL AND page_kind = 'study'"
            " AND (study_id IN (SELECT unnest(?::VARCHAR[]))"
            "  OR (url IN (SELECT unnest(?::VARCHAR[]))"
            "      AND coalesce(status_code, 0) NOT IN (404, 410)))"
            " RETURNING url",
            [now - DAY, stale, sorted(removed)],
        ).fetchall()
        return len(made_due)
    finally:
        con.close()


@dataclass
class Arrivals:
    """How long each study that appeared after day 0 began waited for its first fetch."""

    start: datetime
    waits: dict[str, float] = dataclasses.field(default_factory=dict)  # study id -> days

    def observe(
        self,
        site: LiveSite,
        truth: dict[str, tuple[StudyPage, ...]],
        first_seen: dict[str, datetime],
    ) -> tuple[int, float]:
        """Record the arrivals stored by now; returns the new studies still missing and the
        longest wait so far, theirs (until now) included."""
        pending: list[float] = []
        for sid, pages in truth.items():
            appeared = site.appeared_at(pages[0].url or "")
            if appeared is None or appeared <= self.start or sid in self.waits:
                continue
            if sid in first_seen:
                self.waits[sid] = (first_seen[sid] - appeared) / DAY
            else:
                pending.append((site.now - appeared) / DAY)
        return len(pending), max([*pending, *self.waits.values()], default=0.0)


def snapshot(site: LiveSite, db_path: Path) -> Snapshot:
    """Freshness now: the warehouse against its site's truth."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return freshness_of(con, site, by_study(site.truth()))
    finally:
        con.close()


def freshness_of(
    con: duckdb.DuckDBPyConnection, site: LiveSite, truth: dict[str, tuple[StudyPage, ...]]
) -> Snapshot:
    """The warehouse on `con` against `truth`, the site's now."""
    changing = site.changing() & set(truth)
    stale = stale_studies(con, truth)
    return Snapshot(len(truth), len(truth) - len(stale), len(changing), len(changing - stale))


def measure(
    site: LiveSite,
    db_path: Path,
    *,
    policy: Policy,
    day: int,
    budget: int,
    crawled: Crawled,
    arrivals: Arrivals,
    through_day: Sequence[Snapshot] = (),
) -> DayRow:
    """The end of one policy's day, read from its warehouse; `through_day`: the freshness
    read at the end of the day's earlier runs."""
    truth = by_study(site.truth())
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        end = freshness_of(con, site, truth)
        first_seen = dict(con.execute("SELECT study_id, first_seen_at FROM studies").fetchall())
        visits = dict(
            con.execute(
                "SELECT study_id, max(fetched_at) FROM pages WHERE page_kind = 'study'"
                " AND fetched_at IS NOT NULL GROUP BY study_id"
            ).fetchall()
        )
        (interval,) = con.execute(
            "SELECT coalesce(avg(revisit_seconds), 0) FROM pages WHERE page_kind = 'study'"
            " AND alias_of IS NULL AND fetched_at IS NOT NULL AND status_code = 200"
        ).fetchone() or (0,)
    finally:
        con.close()
    ages = [
        (site.now - (visits.get(sid) or site.appeared_at(pages[0].url or "") or site.now)) / DAY
        for sid, pages in truth.items()
    ]
    pending, longest_wait = arrivals.observe(site, truth, first_seen)
    return DayRow(
        policy=policy.name,
        day=day,
        budget=budget,
        requests=crawled.requests,
        pages_fetched=crawled.fetched,
        changed=crawled.changed,
        revisits_changed=crawled.revisits_changed,
        live=end.live,
        fresh=end.fresh,
        changing=end.changing,
        changing_fresh=end.changing_fresh,
        stalest_days=max(ages, default=0.0),
        new_pending=pending,
        new_wait_max_days=longest_wait,
        mean_interval_days=float(interval) / 86400,
        ended_by=crawled.ended_by,
        through_day=(*through_day, end),
    )


# --- the run ------------------------------------------------------------------------------------


# A run starts a page only while its worst case (`scraper.budget.worst_case_per_page`: 18
# requests) and a robots.txt read's still fit, so up to 35 of its requests go unspent: on a site
# of a few dozen studies that would be much of a day's budget, so tiny runs (the tests) get at
# least this much.
MIN_BUDGET = 120


def daily_budget(site: LiveSite, ratio: float) -> int:
    """The day's budget: `ratio` requests per live study (the live site's is ~1.7)."""
    return max(MIN_BUDGET, round(ratio * len(by_study(site.truth()))))


@dataclass(frozen=True, slots=True)
class Job:
    """One policy on its own site: the changing one, or the quiet one."""

    policy: Policy
    quiet: bool = False


def run(
    settings: Settings,
    workdir: Path,
    *,
    log: Callable[[str], None] = print,
    echo: bool = False,
) -> Outcome:
    """Every job's days; `echo` prints each day's line as it ends (from the worker processes,
    which `log` cannot reach)."""
    started = time.monotonic()
    jobs = [Job(policy) for policy in POLICIES] + [Job(POLICIES[0], quiet=True)]
    workers = settings.workers or os.cpu_count() or 1
    log(
        f"{settings.studies} studies, {settings.days} days: {len(POLICIES)} policies and the quiet"
        f" site, {len(jobs)} jobs on {workers} workers"
    )
    if workers == 1:
        done = [simulate(settings, job, workdir, echo=echo) for job in jobs]
    else:
        done = _in_processes(settings, jobs, workdir, min(workers, len(jobs)), echo=echo)
    rows = [row for job, days in zip(jobs, done, strict=True) if not job.quiet for row in days]
    quiet = [row for job, days in zip(jobs, done, strict=True) if job.quiet for row in days]
    return Outcome(
        settings=settings,
        rows=tuple(rows),
        quiet=tuple(quiet),
        seconds=time.monotonic() - started,
    )


def _in_processes(
    settings: Settings, jobs: list[Job], workdir: Path, workers: int, *, echo: bool
) -> list[list[DayRow]]:
    """`simulate` each job in a pool of `workers` processes. Spawned, not forked: the parent may
    hold threads (a replica server, Prefect's). A bench stopped (Ctrl-C; SIGTERM, which `main`
    turns into an exit) terminates its workers: the executor alone would wait for their jobs,
    minutes each, or leave them running orphaned. A worker that dies breaks the pool (an error),
    where a multiprocessing Pool would wait for its lost job for ever."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        try:
            futures = [pool.submit(simulate, settings, job, workdir, echo=echo) for job in jobs]
            return [future.result() for future in futures]
        except BaseException:
            for child in multiprocessing.active_children():
                child.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def job_policy(settings: Settings, job: Job) -> Policy:
    """The job's policy as `settings` have it: the crawler's without its sweep if asked."""
    if settings.sweep or job.policy.name != "crawler":
        return job.policy
    return dataclasses.replace(job.policy, changes={**job.policy.changes, "sweep_after": None})


def simulate(settings: Settings, job: Job, workdir: Path, *, echo: bool = False) -> list[DayRow]:
    """A policy's days on its own site, in its own warehouse."""
    name = f"{job.policy.name}-quiet" if job.quiet else job.policy.name
    path = workdir / name / "warehouse.duckdb"
    path.parent.mkdir(parents=True)
    studies = settings.quiet_studies if job.quiet else settings.studies
    days = (settings.quiet_days or settings.days) if job.quiet else settings.days
    rows: list[DayRow] = []
    policy = job_policy(settings, job)
    with LiveSite(
        studies=studies,
        seed=settings.seed + job.quiet,
        validators="none",
        change_rates=settings.change_rates,
    ) as site:
        if job.quiet:
            site.replica.stop_changes()
        site.replica.lastmods = settings.lastmods
        arrivals = Arrivals(site.now)
        for day in range(days):
            budget = daily_budget(site, settings.ratio)
            crawled, through_day = run_day(site, policy, budget, path)
            row = measure(
                site,
                path,
                policy=policy,
                day=day,
                budget=budget,
                crawled=crawled,
                arrivals=arrivals,
                through_day=through_day,
            )
            rows.append(row)
            if echo:
                print(("quiet " if job.quiet else "") + _line(row), flush=True)
    return rows


def _line(row: DayRow) -> str:
    return (
        f"day {row.day:>2} {row.policy:<8} requests {row.requests:>6}/{row.budget:<6}"
        f" fetched {row.pages_fetched:>6} freshness {row.freshness:.3f}"
        f" (changing studies {row.changing_freshness:.3f}; through the day"
        f" {row.day_freshness:.3f}, {row.day_changing_freshness:.3f})"
        f" stalest {row.stalest_days:4.1f} d new pending {row.new_pending}"
        f" interval {row.mean_interval_days:4.2f} d"
    )


# --- command line ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """What the command line asks for: the run's settings and where to write its report."""

    settings: Settings
    chart: Path | None = None
    markdown: Path | None = None


def main(argv: Sequence[str] | None = None) -> int:
    command = parse_command(argv)
    from bench import freshness_report  # noqa: PLC0415 -- it imports this module

    signal.signal(signal.SIGTERM, _terminated)
    with tempfile.TemporaryDirectory(prefix="freshness-") as workdir:
        outcome = run(
            command.settings, Path(workdir), log=lambda line: print(line, flush=True), echo=True
        )
    text = freshness_report.markdown(outcome)
    print(text)
    if command.markdown:
        command.markdown.write_text(text)
    if command.chart:
        freshness_report.chart(outcome, command.chart)
    return 0


def parse_command(argv: Sequence[str] | None = None) -> Command:
    """The command line read, or one line on stderr and exit 2."""
    parser = ArgumentParser(
        prog="python -m bench freshness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the docstring's own layout
    )
    parser.add_argument("--studies", type=int, help="live studies (default 5000)")
    parser.add_argument("--days", type=int, help="simulated days (default 14)")
    parser.add_argument("--ratio", type=float, default=LIVE_RATIO, help="requests per study a day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--lastmod",
        action="store_true",
        help="sitemaps give each study's true <lastmod>: every policy near the oracle",
    )
    # The default since session 8; kept so that the commands of earlier results still run.
    parser.add_argument("--no-lastmod", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--change-rates",
        type=float,
        default=1.0,
        help="multiply the changing studies' rates of change (a busier site; default 1)",
    )
    parser.add_argument(
        "--no-sweep",
        action="store_true",
        help="the crawler's budget left over its floors goes unspent (no sweep of the pages"
        " unread longest)",
    )
    parser.add_argument("--quick", action="store_true", help="300 studies, 4 days")
    parser.add_argument(
        "--workers", type=int, default=0, help="processes (default: one per core; 1: none)"
    )
    parser.add_argument("--chart", type=Path, help="write the freshness chart (PNG) here")
    parser.add_argument("--markdown", type=Path, help="write the report (markdown) here")
    args = parser.parse_args(argv)
    if args.quick and (args.studies is not None or args.days is not None):
        parser.error("--quick is 300 studies for 4 days: leave out --studies and --days")
    if args.quick:
        studies, days = 300, 4
    else:
        defaults = Settings()
        studies = defaults.studies if args.studies is None else args.studies
        days = defaults.days if args.days is None else args.days
    rates = args.change_rates
    for wrong, message in (
        (studies < 10, f"--studies must be 10 or more, not {studies}"),
        (days < 2, f"--days must be 2 or more, not {days}"),
        (not 0 < args.ratio < math.inf, f"--ratio must be positive and finite, not {args.ratio:g}"),
        (not 0 < rates < 1e3, f"--change-rates must be in (0, 1000), not {rates:g}"),
        (args.workers < 0, f"--workers must be 0 (one per core) or more, not {args.workers}"),
    ):
        if wrong:
            parser.error(message)
    settings = Settings(
        studies=studies,
        days=days,
        ratio=args.ratio,
        seed=args.seed,
        quiet_studies=max(10, studies // 5),
        lastmods=args.lastmod and not args.no_lastmod,
        sweep=not args.no_sweep,
        change_rates=args.change_rates,
        workers=args.workers,
    )
    return Command(settings, chart=args.chart, markdown=args.markdown)


def _terminated(_signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: the workers are stopped and the work directory removed; a
    second SIGTERM meanwhile is ignored, so that the clean-up finishes."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
