"""Run reports: a failed or stopped run is never called complete, and the drift message and the
coverage table name the same figures in the same unit."""

from __future__ import annotations

from datetime import UTC, datetime

from scraper import report, runs
from scraper.report import RunReport


def run_report(status: runs.RunStatus, *, error: str | None = None) -> RunReport:
    drifted = {"tldr": (0.9, 0.404)}
    return RunReport(
        run_id=42,
        crawl_id="c",
        summary=runs.RunSummary(finished_at=datetime.now(UTC), status=status, error=error),
        complete=True,
        coverage={"tldr": 0.404, "title": 1.0},
        baseline={"tldr": 0.9, "title": 1.0},
        drifted=drifted,
    )


def test_a_run_that_failed_on_drift_is_not_labelled_complete() -> None:
    failed = run_report("failed", error=report.drift_message({"tldr": (0.9, 0.404)}))
    markdown = report.summary_markdown(failed)
    assert "crawl complete" not in markdown
    assert "run failed" in markdown
    assert "crawl complete" not in report.summary_markdown(run_report("stopped"))
    assert "crawl complete" in report.summary_markdown(run_report("completed"))


def test_the_drift_message_and_the_coverage_table_show_the_same_percent() -> None:
    result = run_report("failed")
    message = report.drift_message(result.drifted)
    (tldr,) = [row for row in report.coverage_rows(result) if row["field"] == "tldr"]
    assert message == "layout drift: coverage fell for tldr (90% -> 40%)"
    assert (tldr["recent runs (%)"], tldr["this run (%)"]) == (90, 40)
    assert tldr["drifted"] is True
