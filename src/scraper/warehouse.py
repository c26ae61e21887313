"""The warehouse's query side: read-only SQL, ranked search and Parquet export.

    WarehouseError (scraper.db)
     └── QueryError         the query could not be run (syntax, unknown table, ...)
          └── WriteRefused  the query would write, or reach outside the warehouse

`run_sql` has two walls. The first is DuckDB's own parser: the text must be exactly one statement
of a reading kind (SELECT, which covers FROM/WITH/VALUES/DESCRIBE/SHOW/SUMMARIZE; EXPLAIN of one;
PRAGMAs that only report), everything else is refused by statement type before the file is even
opened. The second is the connection: the file is opened read-only, external access (files, URLs,
extensions) is switched off and the configuration locked, so anything the first wall missed still
cannot write or read outside the warehouse.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import duckdb
from rich import box
from rich.console import Console
from rich.table import Table

from scraper import access, db

OutputFormat = Literal["table", "csv", "json", "markdown"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("table", "csv", "json", "markdown")

# Relations written by `export`: Contract 3 plus the history and run tables. `pages` belongs to
# the crawl state (migration 002) and is exported when it exists.
PUBLIC_RELATIONS = (
    "studies",
    "study_authors",
    "cited_research",
    "related_research",
    "community_posts",
    "study_community_posts",
    "community_post_observations",
    "study_observations",
    "study_text_history",
    "listing_observations",
    "crawl_runs",
    "run_field_coverage",
    "pages",
)
# PRAGMAs that only report; any other PRAGMA may change settings and is refused.
READ_ONLY_PRAGMAS = frozenset(
    {
        "collations",
        "database_list",
        "database_size",
        "functions",
        "metadata_info",
        "platform",
        "show",
        "show_databases",
        "show_tables",
        "show_tables_expanded",
        "storage_info",
        "table_info",
        "user_agent",
        "version",
    }
)
DEFAULT_TABLE_WIDTH = 160  # characters; the CLI passes the terminal's width instead
SNIPPET_CHARS = 160  # length of the text window `search` shows around the first hit
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_EXPLAIN = re.compile(r"^explain\s+(?:analyze\s+)?", re.IGNORECASE)
_PRAGMA_NAME = re.compile(r"^pragma\s+([a-z_][a-z0-9_]*)\s*(?:\(|;|$)", re.IGNORECASE)


class QueryError(db.WarehouseError):
    """The query could not be run."""


class WriteRefused(QueryError):
    """The query would change the warehouse or reach outside it."""


# --- read-only SQL -----------------------------------------------------------------------------
def run_sql(
    db_path: str | Path,
    query: str,
    fmt: OutputFormat = "table",
    *,
    width: int = DEFAULT_TABLE_WIDTH,
) -> str:
    """Run one read-only statement against the warehouse and render its result as `fmt`."""
    if fmt not in OUTPUT_FORMATS:
        raise QueryError(f"unknown format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")
    statement = check_read_only(query)
    con = open_read_only(db_path)
    try:
        columns, rows = _fetch_interruptibly(con, statement)
    finally:
        con.close()
    return format_rows(columns, rows, fmt, width=width)


def _fetch_interruptibly(
    con: duckdb.DuckDBPyConnection, statement: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`_fetch` in a worker thread, so that Ctrl-C stops a long query: while DuckDB runs it the
    calling thread is inside C++ and Python's signal handlers would not run until it ends. On
    KeyboardInterrupt (or whatever a signal handler raises) the query is interrupted, the worker
    is waited for, and the exception propagates."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sql") as pool:
        future = pool.submit(_fetch, con, statement)
        try:
            return future.result()
        except BaseException:
            con.interrupt()
            wait([future])
            raise


def check_read_only(query: str) -> str:
    """The single reading statement in `query`, or WriteRefused / QueryError saying why not."""
    statements = _parse(query)
    if not statements:
        raise QueryError("empty query")
    if len(statements) > 1:
        raise WriteRefused(
            f"refused: {len(statements)} statements; scraper sql runs exactly one read-only query"
        )
    statement = statements[0]
    _check_statement(statement)
    return statement.query


def open_read_only(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only, with files, URLs and extensions out of reach; waits a few
    seconds for a crawl's write to end (`scraper.access.open_reader`)."""
    # Given at open time (not `SET`) so they bind this instance only; once the configuration is
    # locked, a query cannot loosen them again.
    return access.open_reader(
        db_path, config={"enable_external_access": False, "lock_configuration": True}
    )


def _parse(query: str) -> list[duckdb.Statement]:
    try:
        return list(duckdb.extract_statements(query))
    except duckdb.Error as exc:
        raise QueryError(f"cannot parse query: {db.first_line(exc)}") from exc


def _check_statement(statement: duckdb.Statement) -> None:
    kind = statement.type
    if kind == duckdb.StatementType.SELECT:
        return
    text = _LEADING_COMMENTS.sub("", statement.query)
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _parse(_EXPLAIN.sub("", text, count=1))
        if len(inner) == 1 and inner[0].type == duckdb.StatementType.SELECT:
            return
        raise WriteRefused("refused: EXPLAIN is allowed on a SELECT only")
    if kind == duckdb.StatementType.PRAGMA:
        match = _PRAGMA_NAME.match(text)
        if match and match[1].lower() in READ_ONLY_PRAGMAS:
            return
        raise WriteRefused("refused: this PRAGMA may change settings; the warehouse is read-only")
    raise WriteRefused(
        f"refused: {kind.name.replace('_', ' ')} statements are not allowed;"
        " scraper sql runs read-only queries (SELECT, DESCRIBE, SHOW, EXPLAIN)"
    )


