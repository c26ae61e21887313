"""The warehouse's commands: `scraper sql`, `search`, `export`, `status` and `shell`.

`register(app)` adds them to the main typer app. Like every command they end in one line on
stderr and a non-zero exit instead of a traceback: 2 for a query or option we refuse, 1 when the
warehouse itself cannot be used (missing, locked by a crawl, corrupt). DuckDB is imported inside
the commands, so that `scraper --help` and the flow commands do not wait for it.
"""

from __future__ import annotations

import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from scraper.cli_errors import EXIT_BAD_INPUT, EXIT_FAILED, fail


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


DbOption = Annotated[
    Path, typer.Option("--db", help="The DuckDB warehouse file.", show_default=False)
]
FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="How to print the result (json writes NaN and Infinity as null)."
    ),
]


def register(app: typer.Typer) -> None:
    """Add the warehouse commands to `app`."""
    app.command("sql")(sql_command)
    app.command("search")(search_command)
    app.command("export")(export_command)
    app.command("status")(status_command)
    app.command("shell")(shell_command)


def sql_command(
    db_path: DbOption,
    query: Annotated[
        str | None,
        typer.Argument(
            help="One read-only SQL statement; '-' reads it from stdin.", show_default=False
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Read the statement from a .sql file instead.", show_default=False
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Run one read-only SQL query against the warehouse (writes are refused)."""
    from scraper import db, warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    text = _query_text(query, file)
    try:
        output = warehouse.run_sql(db_path, text, fmt.value, width=_width())
    except db.WarehouseError as exc:
        fail(str(exc), _exit_code(exc))
    typer.echo(output)


def search_command(
    words: Annotated[list[str], typer.Argument(help="Words to find in titles, TLDRs, summaries.")],
    db_path: DbOption,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Most hits shown.")] = 10,
    fmt: FormatOption = Format.table,
) -> None:
    """Find studies by words, best first (BM25: title above TLDR above summary)."""
    from scraper import db, warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    text = " ".join(words)
    try:
        con = warehouse.open_read_only(db_path)
        try:
            hits = warehouse.search(con, text, limit)
        finally:
            con.close()
    except db.WarehouseError as exc:
        fail(str(exc), _exit_code(exc))
    if not hits:
        typer.echo(f"no study matches {text!r}", err=True)
        return
    columns = ["rank", "score", "study_id", "title", "snippet", "url"]
    rows = [
        (rank, hit.score, hit.study_id, hit.title, hit.snippet, hit.url)
        for rank, hit in enumerate(hits, start=1)
    ]
    typer.echo(warehouse.format_rows(columns, rows, fmt.value, width=_width()))


def export_command(
    db_path: DbOption,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the Parquet files.", show_default=False)
    ],
) -> None:
    """Write one Parquet file per public relation of the warehouse."""
    from scraper import db, warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    try:
        written = warehouse.export(db_path, out)
    except (db.WarehouseError, OSError) as exc:
        fail(str(exc), _exit_code(exc))
    for relation in written:
        typer.echo(f"{relation.path}  {relation.rows} rows")


def status_command(
    db_path: DbOption,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait while a crawl writes a batch.")
    ] = 5.0,
) -> None:
    """Show the running or last run (progress, rate, failures) and the frontier; works while a
    crawl runs."""
    from scraper import access, db, status  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    try:
        con = access.open_reader(db_path, wait_s=wait)  # readers' one retry while a crawl writes
    except db.WarehouseLocked as exc:
        lease = status.lease_line(db_path)
        fail(
            f"{exc}; still locked after {wait:g} s" + (f" ({lease})" if lease else ""),
            EXIT_FAILED,
        )
    except db.WarehouseError as exc:
        fail(str(exc), EXIT_FAILED)
    try:
        shown = status.format_status(status.read_status(con))
    finally:
        con.close()
    holder = status.lease_line(db_path)  # a running crawl's own count, ahead of its loads
    typer.echo(shown + (f"\nnow: {holder}" if holder else ""))


def shell_command(db_path: DbOption) -> None:
    """An interactive, read-only SQL shell on the warehouse, with the DuckDB this package pins
    (a duckdb CLI of another version may not read its storage). End a statement with ';'; quit
    with .quit or Ctrl-D."""
    from scraper import db, warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    if not db_path.exists():
        fail(db.missing_warehouse(db_path), EXIT_FAILED)
    interactive = sys.stdin.isatty()
    pending: list[str] = []
    while True:
        try:
            line = input(("scraper> " if not pending else "    ...> ") if interactive else "")
        except EOFError:
            break
        if not pending and line.strip() in (".quit", ".exit"):
            break
        pending.append(line)
        if not line.rstrip().endswith(";"):
            continue
        statement, pending = "\n".join(pending), []
        # Opened per statement, never held: a crawl can take the warehouse between them.
        try:
            typer.echo(warehouse.run_sql(db_path, statement, "table", width=_width()))
        except db.WarehouseError as exc:
            typer.echo(f"error: {exc}", err=True)


def _query_text(query: str | None, file: Path | None) -> str:
    if (query is None) == (file is None):
        fail("give either a QUERY or --file, not both or neither")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror or exc}")
        except UnicodeDecodeError:
            fail(f"cannot read {file}: not UTF-8 text")
    assert query is not None  # checked above
    if query != "-":
        return query
    try:
        return sys.stdin.read()
    except UnicodeDecodeError:
        fail("cannot read the query from stdin: not UTF-8 text")


def _width() -> int:
    """The terminal's width when printing to one, else a width that keeps rows readable."""
    from scraper import warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return warehouse.DEFAULT_TABLE_WIDTH


def _exit_code(exc: Exception) -> int:
    """A query we refuse is bad input; any other error means the warehouse cannot be used."""
    from scraper import warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    return EXIT_BAD_INPUT if isinstance(exc, warehouse.QueryError) else EXIT_FAILED
