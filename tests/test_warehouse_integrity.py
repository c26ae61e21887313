"""A warehouse file cut short, or a DuckDB file that is not a warehouse: refused before anything
is written to it, and reported by the query commands as a warehouse that cannot be used (exit 1),
not as a bad query (exit 2)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from scraper import db, load
from scraper.cli import app
from scraper.cli_errors import EXIT_FAILED
from tests.warehouse_fixtures import T0, items, study


def _warehouse_with_blocks(path: Path) -> bytes:
    """A checkpointed warehouse of several storage blocks; returns its bytes."""
    con = db.connect(path)
    try:
        pages = [study(f"S{i:04d}", summary=f"{'word ' * 150}{i}") for i in range(600)]
        load.load_pages(con, items(*pages, at=T0), observed_at=T0, run_id=None)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def good_blob(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _warehouse_with_blocks(tmp_path_factory.mktemp("good") / "good.duckdb")


def test_a_half_truncated_warehouse_is_refused_before_any_write(
    good_blob: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "cut.duckdb"
    cut = good_blob[: len(good_blob) // 2]
    path.write_bytes(cut)
    with pytest.raises(db.WarehouseCorrupt, match="cut short"):
        db.connect(path)
    with pytest.raises(db.WarehouseCorrupt, match="cut short"):
        db.connect(path, read_only=True)
    assert path.read_bytes() == cut  # the views were not re-applied, nothing was written
    assert not Path(f"{path}.wal").exists()


def test_query_commands_on_a_truncated_warehouse_exit_1(good_blob: bytes, tmp_path: Path) -> None:
    path = tmp_path / "cut.duckdb"
    path.write_bytes(good_blob[: len(good_blob) // 2])
    runner = CliRunner()
    for args in (
        ["sql", "SELECT sum(length(summary)) FROM studies", "--db", str(path)],
        ["search", "word", "--db", str(path)],
        ["export", "--db", str(path), "--out", str(tmp_path / "out")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == EXIT_FAILED, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_a_foreign_duckdb_file_is_refused_and_left_without_our_tables(tmp_path: Path) -> None:
    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE measurements (x INTEGER)")
    con.execute("INSERT INTO measurements VALUES (1)")
    con.close()
    with pytest.raises(db.WarehouseError, match="not a warehouse"):
        db.connect(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
    finally:
        con.close()
    assert tables == {"measurements"}


def test_a_new_and_an_existing_warehouse_still_open(good_blob: bytes, tmp_path: Path) -> None:
    fresh = tmp_path / "new.duckdb"
    db.connect(fresh).close()
    db.connect(fresh).close()  # reopened: ours, complete
    whole = tmp_path / "whole.duckdb"
    whole.write_bytes(good_blob)
    con = db.connect(whole)
    try:
        assert con.execute("SELECT count(*) FROM studies").fetchone() == (600,)
    finally:
        con.close()