def _fetch(
    con: duckdb.DuckDBPyConnection, statement: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    try:
        cursor = con.execute(statement)
        columns = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall()
    except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
        if isinstance(exc, duckdb.PermissionException) or "read-only" in str(exc):
            raise WriteRefused(f"refused: {db.first_line(exc)}") from exc
        raise QueryError(db.first_line(exc)) from exc
    except duckdb.IOException as exc:
        raise _unreadable(exc) from exc
    except duckdb.Error as exc:
        raise QueryError(db.first_line(exc)) from exc
    return columns, rows


def _unreadable(exc: duckdb.Error) -> db.WarehouseCorrupt:
    """A read that failed on the file itself (a block missing or damaged): the warehouse cannot
    be used, whatever the query."""
    return db.WarehouseCorrupt(f"warehouse unreadable: {db.first_line(exc)}")


# --- output formats ----------------------------------------------------------------------------
def format_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: OutputFormat,
    *,
    width: int = DEFAULT_TABLE_WIDTH,
) -> str:
    """Render a result as a table (rich), CSV, JSON (a list of objects; NaN and ±Infinity, which
    JSON cannot hold, as null) or a Markdown table."""
    if fmt == "csv":
        return _csv(columns, rows)
    if fmt == "json":
        objects = [dict(zip(columns, map(_json_value, row), strict=True)) for row in rows]
        return json.dumps(
            objects, ensure_ascii=False, indent=2, allow_nan=False, default=_json_default
        )
    if fmt == "markdown":
        return _markdown(columns, rows)
    return _rich_table(columns, rows, width)


def _csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else _text(v) for v in row] for row in rows])
    return out.getvalue().rstrip("\n")


def _markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return _text(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |"]
    lines.append("|" + "|".join(" --- " for _ in columns) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _rich_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int) -> str:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_text(v) for v in row))
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(table)
    # rich pads every line to the console width: trim it so pipes and diffs stay clean
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    body = "\n".join(lines).strip("\n")
    return f"{body}\n({len(rows)} row{'' if len(rows) == 1 else 's'})"


def _text(value: Any) -> str:
    """One cell as text: NULL for null, ISO 8601 for times, JSON for lists and structs."""
    if value is None:
        return "NULL"
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    """`value` with every non-finite float as None: JSON has no NaN or Infinity, and a reader
    (JSON.parse, jq) rejects the whole document for one such bare token."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID | timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


# --- search ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SearchHit:
    """One ranked study found by `search`."""

    study_id: str
    title: str | None
    url: str | None
    score: float
    snippet: str | None  # a window of the TLDR or summary around the first matching word


_SEARCH = """
SELECT h.study_id, h.title, h.url, h.score, s.tldr, s.summary, search_tokens($words)
FROM search_studies($words) AS h
JOIN studies AS s USING (study_id)
ORDER BY h.score DESC, h.study_id
LIMIT $limit
"""


def search(con: duckdb.DuckDBPyConnection, words: str, limit: int = 10) -> list[SearchHit]:
    """Studies matching any of `words`, best first (BM25 over title, TLDR and summary)."""
    if limit < 1:
        raise QueryError("limit must be at least 1")
    try:
        rows = con.execute(_SEARCH, {"words": words, "limit": limit}).fetchall()
    except duckdb.IOException as exc:
        raise _unreadable(exc) from exc
    except duckdb.Error as exc:
        raise QueryError(f"search failed: {db.first_line(exc)}") from exc
    return [
        SearchHit(
            study_id=study_id,
            title=title,
            url=url,
            score=float(score),
            snippet=snippet(tokens, tldr, summary),
        )
        for study_id, title, url, score, tldr, summary, tokens in rows
    ]


def snippet(tokens: Sequence[str], *texts: str | None, chars: int = SNIPPET_CHARS) -> str | None:
    """A window of the first text that holds one of `tokens`, else the start of the first text."""
    present = [t for t in texts if t]
    if not present:
        return None
    pattern = re.compile("|".join(re.escape(t) for t in tokens), re.IGNORECASE) if tokens else None
    for text in present:
        match = pattern.search(text) if pattern else None
        if match:
            start = max(0, match.start() - chars // 3)
            return _window(text, start, chars)
    return _window(present[0], 0, chars)


def _window(text: str, start: int, chars: int) -> str:
    """`chars` characters of `text` from about `start`, cut at spaces, with ellipses."""
    if len(text) <= chars:
        return text
    start = min(start, len(text) - chars)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + chars // 3 else start
    end = start + chars
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


# --- export ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedRelation:
    name: str
    path: Path
    rows: int


def export(db_path: str | Path, out_dir: str | Path) -> list[ExportedRelation]:
    """Write one Parquet file per public relation into `out_dir` (created if missing).

    Each file is written under a temporary name and renamed, so a reader never sees half a file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = access.open_reader(db_path)
    try:
        present = {
            row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        return [_export_one(con, name, out) for name in PUBLIC_RELATIONS if name in present]
    finally:
        con.close()


def _export_one(con: duckdb.DuckDBPyConnection, name: str, out: Path) -> ExportedRelation:
    target = out / f"{name}.parquet"
    partial = out / f".{name}.parquet.partial"
    literal = str(partial).replace("'", "''")
    try:
        con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{literal}' (FORMAT parquet)")
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
    except duckdb.IOException as exc:  # the warehouse unreadable, or the output unwritable
        partial.unlink(missing_ok=True)
        raise db.WarehouseError(f"cannot export {name}: {db.first_line(exc)}") from exc
    except duckdb.Error as exc:
        partial.unlink(missing_ok=True)
        raise QueryError(f"cannot export {name}: {db.first_line(exc)}") from exc
    os.replace(partial, target)
    return ExportedRelation(name=name, path=target, rows=int(row[0]) if row else 0)
