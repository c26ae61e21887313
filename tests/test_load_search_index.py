"""The search index without primary keys (migration 004): the loader alone keeps it exact.

The invariant checked everywhere: `study_terms` and `study_field_lengths` hold exactly what
tokenising the stored studies gives, one row per key, whatever sequence of loads led there.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper import db, load
from scraper.records import LoadItem
from scraper.stored import read_study
from tests.warehouse_fixtures import DAY, T0, items, memory_warehouse, study, study_ids

_TOKENISED_STUDIES = """
SELECT study_id, field, term, count(*)::INTEGER
FROM (
    SELECT study_id, field, unnest(search_tokens(text)) AS term
    FROM studies
    CROSS JOIN LATERAL (VALUES ('title', title), ('tldr', tldr), ('summary', summary))
        AS f(field, text)
)
GROUP BY ALL
"""


def _rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[Any, ...]]:
    return sorted(con.execute(query).fetchall(), key=repr)


def assert_index_is_exact(con: duckdb.DuckDBPyConnection) -> None:
    terms = _rows(con, "SELECT study_id, field, term, tf FROM study_terms")
    assert len({row[:3] for row in terms}) == len(terms), "a term is indexed twice"
    assert terms == _rows(con, _TOKENISED_STUDIES)
    lengths = _rows(con, "SELECT study_id, field, length FROM study_field_lengths")
    assert len({row[:2] for row in lengths}) == len(lengths), "a field length is stored twice"
    assert lengths == _rows(
        con, "SELECT study_id, field, sum(tf)::INTEGER FROM study_terms GROUP BY ALL"
    )


def test_every_kind_of_reload_leaves_each_term_once() -> None:
    con = memory_warehouse()
    first = study("Pgny", title="Minoxidil minoxidil and finasteride")
    other = study("02xX", slug="jak", title="JAK inhibitors")
    renamed = study("Pgny", title="Topical minoxidil", tldr="Minoxidil, again.")

    load.load_pages(con, items(first, other, at=T0), observed_at=T0, run_id=1)
    load.load_pages(con, items(first, other, at=T0), observed_at=T0, run_id=1)  # a replay
    assert_index_is_exact(con)
    load.load_pages(con, items(renamed, at=T0 + DAY), observed_at=T0 + DAY, run_id=2)
    assert_index_is_exact(con)
    load.load_pages(con, items(first, at=T0), observed_at=T0 + DAY, run_id=2)  # stale fetch
    assert_index_is_exact(con)
    # both versions in one batch: the later fetch wins, indexed once
    batch = [*items(first, at=T0 + 2 * DAY), *items(renamed, at=T0 + 3 * DAY)]
    load.load_pages(con, batch, observed_at=T0 + 3 * DAY, run_id=3)
    assert_index_is_exact(con)
    load.touch_unchanged(con, ["Pgny", "02xX"], T0 + 4 * DAY, run_id=4)
    load.load_pages(
        con, items(first, at=T0 + 3 * DAY), observed_at=T0 + 5 * DAY, run_id=5, reparse=True
    )
    assert_index_is_exact(con)
    assert read_study(con, "Pgny") == first


def test_a_failed_batch_leaves_the_index_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    con = memory_warehouse()
    load.load_pages(con, items(study(title="Minoxidil"), at=T0), observed_at=T0, run_id=1)
    before = _rows(con, "SELECT * FROM study_terms")
    # fails after the index was rewritten, inside the same transaction
    monkeypatch.setattr(load, "_REINDEX_TERMS", load._REINDEX_TERMS + "SELECT no_such_column;")

    renamed = study(title="Finasteride")
    with pytest.raises(load.LoadError):
        load.load_pages(con, items(renamed, at=T0 + DAY), observed_at=T0 + DAY, run_id=2)

    assert _rows(con, "SELECT * FROM study_terms") == before
    assert_index_is_exact(con)


_texts = st.sampled_from(["", "Minoxidil", "minoxidil finasteride", "Vañó‐Galván 5α", None])


@settings(max_examples=40, deadline=None)
@given(
    loads=st.lists(
        st.tuples(
            st.lists(st.tuples(study_ids, _texts, _texts, _texts), min_size=1, max_size=4),
            st.integers(min_value=-2, max_value=3),  # days from T0: earlier fetches are stale
            st.booleans(),  # reparse
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_sequence_of_loads_keeps_the_index_exact(
    loads: list[tuple[list[tuple[str, Any, Any, Any]], int, bool]],
) -> None:
    con = memory_warehouse()
    clock = itertools.count()
    for pages, days, reparse in loads:
        at = T0 + days * DAY
        batch = [
            LoadItem(
                page=study(sid, title=title, tldr=tldr, summary=summary),
                fetched_at=at + next(clock) * DAY / 1000,
            )
            for sid, title, tldr, summary in pages
        ]
        load.load_pages(con, batch, observed_at=at, run_id=None, reparse=reparse)
        assert_index_is_exact(con)


def test_migration_004_keeps_the_index_and_drops_its_keys(tmp_path: Path) -> None:
    before_004 = tmp_path / "sql"
    (before_004 / "migrations").mkdir(parents=True)
    (before_004 / "views").mkdir()
    # 005 too: the loader that fills the old index reads the columns it adds to `studies`
    for script in sorted((db.sql_dir() / "migrations").glob("00[1235]_*.sql")):
        shutil.copy(script, before_004 / "migrations")
    shutil.copy(db.sql_dir() / "views" / "010_search.sql", before_004 / "views")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    db.migrate(con, before_004)
    # the columns of later migrations that today's loader writes (migration 006 adds them
    # idempotently, so it still applies after 004)
    con.execute((db.sql_dir() / "migrations" / "006_post_ages_and_signatures.sql").read_text())
    load.load_pages(con, items(study(title="Minoxidil"), at=T0), observed_at=T0, run_id=None)
    terms = _rows(con, "SELECT * FROM study_terms")

    assert db.migrate(con)[0] == 4
    assert _rows(con, "SELECT * FROM study_terms") == terms
    keys = con.execute(
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        " AND table_name IN ('study_terms', 'study_field_lengths')"
    ).fetchall()
    assert keys == []
    assert [hit[0] for hit in con.execute("SELECT * FROM search_studies('minoxidil')").fetchall()]
    assert_index_is_exact(con)
