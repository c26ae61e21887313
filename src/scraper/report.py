"""What a crawl run reports: its batches and its end, and how people watching see them (the
markdown summary, the coverage table, the closing line).

`BatchReport` and `RunReport` are what `scraper.session.CrawlSession` returns; the rest is pure
formatting of them, used by the flows (Prefect artifacts) and the CLI (terminal). Progress while
a run goes is `scraper.progress`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scraper import load, runs
from scraper.schedule import Outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchReport:
    """What one batch did."""

    number: int
    outcomes: Counter[Outcome]
    not_modified: int  # answered 304
    requests: int  # HTTP requests for its pages: retries and redirect hops included
    wire_bytes: int
    failures: tuple[tuple[str, str], ...]  # (url, reason) of pages that failed or were refused
    load: load.LoadStats
    protected: tuple[str, ...]  # fields the drift guard kept from being overwritten
    pending: int = 0  # fetched and spooled, waiting for the warehouse (outcomes come with the load)

    @property
    def fetched(self) -> int:
        return sum(self.outcomes.values()) + self.pending


@dataclass(slots=True, kw_only=True)
class SpoolNote:
    """Spooled batches a run dealt with that its page counts do not show: those an earlier
    (killed) run fetched and this one loaded, and those found unreadable and set aside (their
    pages fetched again)."""

    inherited_batches: int = 0
    inherited_pages: int = 0  # visits they brought that the frontier had not recorded yet
    inherited_from: tuple[int, ...] = ()  # the runs that fetched them (crawl_runs.run_id)
    set_aside: int = 0
    set_aside_pages: int = 0  # of this run's own set-aside batches (an earlier run's: unknown)

    def line(self) -> str:
        """`loaded 3 batches (150 pages) left by run 12; set aside 1 unreadable batch`, or ""."""
        parts = []
        if self.inherited_batches:
            runs_ = ", ".join(str(run) for run in self.inherited_from) or "an earlier run"
            parts.append(
                f"loaded {_batches(self.inherited_batches)} ({self.inherited_pages} pages)"
                f" left by run{'s' if len(self.inherited_from) > 1 else ''} {runs_}"
            )
        if self.set_aside:
            pages = f", {self.set_aside_pages} pages fetched again" if self.set_aside_pages else ""
            parts.append(f"set aside {_batches(self.set_aside, 'unreadable ')}{pages}")
        return "; ".join(parts)


def _batches(count: int, kind: str = "") -> str:
    return f"{count} {kind}batch{'es' if count != 1 else ''}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """How a run ended: the `crawl_runs` row, plus what the monitoring shows."""

    run_id: int
    crawl_id: str
    summary: runs.RunSummary
    complete: bool  # nothing due is left in the crawl
    coverage: dict[str, float]
    baseline: dict[str, float]
    drifted: dict[str, tuple[float, float]]
    spool: SpoolNote = field(default_factory=SpoolNote)

    @property
    def failed(self) -> bool:
        return self.summary.status == "failed"


# --- what people watching see ----------------------------------------------------------------
def summary_markdown(report: RunReport) -> str:
    """The run summary artifact: counts, failures by reason, traffic and time."""
    s = report.summary
    rate = s.requests / s.duration_s if s.duration_s else 0.0
    lines = [
        f"# Crawl run {report.run_id}: {s.status}",
        "",
        "| pages | count |",
        "|---|---:|",
        f"| fetched | {s.pages_fetched} |",
        f"| new | {s.pages_new} |",
        f"| changed | {s.pages_changed} |",
        f"| unchanged | {s.pages_unchanged} |",
        f"| not modified (304) | {s.pages_not_modified} |",
        f"| removed (404/410) | {s.pages_removed} |",
        f"| failed | {s.pages_failed} |",
        "",
        f"Requests: {s.requests} ({rate:.1f}/s) · received {s.bytes_received / 1024:.0f} KiB"
        f" · {s.duration_s:.1f} s · {_crawl_state(report)}",
    ]
    lines += ["", left_due(s)]
    if spooled := report.spool.line():
        lines += ["", f"Spool: {spooled}"]
    if s.failure_reasons:
        lines += ["", "| failure reason | pages |", "|---|---:|"]
        lines += [f"| {reason} | {n} |" for reason, n in sorted(s.failure_reasons.items())]
    if s.error:
        lines += ["", f"**{s.error}**"]
    return "\n".join(lines)


def _crawl_state(report: RunReport) -> str:
    """Where the crawl stands; a run that failed or stopped is never called complete."""
    if report.summary.status == "failed":
        return "run failed: the crawl is not complete"
    if report.summary.status == "stopped":
        return "run stopped: the next run resumes the crawl"
    return f"crawl {'complete' if report.complete else 'continues'}"


def percent(share: float) -> int:
    """A share (0..1) in whole percent: the unit of the drift message and the coverage table."""
    return round(100 * share)


def coverage_rows(report: RunReport) -> list[dict[str, Any]]:
    """The coverage table artifact: each field's share of pages (%), this run and recent runs,
    the same figures the drift message names."""
    return [
        {
            "field": name,
            "this run (%)": percent(share),
            "recent runs (%)": percent(report.baseline[name]) if name in report.baseline else None,
            "drifted": name in report.drifted,
        }
        for name, share in sorted(report.coverage.items())
    ]


def drift_message(drifted: dict[str, tuple[float, float]]) -> str:
    """The drift verdict, naming each field with its coverage before and in this run (%)."""
    return "layout drift: coverage fell for " + ", ".join(
        f"{name} ({percent(before)}% -> {percent(now)}%)" for name, (before, now) in drifted.items()
    )


def terminal_summary(report: RunReport) -> str:
    s = report.summary
    spooled = report.spool.line()
    return (
        f"run {report.run_id} {s.status}: {s.pages_fetched} pages fetched"
        f" ({s.pages_new} new, {s.pages_changed} changed, {s.pages_unchanged} unchanged,"
        f" {s.pages_removed} removed, {s.pages_failed} failed) in {s.duration_s:.1f} s; "
        + left_due(s)
        + (f"; {spooled}" if spooled else "")
    )


def left_due(s: runs.RunSummary) -> str:
    """What the run spent and left: requests against the budget, pages still due, the stalest."""
    budget = f" of {s.max_requests}" if s.max_requests is not None else ""
    ended = {"budget": "; ended by its budget", "deadline": "; ended at its deadline"}
    head = f"{s.requests_counted}{budget} requests{ended.get(s.ended_by, '')}"
    if not s.pages_left_due or s.stalest_due_s is None:
        # A budget left unspent is no fault: nothing else was likely changed or unread long
        # enough for the sweep (`claims.claim`).
        unspent = s.max_requests is not None and s.ended_by == "done"
        return f"{head}; nothing left due{' or worth reading ahead' if unspent else ''}"
    # "unread for": since its last read, or since it was found if it was never read (a run cut
    # short by its budget may leave new pages behind).
    return (
        f"{head}; {s.pages_left_due} pages left due, the stalest unread for {_age(s.stalest_due_s)}"
    )


def _age(seconds: float) -> str:
    """A duration as people read it: 45 s, 12 min, 5.5 h, 3.2 days."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
