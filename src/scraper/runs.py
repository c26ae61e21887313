"""Run bookkeeping: one `crawl_runs` row per crawl or reparse, opened, closed with its counts.

A run is opened (`start_run`) as "running" and closed (`finish_run`) with a `RunSummary`. A
process that dies in between cannot close its run; the next writer closes it as failed
(`close_interrupted_runs`) with the counts it left behind in the frontier and the archive, so
no run stays "running" for ever and none keeps NULL counts.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import duckdb

from scraper.db import affected_rows, require_aware
from scraper.load import LoadError

# stopped: asked to stop (SIGTERM, Ctrl-C, a cancellation) and closed cleanly; the next run resumes.
RunStatus = Literal["running", "completed", "failed", "stopped"]
RunKind = Literal["crawl", "reparse"]
# The error of a run whose process died before closing it (`close_interrupted_runs`).
INTERRUPTED_RUN = "interrupted: the process ended before the run was closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """How a crawl run ended, for `finish_run`; each field is the `crawl_runs` column so named."""

    finished_at: datetime
    status: RunStatus = "completed"
    pages_fetched: int = 0
    pages_changed: int = 0
    pages_unchanged: int = 0
    pages_failed: int = 0
    pages_removed: int = 0
    pages_new: int = 0
    pages_not_modified: int = 0  # answered 304
    # Every HTTP request the run made: robots.txt, sitemaps, pages, retries, redirect hops.
    requests: int = 0
    bytes_received: int = 0  # on the wire, compressed
    duration_s: float = 0.0
    failure_reasons: Mapping[str, int] = field(default_factory=dict)  # reason -> pages
    drifted_fields: tuple[str, ...] = ()  # fields the drift guard protected
    error: str | None = None  # one line: why a failed run failed
    # The budget (scraper.budget) and how the run ended: None/"done" for a run without one.
    max_requests: int | None = None
    deadline: datetime | None = None
    requests_counted: int = 0  # against the budget: the same count as `requests`
    ended_by: str = "done"  # "done": nothing due left; "budget", "deadline": cut short; "stopped"
    pages_left_due: int = 0
    stalest_due_s: float | None = None  # since the stalest due page was last read (or found)


def start_run(
    con: duckdb.DuckDBPyConnection,
    *,
    started_at: datetime,
    kind: RunKind = "crawl",
    base_url: str | None = None,
    parser_version: str | None = None,
    flow_run_id: str | None = None,
    crawl_id: str | None = None,
) -> int:
    """Open a `crawl_runs` row; returns its run_id. `crawl_id` is the frontier crawl it works on
    (what its visits are found by, should it never be closed)."""
    require_aware(started_at, "started_at")
    row = con.execute(
        "INSERT INTO crawl_runs (started_at, kind, base_url, parser_version, flow_run_id,"
        " crawl_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING run_id",
        [started_at.astimezone(UTC), kind, base_url, parser_version, flow_run_id, crawl_id],
    ).fetchone()
    assert row is not None  # INSERT .. RETURNING of one row
    return int(row[0])


# What a killed run did, read back from what it committed: the frontier's visits recorded in its
# crawl since it started (a later run of the same crawl has not started yet when this runs) and
# the responses it archived. Runs without a crawl (a reparse) get zeros.
_CLOSE_INTERRUPTED = """
UPDATE crawl_runs SET status = 'failed', finished_at = $finished_at, error = $error,
    pages_fetched = v.fetched, pages_new = v.new, pages_changed = v.changed,
    pages_unchanged = v.unchanged, pages_not_modified = v.not_modified,
    pages_failed = v.failed, pages_removed = v.removed,
    requests = coalesce(a.requests, 0), requests_counted = coalesce(a.requests, 0),
    bytes_received = coalesce(a.bytes, 0),
    duration_s = greatest(epoch($finished_at) - epoch(crawl_runs.started_at), 0)
FROM (
    SELECT r.run_id,
        count(p.url) AS fetched,
        count(p.url) FILTER (WHERE p.last_outcome = 'new') AS new,
        count(p.url) FILTER (WHERE p.last_outcome = 'changed') AS changed,
        count(p.url) FILTER (WHERE p.last_outcome = 'unchanged') AS unchanged,
        count(p.url) FILTER (WHERE p.status_code = 304) AS not_modified,
        count(p.url) FILTER (WHERE p.last_outcome IN ('failed', 'refused')) AS failed,
        count(p.url) FILTER (WHERE p.last_outcome = 'gone') AS removed
    FROM crawl_runs r LEFT JOIN pages p
        ON p.last_crawl_id = r.crawl_id AND p.fetched_at >= r.started_at
    WHERE r.status = 'running' GROUP BY r.run_id
) AS v
LEFT JOIN (
    SELECT r.run_id, count(*) AS requests, sum(x.record_length) AS bytes
    FROM crawl_runs r JOIN archive_records x
        ON x.crawl_id = r.crawl_id AND x.fetched_at >= r.started_at
    WHERE r.status = 'running' AND x.record_type = 'response' GROUP BY r.run_id
) AS a ON a.run_id = v.run_id
WHERE crawl_runs.run_id = v.run_id
"""


def close_interrupted_runs(con: duckdb.DuckDBPyConnection, finished_at: datetime) -> int:
    """Close the runs still marked running as failed, with the counts of what they had
    committed; returns how many there were.

    Call it when a writer opens the file, before starting a run: DuckDB admits one writing
    process at a time, so a run still running then died with its process (SIGKILL, power loss)
    and would otherwise stay "running" for ever.
    """
    require_aware(finished_at, "finished_at")
    cursor = con.execute(
        _CLOSE_INTERRUPTED, {"finished_at": finished_at.astimezone(UTC), "error": INTERRUPTED_RUN}
    )
    return affected_rows(cursor)


_SUMMARY_COLUMNS = tuple(f.name for f in dataclasses.fields(RunSummary))
_FINISH_RUN = (
    f"UPDATE crawl_runs SET {', '.join(f'{name} = ${name}' for name in _SUMMARY_COLUMNS)}"
    " WHERE run_id = $run_id"
)


def finish_run(con: duckdb.DuckDBPyConnection, run_id: int, summary: RunSummary) -> None:
    """Close a run with its counts and status."""
    require_aware(summary.finished_at, "finished_at")
    cursor = con.execute(_FINISH_RUN, {**_summary_values(summary), "run_id": run_id})
    if affected_rows(cursor) != 1:
        raise LoadError(f"no crawl run {run_id}")


def fetched_by(
    con: duckdb.DuckDBPyConnection, crawl_id: str | None, fetched_at: datetime, *, other_than: int
) -> int | None:
    """The run of `crawl_id` that fetched a page at `fetched_at`: its latest run started by
    then, other than `other_than` (the run asking); None if there is none."""
    # fetchall: a result left unread would block the caller's next statements
    ((run,),) = con.execute(
        "SELECT max(run_id) FROM crawl_runs WHERE crawl_id = ? AND started_at <= ? AND run_id <> ?",
        [crawl_id, fetched_at, other_than],
    ).fetchall()
    return None if run is None else int(run)


def _summary_values(summary: RunSummary) -> dict[str, Any]:
    """The summary's fields as `crawl_runs` stores them."""
    values = {name: getattr(summary, name) for name in _SUMMARY_COLUMNS}
    values["finished_at"] = summary.finished_at.astimezone(UTC)
    values["failure_reasons"] = json.dumps(dict(summary.failure_reasons), sort_keys=True)
    values["drifted_fields"] = ",".join(summary.drifted_fields) or None
    return values
