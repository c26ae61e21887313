"""The loader: migrations, round trip, idempotence, history, removals, 304s, drift guard, runs."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings

from scraper import db, drift, load, runs
from scraper.records import LoadItem, Section, StudyPage
from scraper.runs import RunSummary
from scraper.stored import read_study
from tests.warehouse_fixtures import (
    DAY,
    SITE,
    T0,
    dump,
    items,
    memory_warehouse,
    scalar,
    study,
    study_pages,
    user_tables,
)

CONTRACT_3 = (
    "studies",
    "study_authors",
    "cited_research",
    "related_research",
    "community_posts",
    "study_community_posts",
    "community_post_observations",
    "study_observations",
    "crawl_runs",
)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return memory_warehouse()


# --- migrations --------------------------------------------------------------------------------
def _latest_version() -> int:
    return max(int(p.name[:3]) for p in (db.sql_dir() / "migrations").glob("[0-9][0-9][0-9]_*.sql"))


def test_migrations_build_an_empty_warehouse_once(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = db.connect(path)
    assert db.schema_version(con) == _latest_version()
    assert set(CONTRACT_3) <= set(user_tables(con))
    assert db.migrate(con) == []  # nothing pending on a second open
    con.close()


def test_migrating_an_older_warehouse_keeps_its_rows(tmp_path: Path) -> None:
    old = tmp_path / "sql"
    (old / "migrations").mkdir(parents=True)
    (old / "views").mkdir()
    shutil.copy(db.sql_dir() / "migrations" / "001_core.sql", old / "migrations")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert db.migrate(con, old) == [1]
    con.execute(
        "INSERT INTO studies (study_id, url, title, sections, page_kind, parser_version, warnings,"
        " content_hash, first_seen_at, last_seen_at, last_changed_at)"
        " VALUES ('Pgny', 'u', 'A title', [], 'study', 'old', [], 'h', ?, ?, ?)",
        [T0, T0, T0],
    )

    applied = db.migrate(con)

    # the versions present, not a range: parallel branches each take their own number
    present = sorted(int(p.name[:3]) for p in (db.sql_dir() / "migrations").glob("[0-9]*.sql"))
    assert applied == [version for version in present if version >= 2]
    assert scalar(con, "SELECT title FROM studies WHERE study_id = 'Pgny'") == "A title"
    assert con.execute("SELECT * FROM citation_edges").fetchall() == []  # views applied


# --- round trip --------------------------------------------------------------------------------
def test_record_round_trips_through_the_warehouse() -> None:
    con = memory_warehouse()
    clock = itertools.count()

    @settings(max_examples=60, deadline=None)
    @given(page=study_pages)
    def check(page: StudyPage) -> None:
        at = T0 + next(clock) * DAY  # each example is a later visit, so it is stored
        load.load_pages(con, [LoadItem(page=page)], observed_at=at, run_id=None)
        assert page.study_id is not None
        assert read_study(con, page.study_id) == page

    check()


def test_read_study_of_an_unknown_id_is_none(con: duckdb.DuckDBPyConnection) -> None:
    assert read_study(con, "nope") is None


def test_a_month_that_is_not_yyyy_mm_is_null_with_a_warning(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load.load_pages(con, items(study(published="Jan 2024")), observed_at=T0, run_id=None)
    stored = read_study(con, "Pgny")
    assert stored is not None
    assert stored.published is None
    assert stored.warnings == ("published 'Jan 2024' is not YYYY-MM: stored as null",)


# --- idempotence -------------------------------------------------------------------------------
def test_loading_the_same_batch_twice_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    batch = items(study("Pgny"), study("02xX", slug="jak"), at=T0)
    first = load.load_pages(con, batch, observed_at=T0, run_id=1)
    before = dump(con)

    again = load.load_pages(con, batch, observed_at=T0, run_id=1)

    assert dump(con) == before
    assert first.studies_new == 2
    assert again == load.LoadStats(studies_unchanged=2)


def test_a_recrawl_of_unchanged_pages_moves_only_last_seen_at(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load.load_pages(con, items(study()), observed_at=T0, run_id=1)
    before = dump(con)

    stats = load.load_pages(con, items(study()), observed_at=T0 + DAY, run_id=2)

    after = dump(con)
    assert stats.studies_unchanged == 1
    changed = {t for t in after if after[t] != before[t]}
    # studies: last_seen_at only; the visit itself is history; the post was seen again
    assert changed == {
        "studies",
        "study_observations",
        "community_post_observations",
        "community_posts",
    }
    columns = [d[0] for d in con.execute("SELECT * FROM studies").description or ()]
    (old,), (new,) = before["studies"], after["studies"]
    differing = {c for c, a, b in zip(columns, old, new, strict=True) if a != b}
    assert differing == {"last_seen_at", "last_seen_run_id"}  # the visit and its run
    assert len(after["study_observations"]) == 2


def test_the_same_study_twice_in_a_batch_keeps_the_latest_fetch(
    con: duckdb.DuckDBPyConnection,
) -> None:
    older = LoadItem(page=study(title="Old"), fetched_at=T0)
    newer = LoadItem(page=study(title="New"), fetched_at=T0 + DAY)

    stats = load.load_pages(con, [newer, older], observed_at=T0, run_id=None)

    assert stats.duplicates == 1
    again = load.load_pages(con, [older, older], observed_at=T0, run_id=None)
    assert (again.duplicates, again.studies_stale) == (1, 1)
    assert scalar(con, "SELECT title FROM studies") == "New"
    assert scalar(con, "SELECT count(*) FROM study_observations") == 2


def test_pages_that_are_not_studies_are_skipped(con: duckdb.DuckDBPyConnection) -> None:
    search_page = StudyPage(url=f"{SITE}/search/minoxidil", page_kind="search")
    no_id = StudyPage(url=None, title="?")

    stats = load.load_pages(con, items(search_page, no_id), observed_at=T0, run_id=None)

    assert stats == load.LoadStats(skipped=2)
    assert scalar(con, "SELECT count(*) FROM studies") == 0


def test_the_fetch_url_stands_in_for_a_missing_page_url(con: duckdb.DuckDBPyConnection) -> None:
    page = dataclasses.replace(study(), url=None, study_id=None)
    item = LoadItem(page=page, fetched_url="http://tressless.com/research/tofa-Pgny/?utm_source=x")

    load.load_pages(con, [item], observed_at=T0, run_id=None)

    assert con.execute("SELECT study_id, url FROM studies").fetchall() == [
        ("Pgny", "http://tressless.com/research/tofa-Pgny")
    ]


# --- keys and history --------------------------------------------------------------------------
def test_a_slug_change_keeps_one_study_and_records_the_old_url(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load.load_pages(con, items(study(slug="long-slug-from-the-title")), observed_at=T0, run_id=1)
    load.load_pages(con, items(study(slug="short")), observed_at=T0 + DAY, run_id=2)

    assert con.execute("SELECT study_id, url FROM studies").fetchall() == [
        ("Pgny", f"{SITE}/research/short-Pgny")
    ]
    assert con.execute("SELECT field, old_value, new_value FROM study_text_history").fetchall() == [
        ("url", f"{SITE}/research/long-slug-from-the-title-Pgny", f"{SITE}/research/short-Pgny")
    ]


def test_history_accumulates_across_visits(con: duckdb.DuckDBPyConnection) -> None:
    first = study()
    post = first.community_posts[0]
    second = study(
        summary="A rewritten summary.",
        sections={**first.sections, "cited_research": Section(shown=6, total=20)},
        community_posts=(dataclasses.replace(post, upvotes=41, age_text="2 months ago"),),
    )
    load.load_pages(con, items(first), observed_at=T0, run_id=1)

    stats = load.load_pages(con, items(second), observed_at=T0 + DAY, run_id=2)

    assert stats.studies_changed == 1
    assert stats.text_history == 1
    assert con.execute(
        "SELECT cited_total FROM study_observations ORDER BY observed_at"
    ).fetchall() == [(14,), (20,)]
    assert con.execute(
        "SELECT upvotes, age_text FROM community_post_observations ORDER BY observed_at"
    ).fetchall() == [(36, "1 month ago"), (41, "2 months ago")]
    assert con.execute(
        "SELECT field, old_value, new_value, changed_at, run_id FROM study_text_history"
    ).fetchall() == [("summary", first.summary, "A rewritten summary.", T0 + DAY, 2)]
    assert con.execute(
        "SELECT first_seen_at, last_changed_at, last_changed_run_id, first_run_id FROM studies"
    ).fetchall() == [(T0, T0 + DAY, 2, 1)]
    assert scalar(con, "SELECT upvote_growth FROM post_upvote_growth") == 5


def test_child_lists_are_replaced_per_study(con: duckdb.DuckDBPyConnection) -> None:
    load.load_pages(
        con, items(study("Pgny"), study("02xX", slug="other")), observed_at=T0, run_id=None
    )

    load.load_pages(
        con, items(study("Pgny", authors=("Only One",))), observed_at=T0 + DAY, run_id=None
    )

    assert con.execute(
        "SELECT study_id, position, name FROM study_authors ORDER BY ALL"
    ).fetchall() == [
        ("02xX", 0, "Eda Öksüm Solak"),
        ("02xX", 1, "Murat Borlu"),
        ("Pgny", 0, "Only One"),
    ]


def test_an_older_fetch_never_overwrites_a_newer_one(con: duckdb.DuckDBPyConnection) -> None:
    load.load_pages(con, items(study(title="New"), at=T0 + DAY), observed_at=T0, run_id=None)

    stats = load.load_pages(con, items(study(title="Old"), at=T0), observed_at=T0, run_id=None)

    assert stats.studies_stale == 1
    assert con.execute("SELECT title, first_seen_at FROM studies").fetchall() == [("New", T0 + DAY)]
    assert scalar(con, "SELECT count(*) FROM study_observations") == 2  # history still gains it


def test_community_posts_keep_their_best_known_values(con: duckdb.DuckDBPyConnection) -> None:
    card = study().community_posts[0]
    later = study(community_posts=(dataclasses.replace(card, category=None, title="Renamed"),))
    load.load_pages(con, items(study()), observed_at=T0, run_id=None)

    load.load_pages(con, items(later), observed_at=T0 + DAY, run_id=None)

    assert con.execute(
        "SELECT post_id, title, category, first_seen_at, last_seen_at FROM community_posts"
    ).fetchall() == [("abc123", "Renamed", "Chat", T0, T0 + DAY)]
    assert scalar(con, "SELECT category FROM study_community_posts") is None  # as shown


# --- removals and 304s -------------------------------------------------------------------------
def test_a_removed_study_is_marked_never_deleted_and_cleared_when_back(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load.load_pages(con, items(study()), observed_at=T0, run_id=None)

    marked = load.mark_removed(con, [f"{SITE}/research/any-slug-Pgny"], T0 + DAY)
    again = load.mark_removed(con, ["Pgny"], T0 + 2 * DAY)

    assert (marked, again) == (1, 0)
    assert scalar(con, "SELECT removed_at FROM studies") == T0 + DAY
    assert con.execute("SELECT * FROM search_studies('tofacitinib')").fetchall() == []
    load.load_pages(con, items(study()), observed_at=T0 + 3 * DAY, run_id=None)
    assert scalar(con, "SELECT removed_at FROM studies") is None


def test_not_modified_visits_carry_values_forward(con: duckdb.DuckDBPyConnection) -> None:
    load.load_pages(con, items(study()), observed_at=T0, run_id=1)
    before = con.execute(
        "SELECT * EXCLUDE (last_seen_at, last_seen_run_id) FROM studies"
    ).fetchall()

    touched = load.touch_unchanged(con, ["Pgny", "zzz"], T0 + DAY, run_id=2)
    snapshot = dump(con)
    load.touch_unchanged(con, ["Pgny"], T0 + DAY, run_id=2)

    assert touched == 1
    assert dump(con) == snapshot  # a replayed 304 adds nothing
    assert (
        con.execute("SELECT * EXCLUDE (last_seen_at, last_seen_run_id) FROM studies").fetchall()
        == before
    )
    assert scalar(con, "SELECT last_seen_at FROM studies") == T0 + DAY
    assert con.execute(
        "SELECT observed_at, cited_total, not_modified FROM study_observations ORDER BY ALL"
    ).fetchall() == [(T0, 14, False), (T0 + DAY, 14, True)]
    assert con.execute(
        "SELECT upvotes, not_modified FROM community_post_observations ORDER BY observed_at"
    ).fetchall() == [(36, False), (36, True)]


# --- drift guard -------------------------------------------------------------------------------
def test_protected_fields_keep_their_last_good_value(con: duckdb.DuckDBPyConnection) -> None:
    good = study()
    drifted = study(tldr=None, summary="A new summary.", authors=())
    load.load_pages(con, items(good), observed_at=T0, run_id=1)

    load.load_pages(
        con,
        items(drifted),
        observed_at=T0 + DAY,
        run_id=2,
        protect_fields={"tldr", "summary", "authors"},
    )

    stored = read_study(con, "Pgny")
    assert stored == dataclasses.replace(drifted, tldr=good.tldr, authors=good.authors)
    assert con.execute("SELECT field FROM study_text_history").fetchall() == [("summary",)]


def test_protecting_an_unknown_field_is_an_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="warnings"):
        load.load_pages(con, [], observed_at=T0, run_id=None, protect_fields={"warnings"})


def test_field_coverage_counts_non_empty_values() -> None:
    pages = [study(), study(tldr=None, authors=()), StudyPage(page_kind="search")]

    coverage = drift.field_coverage(items(*pages))

    assert coverage["title"] == 1.0
    assert coverage["tldr"] == 0.5
    assert coverage["authors"] == 0.5
    assert coverage["source_url"] == 0.0
    assert set(coverage) == set(drift.COVERAGE_FIELDS)
    assert drift.field_coverage([]) == {}


def test_coverage_is_compared_with_recent_completed_runs(con: duckdb.DuckDBPyConnection) -> None:
    for coverage in ({"tldr": 1.0, "title": 1.0}, {"tldr": 0.9, "title": 1.0}):
        run = runs.start_run(con, started_at=T0)
        drift.record_coverage(con, run, coverage, pages=10)
        runs.finish_run(con, run, RunSummary(finished_at=T0 + DAY))
    failed = runs.start_run(con, started_at=T0)
    drift.record_coverage(con, failed, {"tldr": 0.0, "title": 0.0}, pages=10)
    runs.finish_run(con, failed, RunSummary(finished_at=T0, status="failed", error="boom"))
    current = runs.start_run(con, started_at=T0 + 2 * DAY)

    baseline = drift.baseline_coverage(con, before_run=current)
    drifted = drift.drifted_fields({"tldr": 0.1, "title": 0.98}, baseline)

    assert baseline == pytest.approx({"tldr": 0.95, "title": 1.0})
    assert list(drifted) == ["tldr"]
    was, now = drifted["tldr"]
    assert was == pytest.approx(0.95)
    assert now == 0.1


def guard_sees(guard: drift.DriftGuard, pages: int, with_tldr: int) -> tuple[str, ...]:
    """`pages` study pages, `with_tldr` of them with a TLDR, shown to the guard as one batch."""
    batch = [study(tldr=None) for _ in range(pages - with_tldr)]
    batch += [study() for _ in range(with_tldr)]
    return guard.observe(batch)


def test_a_handful_of_pages_is_no_drift_verdict() -> None:
    """A run stopped after 15 pages without a TLDR is not called drifted: too few to mean a
    site-wide change. The same share over `MIN_PAGES_FOR_DRIFT` pages is."""
    guard = drift.DriftGuard(baseline={"tldr": 0.9, "title": 1.0})

    assert guard_sees(guard, 15, with_tldr=0) == ()
    assert guard.drifted == {}

    assert guard_sees(guard, drift.MIN_PAGES_FOR_DRIFT - 15, with_tldr=0) == ("tldr",)
    assert guard.drifted == {"tldr": (0.9, 0.0)}


def test_drift_is_judged_on_the_upper_confidence_bound_not_the_raw_share() -> None:
    """55% against 90% is a fall of 35 points, past the 25 allowed, but on 40 pages the true
    coverage may well be 69%: no verdict. On 400 pages it may not be above 60%: drifted."""
    small = drift.DriftGuard(baseline={"tldr": 0.9})
    assert guard_sees(small, 40, with_tldr=22) == ()
    assert small.drifted == {}

    large = drift.DriftGuard(baseline={"tldr": 0.9})
    assert guard_sees(large, 400, with_tldr=220) == ("tldr",)
    assert large.drifted["tldr"] == pytest.approx((0.9, 0.55))


def test_a_run_after_a_drifted_one_protects_those_fields_from_its_first_page() -> None:
    """An hourly run after a layout break keeps the last good TLDRs from its first page, not
    from its 30th; once its own sample shows the field back, the protection ends."""
    guard = drift.DriftGuard(baseline={"tldr": 0.9}, inherited={"tldr": (0.9, 0.0)})
    assert guard_sees(guard, 5, with_tldr=0) == ("tldr",)
    back = drift.DriftGuard(baseline={"tldr": 0.9}, inherited={"tldr": (0.9, 0.0)})
    assert guard_sees(back, drift.MIN_PAGES_FOR_DRIFT, with_tldr=drift.MIN_PAGES_FOR_DRIFT) == ()
    assert back.drifted == {}


def test_the_last_runs_drift_is_inherited_only_when_it_failed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    baseline = {"tldr": 0.9, "title": 1.0}
    pages = drift.MIN_PAGES_FOR_DRIFT
    drifted = runs.start_run(con, started_at=T0, base_url=SITE, parser_version="p1")
    drift.record_coverage(con, drifted, {"tldr": 0.0, "title": 1.0}, pages)
    runs.finish_run(con, drifted, RunSummary(finished_at=T0, status="failed"))
    later = drifted + 1
    assert drift.inherited_drift(con, baseline, before_run=later) == {"tldr": (0.9, 0.0)}
    fine = runs.start_run(con, started_at=T0 + DAY, base_url=SITE, parser_version="p1")
    drift.record_coverage(con, fine, {"tldr": 0.9, "title": 1.0}, pages)
    runs.finish_run(con, fine, RunSummary(finished_at=T0 + DAY))
    assert drift.inherited_drift(con, baseline, before_run=fine + 1) == {}


def test_the_coverage_upper_bound_narrows_with_the_sample() -> None:
    assert drift.coverage_upper_bound(0.0, 30) == pytest.approx(0.1135, abs=1e-4)
    assert drift.coverage_upper_bound(0.55, 40) > 0.65 > drift.coverage_upper_bound(0.55, 400)
    assert drift.coverage_upper_bound(1.0, 30) == 1.0
    assert drift.coverage_upper_bound(0.5, 0) == 1.0


# --- runs and failures -------------------------------------------------------------------------
def test_runs_are_opened_and_closed(con: duckdb.DuckDBPyConnection) -> None:
    run = runs.start_run(con, started_at=T0, base_url=SITE, parser_version="p1")
    summary = RunSummary(finished_at=T0 + DAY, pages_fetched=5, pages_changed=2, pages_failed=1)

    runs.finish_run(con, run, summary)

    assert con.execute(
        "SELECT run_id, status, kind, pages_fetched, pages_changed, pages_failed, finished_at"
        " FROM crawl_runs"
    ).fetchall() == [(run, "completed", "crawl", 5, 2, 1, T0 + DAY)]
    with pytest.raises(load.LoadError, match="no crawl run 99"):
        runs.finish_run(con, 99, summary)


def test_a_failing_batch_leaves_nothing_behind(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_UPSERT_POSTS", "INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(load.LoadError, match="batch not loaded"):
        load.load_pages(con, items(study()), observed_at=T0, run_id=None)

    assert all(rows == [] for rows in dump(con).values())


def test_naive_times_are_refused(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load.load_pages(con, items(study()), observed_at=T0.replace(tzinfo=None), run_id=None)


def test_the_statement_that_failed_is_the_error_reported() -> None:
    """A staged statement that fails inside a batch's transaction is what the error names, not
    the aborted transaction it leaves behind (unregistering the staged table fails too)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO t VALUES (1)")
    con.execute("BEGIN TRANSACTION")
    with (
        pytest.raises(duckdb.ConstraintException, match="Duplicate key"),
        db.registered(con, {"staged": pa.table({"a": [1]})}),
    ):
        con.execute("INSERT INTO t SELECT a FROM staged")
    con.execute("ROLLBACK")
    assert con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = 'staged'"
    ).fetchall() == [(0,)]
