"""The freshness benchmark: daily budgeted crawls of a changing live-profile replica, per policy.

    uv run python -m bench freshness                       5,000 studies, 14 simulated days
    uv run python -m bench freshness --studies 10000 --days 21 --ratio 1.7
    uv run python -m bench freshness --quick               300 studies, 4 days: a minute or two

One `replica.LiveSite` (noisy pages, no validators, the live change process) is served on
loopback; each simulated day every policy runs one crawl of its own warehouse through
`scraper.session.CrawlSession` (the session the crawl flow drives, batch by batch, without
Prefect: its tasks would only add their overhead to minutes of simulated days), on the
replica's clock (`CrawlConfig.clock`), with a budget of `ratio` requests per live study, then the
warehouse is compared with the replica's truth and the site advances a day. Policies:

- `crawler`: the crawler's own (`priority="change-rate"`, adaptive intervals);
- `fixed`: revisit everything daily, cut at the budget (`priority="due-order"`, intervals of
  exactly one day);
- `oracle`: the bound. Before each run it reads the truth and makes due only the studies whose
  stored values differ from it (and those removed since), then crawls in due order; new studies
  come from the sitemaps as for the others.

Day 0 (the first crawl: every page new, the same for every policy within the budget) is crawled
once and its warehouse copied to every policy. A second, quiet site (the change process off,
noise and ticking ages still on) is crawled daily by the crawler's policy alone: its mean revisit
interval should grow from day 1 to the last day, never shrink.

Measures, per day and policy, at the end of the day's run (the replica changes only when a day
passes, so the end of a run is the end of its day): requests counted by the run's budget,
freshness (live studies whose stored record equals the truth; see `comparable`), the stalest
page (the longest time since a live study's page was last fetched), new studies not yet in the
warehouse and the longest wait of those that arrived, and the mean revisit interval.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from replica.livesite import LiveSite
from scraper.config import CrawlConfig
from scraper.records import StudyPage
from scraper.session import CrawlSession, default_archive_dir
from scraper.stored import read_studies

REPO = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)
# The live site's ratio: 86,400 requests a day at the polite rate over its ~50,000 studies.
LIVE_RATIO = 1.7
# Loopback, politeness lifted: the bench simulates days, so it fetches as fast as the replica
# answers. Still several requests in flight, as the real crawl has.
BENCH_RATE = 100_000.0
BENCH_CONCURRENCY = 8


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
        {"priority": "due-order", "revisit_initial": DAY, "revisit_min": DAY, "revisit_max": DAY},
    ),
    Policy("oracle", {"priority": "due-order"}, oracle=True),
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
    live: int  # live studies in the truth
    fresh: int  # of those, stored exactly as the truth has them
    stalest_days: (
        float  # longest time since a live study's page was fetched (never: since it appeared)
    )
    new_pending: int  # studies appeared so far that are not in the warehouse yet
    new_wait_max_days: float  # longest wait of a new study until it was in the warehouse
    mean_interval_days: float  # mean revisit interval of the fetched study pages
    ended_by: str

    @property
    def freshness(self) -> float:
        return self.fresh / self.live if self.live else 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    studies: int = 5000
    days: int = 14
    ratio: float = LIVE_RATIO
    seed: int = 7
    quiet_studies: int = 1000  # the quiet site's size
    quiet_days: int | None = None  # its days; None: `days`
    lastmods: bool = True  # the sitemaps give each study's <lastmod> (true to its last change)


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
    changed: int
    ended_by: str


def crawl_day(config: CrawlConfig, db_path: Path) -> Crawled:
    """One daily run: discover, batches until the budget or the due pages end, the run's end."""
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
        ended_by=str(summary.ended_by),
    )


def day_config(site: LiveSite, policy: Policy, budget: int) -> CrawlConfig:
    clock: Callable[[], datetime] = lambda: site.now  # noqa: E731 -- the replica's day
    return CrawlConfig(
        base_url=site.base_url,
        rate=BENCH_RATE,
        concurrency=BENCH_CONCURRENCY,
        backoff_initial_s=0.01,
        backoff_jitter_s=0.0,
        max_requests=budget,
        clock=clock,
        **policy.changes,
    )


def copy_warehouse(source: Path, target: Path) -> None:
    """A policy's start from the shared day 0: the database and its archive."""
    shutil.copyfile(source, target)
    shutil.copytree(default_archive_dir(source), default_archive_dir(target))


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
    """When each study that appeared during the run was first seen in a policy's warehouse."""

    start: datetime
    first_day: int  # the replica's day of the run's day 0
    waits: dict[str, float] = dataclasses.field(default_factory=dict)  # study id -> days

    def observe(
        self, site: LiveSite, truth: dict[str, tuple[StudyPage, ...]], stored: set[str]
    ) -> int:
        """Record the arrivals of today; returns the new studies still missing."""
        pending = 0
        for sid, pages in truth.items():
            appeared = site.appeared_at(pages[0].url or "")
            if appeared is None or appeared <= self.start or sid in self.waits:
                continue
            if sid in stored:
                self.waits[sid] = (site.now - appeared) / DAY
            else:
                pending += 1
        return pending


