"""`scraper status`: the running or last run and the frontier, read while a crawl may be running.

The warehouse is opened read-only and briefly, retried for a few seconds while a writer holds it
(a crawl holds it while it writes a batch). When it stays locked, the lease a running crawl
holds (`scraper.lease`: its run id, start and progress) says what is running, if there is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from scraper import lease


@dataclass(frozen=True, slots=True, kw_only=True)
class RunView:
    """A `crawl_runs` row as status shows it; a running run's counts are read from the frontier."""

    run_id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    pages: int
    requests: int | None
    seconds: float
    failures: dict[str, int] = field(default_factory=dict)  # reason -> pages
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FrontierView:
    due_now: int
    due_within_24h: int  # not due now, due before a day has passed
    failing: int  # whose last visit(s) failed
    never_fetched: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    run: RunView | None
    frontier: FrontierView


_LAST_RUN = """
SELECT run_id, kind, status, started_at, finished_at, pages_fetched, requests, duration_s,
    failure_reasons, error, crawl_id
FROM crawl_runs ORDER BY (status = 'running') DESC, run_id DESC LIMIT 1
"""
# A running run has not written its counts yet: what its crawl recorded since it started. Its
# requests are counted as a killed run's are (`runs.close_interrupted_runs`): the responses it
# archived (robots.txt, sitemaps, pages, redirect hops), the same meaning as a closed run's
# `requests` less the retries not archived (`pages.attempts` sums every visit a page ever had).
_RUNNING_PAGES = """
SELECT (SELECT count(*) FROM pages WHERE last_crawl_id = $crawl AND fetched_at >= $started),
    (SELECT count(*) FROM archive_records
     WHERE crawl_id = $crawl AND fetched_at >= $started AND record_type = 'response')
"""
_RUNNING_FAILURES = """
SELECT coalesce(error, 'unknown'), count(*) FROM pages
WHERE last_crawl_id = ? AND fetched_at >= ? AND last_outcome IN ('failed', 'refused')
GROUP BY ALL
"""
_FRONTIER = """
SELECT count(*) FILTER (WHERE next_visit_at <= $now),
    count(*) FILTER (WHERE next_visit_at > $now AND next_visit_at <= $day),
    count(*) FILTER (WHERE failures > 0),
    count(*) FILTER (WHERE fetched_at IS NULL)
FROM pages WHERE alias_of IS NULL
"""


def read_status(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> Status:
    now = now or datetime.now(UTC)
    row = con.execute(_FRONTIER, {"now": now, "day": now + timedelta(days=1)}).fetchone()
    assert row is not None  # an aggregate: one row
    frontier = FrontierView(
        due_now=row[0], due_within_24h=row[1], failing=row[2], never_fetched=row[3]
    )
    return Status(run=_last_run(con, now), frontier=frontier)


def _last_run(con: duckdb.DuckDBPyConnection, now: datetime) -> RunView | None:
    row = con.execute(_LAST_RUN).fetchone()
    if row is None:
        return None
    run_id, kind, status, started, finished, pages, requests, seconds, reasons, error, crawl = row
    failures = json.loads(reasons) if reasons else {}
    if status == "running":
        counted = con.execute(_RUNNING_PAGES, {"crawl": crawl, "started": started}).fetchone()
        assert counted is not None
        pages, requests = counted
        failures = dict(con.execute(_RUNNING_FAILURES, [crawl, started]).fetchall())
        seconds = (now - started).total_seconds()
    return RunView(
        run_id=run_id,
        kind=kind,
        status=status,
        started_at=started,
        finished_at=finished,
        pages=pages or 0,
        requests=requests,
        seconds=seconds or 0.0,
        failures=failures,
        error=error,
    )


def format_status(status: Status) -> str:
    lines = []
    run = status.run
    if run is None:
        lines.append("run: none yet")
    else:
        ended = f", finished {_when(run.finished_at)}" if run.finished_at else ""
        lines.append(
            f"run {run.run_id} ({run.kind}): {run.status}, started {_when(run.started_at)}{ended}"
        )
        requests = f", {run.requests:,} requests" if run.requests is not None else ""
        lines.append(
            f"  progress: {run.pages:,} pages{requests} in {run.seconds:,.0f} s"
            f" ({run.rate:.2f} pages/s)"
        )
        failed = sum(run.failures.values())
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(run.failures.items(), key=_by_count))
        lines.append(f"  failures: {failed}" + (f" ({reasons})" if reasons else ""))
        if run.error:
            lines.append(f"  error: {run.error}")
    f = status.frontier
    lines.append(
        f"frontier: {f.due_now:,} due now, {f.due_within_24h:,} due within 24 h,"
        f" {f.failing:,} failing, {f.never_fetched:,} never fetched"
    )
    return "\n".join(lines)


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def lease_line(db_path: Path) -> str | None:
    """The run holding the warehouse's lease (`scraper.lease`), in one line; None when no run
    holds it (or the lease cannot be read: it is only a hint here)."""
    try:
        holder = lease.holder(db_path)
    except OSError:
        return None
    return f"held by {holder.describe()}" if holder is not None else None
