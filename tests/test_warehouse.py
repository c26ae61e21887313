"""The query side: read-only SQL, refusals, formats, example queries, search, export, lock."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from scraper import db, load, runs, warehouse, warehouse_cli
from scraper.records import Section
from tests.warehouse_fixtures import DAY, T0, dump, items, study

QUERIES = sorted((db.sql_dir() / "queries").glob("*.sql"))


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small warehouse after two visits: counts, upvotes and one summary changed."""
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    con = db.connect(path)
    cites_jak = study("Pgny")
    jak = study(
        "02xX",
        slug="jak",
        title="JAK inhibitors in alopecia",
        summary="Mouse models of alopecia areata treated with JAK inhibitors regrow hair.",
        cited_research=(),
    )
    run = runs.start_run(con, started_at=T0)
    load.load_pages(con, items(cites_jak, jak), observed_at=T0, run_id=run)
    later = study(
        "Pgny",
        summary="A rewritten summary of tofacitinib in children.",
        community_posts=(
            study().community_posts[0].__class__(post_id="abc123", title="Tofa", upvotes=50),
        ),
        sections={"cited_research": Section(shown=1, total=15)},
    )
    load.load_pages(con, items(later), observed_at=T0 + DAY, run_id=run)
    runs.finish_run(con, run, runs.RunSummary(finished_at=T0 + DAY, pages_fetched=3))
    con.close()
    return path


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = db.connect(path, read_only=True)
    try:
        return dump(con)
    finally:
        con.close()


# --- refusals ----------------------------------------------------------------------------------
REFUSED = [
    "INSERT INTO studies (study_id) VALUES ('x')",
    "UPDATE studies SET title = 'x'",
    "DELETE FROM studies",
    "DROP TABLE studies",
    "CREATE TABLE x (a INTEGER)",
    "CREATE TEMP TABLE x AS SELECT 1",
    "CREATE OR REPLACE MACRO m(a) AS a",
    "ALTER TABLE studies ADD COLUMN x INTEGER",
    "ATTACH 'other.duckdb' AS other",
    "DETACH other",
    "COPY studies TO 'out.csv'",
    "COPY (SELECT 1) TO 'out.parquet' (FORMAT parquet)",
    "COPY studies FROM 'in.csv'",
    "EXPORT DATABASE 'dump'",
    "INSTALL fts",
    "LOAD fts",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET threads",
    "PRAGMA threads = 1",
    "PRAGMA enable_profiling",
    "USE memory",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "PREPARE p AS SELECT 1",
    "MERGE INTO studies USING studies AS s ON studies.study_id = s.study_id "
    "WHEN MATCHED THEN DELETE",
    "EXPLAIN ANALYZE DELETE FROM studies",
    "SELECT 1; DROP TABLE studies",
    "SELECT 1; SELECT 2",
    "/* a comment */ DELETE FROM studies",
]


