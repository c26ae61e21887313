"""A run that was killed is closed by the next writer with the counts of what it had committed
(the frontier's visits of its crawl, the responses it archived), not with NULLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scraper.runs import INTERRUPTED_RUN, close_interrupted_runs, start_run
from tests.warehouse_fixtures import memory_warehouse

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SITE = "https://tressless.com/research"


def test_an_interrupted_run_is_closed_with_its_real_counts() -> None:
    con = memory_warehouse()
    earlier = start_run(con, started_at=START - timedelta(days=1), crawl_id="c1")
    con.execute("UPDATE crawl_runs SET status = 'completed' WHERE run_id = ?", [earlier])
    killed = start_run(con, started_at=START, crawl_id="c1")
    visits = [  # url, outcome, status, fetched: the first one by the earlier run of the crawl
        ("a-1", "new", 200, START - timedelta(hours=1)),
        ("b-2", "new", 200, START + timedelta(minutes=1)),
        ("c-3", "changed", 200, START + timedelta(minutes=2)),
        ("d-4", "unchanged", 304, START + timedelta(minutes=3)),
        ("e-5", "failed", 503, START + timedelta(minutes=4)),
        ("f-6", "gone", 404, START + timedelta(minutes=5)),
    ]
    for slug, outcome, status, fetched in visits:
        con.execute(
            "INSERT INTO pages (url, page_kind, source, discovered_at, next_visit_at,"
            " revisit_seconds, status_code, fetched_at, last_outcome, last_crawl_id)"
            " VALUES (?, 'study', 'seed', ?, ?, 86400, ?, ?, ?, 'c1')",
            [f"{SITE}/{slug}", START, START, status, fetched, outcome],
        )
        con.execute(
            "INSERT INTO archive_records (warc_file, record_offset, record_length, url,"
            " target_uri, record_type, status_code, fetched_at, crawl_id)"
            " VALUES ('a.warc.gz', ?, 1000, ?, ?, 'response', ?, ?, 'c1')",
            [hash(slug) % 10**6, f"{SITE}/{slug}", f"{SITE}/{slug}", status, fetched],
        )

    assert close_interrupted_runs(con, START + timedelta(minutes=10)) == 1

    row = con.execute(
        "SELECT status, error, pages_fetched, pages_new, pages_changed, pages_unchanged,"
        " pages_not_modified, pages_failed, pages_removed, requests, bytes_received, duration_s"
        " FROM crawl_runs WHERE run_id = ?",
        [killed],
    ).fetchone()
    assert row == ("failed", INTERRUPTED_RUN, 5, 1, 1, 1, 1, 1, 1, 5, 5000, 600.0)


def test_an_interrupted_run_without_visits_is_closed_with_zeros() -> None:
    con = memory_warehouse()
    run = start_run(con, started_at=START)
    assert close_interrupted_runs(con, START) == 1
    row = con.execute(
        "SELECT status, pages_fetched, requests FROM crawl_runs WHERE run_id = ?", [run]
    ).fetchone()
    assert row == ("failed", 0, 0)
