"""SIGKILL at chosen and at random moments of a crawl, a restart after each: the warehouse ends up
as an uninterrupted crawl leaves it, and the WARC archive stays readable.

The crawl runs in a child process (`tests/crash_child.py`: `CrawlSession`, no Prefect) against
one replica server shared with a reference crawl that is never interrupted. Kill points are
drawn from a seeded generator; `SEED` reproduces a run.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from replica import Replica, ReplicaServer
from scraper import db
from scraper.archive import Archive
from scraper.runs import INTERRUPTED_RUN, close_interrupted_runs, start_run
from scraper.session import default_archive_dir
from scraper.warc import ArchiveEntry, read_record, scan

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEED = 20251124
PAGES = 30  # 6 batches of 5 in the child
CHILD_TIMEOUT_S = 60.0  # a child that hangs fails the test instead of blocking the suite
# Studies columns that say when or in which run, not what: they differ between two crawls.
WHEN_COLUMNS = (
    "first_seen_at",
    "last_seen_at",
    "last_changed_at",
    "removed_at",
    "first_run_id",
    "last_changed_run_id",
    "last_seen_run_id",
    "removed_run_id",
)
INDEX_COLUMNS = (
    "warc_file, record_offset, record_length, url, target_uri, record_type, status_code,"
    " content_sha256, error, fetched_at, crawl_id"
)
ENTRY_FIELDS = tuple(
    name.strip().replace("record_offset", "offset").replace("record_length", "length")
    for name in INDEX_COLUMNS.split(",")
)
CHILD_TABLES = {
    "study_authors": "study_id, position, name",
    "cited_research": "*",
    "related_research": "*",
    "study_community_posts": "*",
    "community_posts": "post_id, url, title, category, summary",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=PAGES, seed=11)) as running:
        yield running


def run_child(
    base_url: str,
    db_path: Path,
    point: str | None = None,
    kill_at: int = 0,
    *,
    kill_after_s: float | None = None,
) -> int:
    """Run one crawl process to its end or its death; returns its exit code (-9: SIGKILL)."""
    command = [sys.executable, "-m", "tests.crash_child", base_url, str(db_path)]
    if point is not None:
        command += [point, str(kill_at)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE) as child:
        try:
            child.wait(timeout=kill_after_s)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)  # our own child, by its pid
        try:
            _, stderr = child.communicate(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            raise
    assert child.returncode in (0, -signal.SIGKILL), stderr.decode(errors="replace")[-2000:]
    return child.returncode


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[object, ...]]:
    return sorted(con.execute(query).fetchall(), key=repr)


def snapshot(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """What two crawls of the same site must agree on, timestamps and run ids left out."""
    con = db.connect(db_path, read_only=True)
    try:
        taken = {
            "studies": rows(con, f"SELECT * EXCLUDE ({', '.join(WHEN_COLUMNS)}) FROM studies"),
            "pages": rows(
                con,
                "SELECT url, study_id, status_code, etag, content_sha256, error, alias_of,"
                " visits, last_outcome FROM pages",
            ),
            "observed values": rows(
                con, "SELECT DISTINCT * EXCLUDE (observed_at, run_id) FROM study_observations"
            ),
        }
        for table, columns in CHILD_TABLES.items():
            taken[table] = rows(con, f"SELECT {columns} FROM {table}")
        return taken
    finally:
        con.close()


def test_crawl_killed_at_random_moments_ends_like_an_uninterrupted_one(
    server: ReplicaServer, tmp_path: Path
) -> None:
    reference, crashed = tmp_path / "reference.duckdb", tmp_path / "crashed.duckdb"
    assert run_child(server.base_url, reference) == 0
    rng = random.Random(SEED)
    # Ranges keep every kill within the work that is still left (6 batches of 5 pages).
    schedule = [
        ("fetch", rng.randint(1, 12)),  # discovery or one of the first batches, mid-flight
        ("parse", rng.randint(1, 5)),  # archived, not loaded
        ("load", rng.randint(1, 2)),  # inside the load transaction, before COMMIT
        ("record", rng.randint(1, 2)),  # loaded and committed, visits not recorded
        ("archive", rng.randint(1, 6)),  # a WARC record torn in the middle
    ]
    for point, kill_at in schedule:
        code = run_child(server.base_url, crashed, point, kill_at)
        assert code == -signal.SIGKILL, f"{point} {kill_at} (seed {SEED}) was not reached"
    # Then a kill at a moment nobody chose (it may land after the crawl ended: exit 0 is fine).
    run_child(server.base_url, crashed, kill_after_s=rng.uniform(0.8, 2.0))
    assert run_child(server.base_url, crashed) == 0

    expected, found = snapshot(reference), snapshot(crashed)
    for part, value in expected.items():
        assert found[part] == value, f"{part} differs (seed {SEED}, kills {schedule})"
    assert len(found["studies"]) == len({row[0] for row in found["studies"]}) > 0
    check_runs_and_crawls(crashed, kills=len(schedule))
    check_archive(crashed)


def check_runs_and_crawls(db_path: Path, kills: int) -> None:
    con = db.connect(db_path, read_only=True)
    try:
        runs = con.execute("SELECT status, error FROM crawl_runs ORDER BY run_id").fetchall()
        crawls = con.execute(
            "SELECT bool_and(finished_at IS NOT NULL) FROM frontier_crawls"
        ).fetchone()
        visited_in = con.execute("SELECT count(DISTINCT last_crawl_id) FROM pages").fetchone()
        observations = con.execute(
            "SELECT min(n) FROM (SELECT count(*) AS n FROM study_observations GROUP BY study_id)"
        ).fetchone()
    finally:
        con.close()
    # Each killed run is closed as interrupted when the next process opens the file.
    assert runs[-1] == ("completed", None)
    assert len(runs) >= kills + 1
    assert all(run in {("failed", INTERRUPTED_RUN), ("completed", None)} for run in runs)
    assert crawls == (True,)
    # Every page was visited in one crawl, resumed after every kill (a run that starts after the
    # crawl ended finds nothing due and closes an empty crawl).
    assert visited_in == (1,)
    # Every study observed at least once. A batch loaded but not yet recorded when the process
    # died is fetched again and observed twice: two real visits, at two fetch times.
    assert observations is not None
    assert observations[0] >= 1


def check_archive(db_path: Path) -> None:
    """Every WARC file scans (a torn tail is reported and skipped), the index is completed by
    `reindex` without duplicates, every indexed record reads back, and the newest body of each
    study page is the one whose hash the crawl state holds."""
    directory = default_archive_dir(db_path)
    reports = [scan(path) for path in sorted(directory.glob("*.warc.gz"))]
    assert sum(r.torn_at is not None for r in reports) >= 1  # the `archive` kill
    con = db.connect(db_path)
    try:
        with Archive(directory, con) as archive:
            archive.reindex()
            indexed = con.execute(f"SELECT {INDEX_COLUMNS} FROM archive_records").fetchall()
            archive.reindex()
            assert con.execute("SELECT count(*) FROM archive_records").fetchone() == (len(indexed),)
            for row in indexed:
                entry = ArchiveEntry(**dict(zip(ENTRY_FIELDS, row, strict=True)))
                assert read_record(directory, entry).target_uri == entry.target_uri
            pages = con.execute(
                "SELECT url, content_sha256 FROM pages WHERE page_kind = 'study'"
            ).fetchall()
            for url, digest in pages:
                stored = archive.read(url)
                assert stored is not None, url
                assert hashlib.sha256(stored.body).hexdigest() == digest, url
    finally:
        con.close()


# --- the closing of interrupted runs, in process --------------------------------------------------
def test_runs_left_running_are_closed_as_interrupted(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "w.duckdb")
    now = datetime.now(UTC)
    dead = start_run(con, started_at=now)
    assert close_interrupted_runs(con, now) == 1
    assert close_interrupted_runs(con, now) == 0
    row = con.execute("SELECT status, error FROM crawl_runs WHERE run_id = ?", [dead]).fetchone()
    assert row == ("failed", INTERRUPTED_RUN)
    con.close()
