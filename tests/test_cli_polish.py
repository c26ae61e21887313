"""The command line's finish: --version, flags shown as flags, real defaults in the help, the
demo's table as wide as the terminal, and the read-only SQL shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scraper.cli import app
from scraper.flow_cli import demo_table
from tests.test_crawl import MockSite, run


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("polish") / "w.duckdb"
    site = MockSite(studies=6)
    # a real study page, citing studies with long titles: more than a narrow terminal holds
    page = (Path(__file__).parent / "pages" / "newer-card-links.html").read_text(encoding="utf-8")
    site.pages = dict.fromkeys(site.pages, page)
    run(site, path)
    return path


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == "scraper 0.1.0"


def test_help_shows_flags_as_on_off_and_the_archive_default() -> None:
    result = CliRunner().invoke(app, ["crawl", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--full / --no-full" in result.output
    assert "<bool>" not in result.output
    assert "<db>-warc beside the db" in " ".join(result.output.split())


@pytest.mark.parametrize("columns", [60, 100])
def test_demo_table_fits_columns(
    crawled: Path, columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    lines = demo_table(crawled).splitlines()
    assert lines
    assert max(len(line) for line in lines) <= columns
    assert max(len(line) for line in lines) > columns - 10  # it uses the width it has


def test_shell_answers_reads_and_refuses_writes(crawled: Path) -> None:
    stdin = "SELECT 6 * 7\n  AS answer;\nDELETE FROM studies;\n.quit\nSELECT 1;\n"
    result = CliRunner().invoke(app, ["shell", "--db", str(crawled)], input=stdin)
    assert result.exit_code == 0, result.output
    assert "answer" in result.output
    assert "42" in result.output
    assert "error:" in result.output  # the write, refused in one line; the shell goes on
    assert "Traceback" not in result.output


def test_shell_without_a_warehouse_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["shell", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1
    assert "no warehouse at" in result.output


def test_a_warehouse_is_migrated_once_per_process_and_again_when_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper import db  # noqa: PLC0415

    calls: list[int] = []
    real = db.migrate

    def counted(con: object, directory: Path | None = None) -> list[int]:
        calls.append(1)
        return real(con, directory)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "migrate", counted)
    path = tmp_path / "w.duckdb"
    for _ in range(3):  # the CLI's check, then the run's opens
        db.connect(path).close()
    assert len(calls) == 1
    path.unlink()  # a new file under the same name is migrated, whatever its inode
    con = db.connect(path)
    assert db.schema_version(con) > 0
    con.close()
    assert len(calls) == 2