@pytest.mark.parametrize("query", REFUSED)
def test_writes_are_refused_with_one_line(warehouse_path: Path, query: str) -> None:
    before = _tables(warehouse_path)

    with pytest.raises(warehouse.WriteRefused) as caught:
        warehouse.run_sql(warehouse_path, query)

    message = str(caught.value)
    assert message.startswith("refused:")
    assert "\n" not in message
    assert _tables(warehouse_path) == before


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/*')",
        "SELECT nextval('crawl_run_ids')",
        "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')",
    ],
)
def test_the_connection_is_the_second_wall(warehouse_path: Path, query: str) -> None:
    """Reading statements that reach files, URLs or sequences fail on the connection itself."""
    warehouse.check_read_only(query)  # passes the parser wall...

    with pytest.raises(warehouse.WriteRefused, match=r"^refused: "):
        warehouse.run_sql(warehouse_path, query)  # ...and meets the connection's


def test_file_names_are_not_read_as_tables(warehouse_path: Path) -> None:
    with pytest.raises(warehouse.QueryError, match="does not exist"):
        warehouse.run_sql(warehouse_path, "SELECT * FROM '/etc/hostname'")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM studies",
        "FROM studies SELECT study_id",
        "WITH s AS (SELECT * FROM studies) SELECT count(*) FROM s",
        "DESCRIBE studies",
        "SHOW TABLES",
        "SUMMARIZE study_observations",
        "EXPLAIN SELECT * FROM studies",
        "EXPLAIN ANALYZE SELECT * FROM studies",
        "PRAGMA table_info('studies')",
        "PRAGMA version",
        "SELECT * FROM pragma_version()",
        "-- leading comment\nSELECT 1;",
        "SELECT * FROM search_studies('tofacitinib')",
    ],
)
def test_reading_statements_run(warehouse_path: Path, query: str) -> None:
    assert warehouse.run_sql(warehouse_path, query, "csv")


def test_bad_sql_is_a_query_error_not_a_refusal(warehouse_path: Path) -> None:
    with pytest.raises(warehouse.QueryError, match="cannot parse") as caught:
        warehouse.run_sql(warehouse_path, "SELEC 1")
    assert not isinstance(caught.value, warehouse.WriteRefused)
    with pytest.raises(warehouse.QueryError, match="no_such_table"):
        warehouse.run_sql(warehouse_path, "SELECT * FROM no_such_table")
    with pytest.raises(warehouse.QueryError, match="empty"):
        warehouse.run_sql(warehouse_path, "  ;  ")


def test_a_missing_warehouse_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(db.WarehouseError, match="no warehouse"):
        warehouse.run_sql(tmp_path / "absent.duckdb", "SELECT 1")


# --- formats and example queries ---------------------------------------------------------------
QUERY = "SELECT study_id, published, cited_total, sections FROM studies ORDER BY study_id"


def test_csv_and_json_formats(warehouse_path: Path) -> None:
    csv_text = warehouse.run_sql(warehouse_path, QUERY, "csv")
    as_json = json.loads(warehouse.run_sql(warehouse_path, QUERY, "json"))

    assert csv_text.splitlines()[0] == "study_id,published,cited_total,sections"
    assert (
        csv_text.splitlines()[1]
        == '02xX,2024-01-01,14,"[""cited_research"", ""community_posts"", ""related_research""]"'
    )
    assert as_json[1] == {
        "study_id": "Pgny",
        "published": "2024-01-01",
        "cited_total": 15,
        "sections": ["cited_research"],
    }


def test_table_and_markdown_formats(warehouse_path: Path) -> None:
    table = warehouse.run_sql(warehouse_path, QUERY, "table")
    markdown = warehouse.run_sql(warehouse_path, QUERY, "markdown").splitlines()

    assert "Pgny" in table
    assert table.endswith("\n(2 rows)")
    assert markdown[0] == "| study_id | published | cited_total | sections |"
    assert markdown[1] == "| --- | --- | --- | --- |"
    assert len(markdown) == 4


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_example_queries_run_read_only(warehouse_path: Path, path: Path) -> None:
    result = json.loads(warehouse.run_sql(warehouse_path, path.read_text(encoding="utf-8"), "json"))
    assert isinstance(result, list)


def test_example_queries_answer_their_questions(warehouse_path: Path) -> None:
    def rows(name: str) -> list[dict[str, object]]:
        text = (db.sql_dir() / "queries" / f"{name}.sql").read_text(encoding="utf-8")
        result: list[dict[str, object]] = json.loads(
            warehouse.run_sql(warehouse_path, text, "json")
        )
        return result

    assert rows("most_cited_studies")[0]["study_id"] == "02xX"
    assert [(r["citing_study_id"], r["cited_study_id"]) for r in rows("citation_graph")] == [
        ("Pgny", "02xX")
    ]
    growth = rows("posts_by_upvote_growth")
    assert [(r["post_id"], r["growth"]) for r in growth] == [("abc123", 14)]
    changed = rows("summaries_that_changed")
    assert [(r["study_id"], r["summary_after"]) for r in changed] == [
        ("Pgny", "A rewritten summary of tofacitinib in children.")
    ]


# --- search ------------------------------------------------------------------------------------
@pytest.fixture
def search_con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    db.migrate(con)
    long_summary = " ".join(["Hair density and shedding were measured over a year."] * 6)
    pages = [
        study("tit1", title="Minoxidil Foam for Androgenetic Alopecia", summary=long_summary),
        study(
            "sum1",
            title="Scalp Biopsy Findings in Pattern Hair Loss",
            summary=long_summary + " Some patients had used minoxidil before.",
        ),
        study("oth1", title="Finasteride and Mood", summary=long_summary),
        study("oth2", title="Dutasteride Mesotherapy", summary=long_summary),
    ]
    load.load_pages(con, items(*pages), observed_at=T0, run_id=None)
    yield con
    con.close()


def test_a_title_hit_ranks_above_a_single_summary_mention(
    search_con: duckdb.DuckDBPyConnection,
) -> None:
    hits = warehouse.search(search_con, "MINOXIDIL", limit=5)

    assert [hit.study_id for hit in hits] == ["tit1", "sum1"]
    assert hits[0].score > hits[1].score > 0
    assert hits[1].snippet is not None
    assert "minoxidil" in hits[1].snippet


def test_more_matched_words_rank_higher(search_con: duckdb.DuckDBPyConnection) -> None:
    hits = warehouse.search(search_con, "finasteride mood", limit=5)
    assert hits[0].study_id == "oth1"


def test_search_studies_is_a_sql_entry_point(search_con: duckdb.DuckDBPyConnection) -> None:
    rows = search_con.execute(
        "SELECT study_id, matched_terms FROM search_studies('minoxidil')"
    ).fetchall()
    assert rows == [("tit1", 1), ("sum1", 1)]
    assert search_con.execute("SELECT * FROM search_studies('')").fetchall() == []


def test_the_index_follows_changed_text(search_con: duckdb.DuckDBPyConnection) -> None:
    renamed = study("oth2", title="Topical Minoxidil Versus Dutasteride")
    load.load_pages(search_con, items(renamed), observed_at=T0 + DAY, run_id=None)

    ids = [hit.study_id for hit in warehouse.search(search_con, "minoxidil")]

    assert set(ids) == {"tit1", "sum1", "oth2"}
    assert ids[-1] == "sum1"


def test_search_tokens_fold_case_and_accents(search_con: duckdb.DuckDBPyConnection) -> None:
    row = search_con.execute("SELECT search_tokens('Vañó‐Galván: 5α-Reductase')").fetchone()
    assert row == (["vano", "galvan", "5α", "reductase"],)


# --- export ------------------------------------------------------------------------------------
def test_exported_parquet_reads_back_equal(warehouse_path: Path, tmp_path: Path) -> None:
    written = warehouse.export(warehouse_path, tmp_path / "out")

    names = {relation.name for relation in written}
    assert {"studies", "study_observations", "community_post_observations"} <= names
    assert not list((tmp_path / "out").glob(".*"))  # no partial files left
    con = db.connect(warehouse_path, read_only=True)
    try:
        for relation in written:
            assert relation.path == tmp_path / "out" / f"{relation.name}.parquet"
            parquet = f"read_parquet('{relation.path}')"
            types = "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {})"
            table_types = con.execute(types.format(relation.name)).fetchall()
            assert con.execute(types.format(parquet)).fetchall() == table_types
            for a, b in ((relation.name, parquet), (parquet, relation.name)):
                difference = f"SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}"
                assert con.execute(difference).fetchall() == []
            count = con.execute(f"SELECT count(*) FROM {parquet}").fetchone()
            assert count == (relation.rows,)
    finally:
        con.close()


# --- one writer --------------------------------------------------------------------------------
HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_second_process_meets_a_clear_lock_error(warehouse_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    db.connect(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(db.WarehouseLocked, match="in use by another process"):
            db.connect(path)
        with pytest.raises(db.WarehouseLocked, match="in use by another process"):
            warehouse.run_sql(path, "SELECT 1")
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0


# --- commands ----------------------------------------------------------------------------------
@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """Test app."""

    warehouse_cli.register(app)
    return app


def test_sql_command_prints_and_refuses(cli: typer.Typer, warehouse_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        [
            "sql",
            "SELECT count(*) AS n FROM studies",
            "--db",
            str(warehouse_path),
            "--format",
            "csv",
        ],
    )
    refused = runner.invoke(cli, ["sql", "DROP TABLE studies", "--db", str(warehouse_path)])
    missing = runner.invoke(cli, ["sql", "SELECT 1", "--db", "/nonexistent/w.duckdb"])

    assert (ok.exit_code, ok.stdout) == (0, "n\n2\n")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("scraper: error: refused: DROP")
    assert len(refused.stderr.splitlines()) == 1
    assert missing.exit_code == 1


def test_sql_command_reads_a_query_file(cli: typer.Typer, warehouse_path: Path) -> None:
    query = db.sql_dir() / "queries" / "most_cited_studies.sql"
    result = CliRunner().invoke(
        cli, ["sql", "--file", str(query), "--db", str(warehouse_path), "-f", "json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["study_id"] == "02xX"


def test_search_and_export_commands(cli: typer.Typer, warehouse_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    found = runner.invoke(
        cli, ["search", "jak", "inhibitors", "--db", str(warehouse_path), "-f", "csv"]
    )
    nothing = runner.invoke(cli, ["search", "zzzz", "--db", str(warehouse_path)])
    exported = runner.invoke(cli, ["export", "--db", str(warehouse_path), "--out", str(tmp_path)])

    assert found.exit_code == 0
    assert found.stdout.splitlines()[1].startswith("1,")
    assert ",02xX," in found.stdout.splitlines()[1]
    assert (nothing.exit_code, nothing.stderr.strip()) == (0, "no study matches 'zzzz'")
    assert exported.exit_code == 0
    assert (tmp_path / "studies.parquet").exists()


def test_commands_have_help(cli: typer.Typer) -> None:
    for command in ("sql", "search", "export"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert "--db" in result.stdout