def measure(
    site: LiveSite,
    db_path: Path,
    *,
    policy: Policy,
    budget: int,
    crawled: Crawled,
    arrivals: Arrivals,
) -> DayRow:
    """The end of one policy's day, read from its warehouse."""
    truth = by_study(site.truth())
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        stale = stale_studies(con, truth)
        stored = {row[0] for row in con.execute("SELECT study_id FROM studies").fetchall()}
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
    pending = arrivals.observe(site, truth, stored)
    return DayRow(
        policy=policy.name,
        day=site.replica.day - arrivals.first_day,
        budget=budget,
        requests=crawled.requests,
        pages_fetched=crawled.fetched,
        changed=crawled.changed,
        live=len(truth),
        fresh=len(truth) - len(stale),
        stalest_days=max(ages, default=0.0),
        new_pending=pending,
        new_wait_max_days=max(arrivals.waits.values(), default=0.0),
        mean_interval_days=float(interval) / 86400,
        ended_by=crawled.ended_by,
    )


# --- the run ------------------------------------------------------------------------------------


# A run keeps back a worst case (`scraper.budget.worst_case_per_page`: 18 requests) for each page
# it claims and one for a robots.txt read: on a site of a few dozen studies that would be most of
# a day's budget, so tiny runs (the tests) get at least this much.
MIN_BUDGET = 120


def daily_budget(site: LiveSite, ratio: float) -> int:
    """The day's budget: `ratio` requests per live study (the live site's is ~1.7)."""
    return max(MIN_BUDGET, round(ratio * len(by_study(site.truth()))))


def run(settings: Settings, workdir: Path, *, log: Callable[[str], None] = print) -> Outcome:
    started = time.monotonic()
    rows: list[DayRow] = []
    with LiveSite(studies=settings.studies, seed=settings.seed, validators="none") as site:
        site.replica.lastmods = settings.lastmods
        log(f"replica: {settings.studies} studies on {site.base_url}")
        rows += simulate(
            site, settings, workdir / "changing", POLICIES, days=settings.days, log=log
        )
    with LiveSite(studies=settings.quiet_studies, seed=settings.seed + 1) as quiet_site:
        quiet_site.replica.stop_changes()
        quiet_site.replica.lastmods = settings.lastmods
        quiet_days = settings.quiet_days or settings.days
        quiet = simulate(
            quiet_site,
            settings,
            workdir / "quiet",
            POLICIES[:1],
            days=quiet_days,
            log=log,
        )
    return Outcome(
        settings=settings,
        rows=tuple(rows),
        quiet=tuple(quiet),
        seconds=time.monotonic() - started,
    )


def simulate(
    site: LiveSite,
    settings: Settings,
    workdir: Path,
    policies: Sequence[Policy],
    *,
    days: int,
    log: Callable[[str], None],
) -> list[DayRow]:
    """`days` days of `policies` on `site`, each in its own warehouse."""
    workdir.mkdir(parents=True)
    paths = {p.name: workdir / p.name / "warehouse.duckdb" for p in policies}
    for path in paths.values():
        path.parent.mkdir()
    arrivals = {p.name: Arrivals(site.now, site.replica.day) for p in policies}
    rows: list[DayRow] = []
    first = policies[0]
    budget = daily_budget(site, settings.ratio)
    crawled = crawl_day(day_config(site, first, budget), paths[first.name])
    for policy in policies:
        if policy is not first:
            copy_warehouse(paths[first.name], paths[policy.name])
        row = measure(
            site,
            paths[policy.name],
            policy=policy,
            budget=budget,
            crawled=crawled,
            arrivals=arrivals[policy.name],
        )
        rows.append(row)
        log(_line(row))
    for _ in range(1, days):
        site.advance(1)
        budget = daily_budget(site, settings.ratio)
        for policy in policies:
            path = paths[policy.name]
            if policy.oracle:
                point_oracle(path, site.now, by_study(site.truth()), site.removed())
            crawled = crawl_day(day_config(site, policy, budget), path)
            row = measure(
                site,
                path,
                policy=policy,
                budget=budget,
                crawled=crawled,
                arrivals=arrivals[policy.name],
            )
            rows.append(row)
            log(_line(row))
    return rows


def _line(row: DayRow) -> str:
    return (
        f"day {row.day:>2} {row.policy:<8} requests {row.requests:>6}/{row.budget:<6}"
        f" fetched {row.pages_fetched:>6} freshness {row.freshness:.3f}"
        f" stalest {row.stalest_days:4.1f} d new pending {row.new_pending}"
        f" interval {row.mean_interval_days:4.2f} d"
    )


# --- command line ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench freshness", description=__doc__)
    parser.add_argument("--studies", type=int, default=5000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--ratio", type=float, default=LIVE_RATIO, help="requests per study a day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-lastmod", action="store_true", help="sitemaps without <lastmod>: no change hints"
    )
    parser.add_argument("--quick", action="store_true", help="300 studies, 4 days")
    parser.add_argument("--chart", type=Path, help="write the freshness chart (PNG) here")
    parser.add_argument("--markdown", type=Path, help="write the report (markdown) here")
    args = parser.parse_args(argv)
    if args.studies < 10 or args.days < 2 or args.ratio <= 0:
        parser.error("need --studies >= 10, --days >= 2 and a positive --ratio")
    studies, days = (300, 4) if args.quick else (args.studies, args.days)
    settings = Settings(
        studies=studies,
        days=days,
        ratio=args.ratio,
        seed=args.seed,
        quiet_studies=max(10, studies // 5),
        lastmods=not args.no_lastmod,
    )
    from bench import freshness_report  # noqa: PLC0415 -- it imports this module

    with tempfile.TemporaryDirectory(prefix="freshness-") as workdir:
        outcome = run(settings, Path(workdir), log=lambda line: print(line, flush=True))
    text = freshness_report.markdown(outcome)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.chart:
        freshness_report.chart(outcome, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
