"""`scraper status`: the last or running run and the frontier, also while a crawl holds the file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from scraper import db, runs
from scraper.cli import app
from scraper.lease import Lease
from scraper.report import terminal_summary
from tests.test_cli import held_warehouse, one_line_error, scraper
from tests.test_crawl import MockSite, run

__all__ = ["held_warehouse"]  # a fixture used here by name


def status(db_path: Path) -> str:
    result = CliRunner().invoke(app, ["status", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_status_of_a_finished_run_and_its_frontier(tmp_path: Path) -> None:
    site = MockSite(studies=6)
    path = tmp_path / "w.duckdb"
    crawled = run(site, path)
    shown = status(path).splitlines()
    assert shown[0].startswith(f"run {crawled.report.run_id} (crawl): completed, started ")
    assert ", finished " in shown[0]
    fetched = crawled.report.summary.pages_fetched
    assert shown[1].startswith(f"  progress: {fetched} pages, ")
    assert shown[2] == "  failures: 0"
    # every page was just fetched: none due now; their revisits come within hours, not now
    assert shown[-1].startswith("frontier: 0 due now, ")
    assert shown[-1].endswith(" due within 24 h, 0 failing, 0 never fetched")


def test_requests_mean_every_request_of_the_run_in_status_closing_line_and_table(
    tmp_path: Path,
) -> None:
    """One meaning of "requests": robots.txt, sitemaps, pages (retries, redirects) -- in
    `crawl_runs.requests`, the budget's `requests_counted`, the closing line and status."""
    site = MockSite(studies=6)
    path = tmp_path / "w.duckdb"
    crawled = run(site, path)
    made = len(site.requests)  # every request the site saw
    summary = crawled.report.summary
    assert made > summary.pages_fetched  # robots.txt and the sitemaps besides the pages
    assert summary.requests == summary.requests_counted == made
    assert f"{made} requests" in terminal_summary(crawled.report)
    assert f", {made} requests in " in status(path).splitlines()[1]
    # the same run seen while it runs: its requests read from what it archived so far
    with db.connect(path) as con:
        con.execute("UPDATE crawl_runs SET status = 'running', finished_at = NULL")
    assert f", {made} requests in " in status(path).splitlines()[1]


def test_status_of_a_running_run_counts_what_it_recorded_so_far(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    site = MockSite(studies=6)
    first = run(site, path, max_pages=5)  # stays open: the crawl continues
    con = db.connect(path)
    try:
        # a run under way: opened, a page failed, not closed
        started = datetime.now(UTC)
        running = runs.start_run(con, started_at=started, crawl_id=first.crawl_id)
        con.execute(
            "UPDATE pages SET last_outcome = 'failed', error = 'HTTP 503', failures = 1,"
            " fetched_at = ?, last_crawl_id = ? WHERE url = (SELECT min(url) FROM pages"
            " WHERE page_kind = 'study' AND alias_of IS NULL)",
            [started + timedelta(seconds=1), first.crawl_id],
        )
    finally:
        con.close()
    shown = status(path).splitlines()
    assert shown[0].startswith(f"run {running} (crawl): running, started ")
    assert shown[1].startswith("  progress: 1 pages")
    assert shown[2] == "  failures: 1 (HTTP 503: 1)"
    assert "1 failing" in shown[-1]
    assert "due now" in shown[-1]


def test_status_of_a_held_warehouse_is_one_line_naming_the_lease(held_warehouse: Path) -> None:
    with Lease.acquire(held_warehouse) as held:
        held.update(run_id=7, pages=12)
        result = scraper("status", "--db", str(held_warehouse), "--wait", "0.5")
    assert result.returncode == 1
    line = one_line_error(result)
    assert "in use by another process" in line
    assert "still locked after 0.5 s" in line
    assert "crawl run 7" in line
    assert "12 pages fetched so far" in line
    # no lease held: the same line without it, still no traceback
    result = scraper("status", "--db", str(held_warehouse), "--wait", "0")
    assert "in use by another process" in one_line_error(result)


def test_status_names_the_crawl_holding_the_lease_with_its_own_page_count(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    run(MockSite(studies=3), path)
    assert "now: held by" not in status(path)  # no crawl running: nothing more to say
    with Lease.acquire(path) as held:
        held.update(run_id=8, pages=23)  # what the running crawl's ticker last wrote
        shown = status(path).splitlines()
    assert shown[-1].startswith("now: held by crawl run 8 (pid ")
    assert shown[-1].endswith("23 pages fetched so far)")
