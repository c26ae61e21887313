"""Opening the DuckDB file (the one writer, read-only readers, migrations and views) and the
small helpers every writer shares: a transaction, Arrow tables made readable by SQL, row counts.

    WarehouseError
     ├── WarehouseLocked     another process holds the write lock
     └── WarehouseCorrupt    the file is not a readable DuckDB database

Schema changes are the numbered files in `warehouse/migrations/` (`001_core.sql`, ...), applied
in order when a writer opens the file; each runs in one transaction together with the row that
records it in `schema_migrations`, so a crash leaves either the whole migration or none of it. Views
are `warehouse/views/*.sql` (`CREATE OR REPLACE VIEW`), re-applied on every writer open so they
always match the code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa


class WarehouseError(Exception):
    """The warehouse file cannot be used."""


class WarehouseLocked(WarehouseError):
    """Another process is writing to the warehouse."""


class WarehouseCorrupt(WarehouseError):
    """The file is not a DuckDB database we can read."""


# Arrow's type for the warehouse's TIMESTAMPTZ columns, for tables staged into DuckDB.
TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN .. COMMIT around the block; any exception rolls it all back and propagates."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, tables: Mapping[str, Any]) -> Iterator[None]:
    """Arrow tables readable by SQL under their names, for the block.

    A statement that fails inside a transaction aborts it, and unregistering then fails too; that
    second error must not replace the first (a batch that ran out of memory would be reported as
    "Current transaction is aborted"). The rollback that follows drops the names anyway.
    """
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            with contextlib.suppress(duckdb.TransactionException):
                con.unregister(name)


_MIGRATION_NAME = re.compile(r"^(?P<version>\d{3})_[a-z0-9_]+\.sql$")


def sql_dir() -> Path:
    """`warehouse/` of the source tree, or its copy inside an installed wheel."""
    packaged = Path(str(resources.files("scraper"))) / "_warehouse"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "warehouse"


def missing_warehouse(path: str | Path) -> str:
    """The refusal for a warehouse file that is not there, with what makes one."""
    return f"no warehouse at {path} (a crawl makes one: `scraper crawl --db {path}`)"


def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    config: Mapping[str, str | bool | int] | None = None,
    reopen: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Open `path`; a writer also brings the schema up to date.

    `reopen`: a writer opening again, batch after batch, a file it opened (checked and migrated)
    before; the checks and migrations are skipped.

    `config` is DuckDB's connection configuration (e.g. `enable_external_access: False`). It is
    given at open time, not with `SET`, because DuckDB shares one database instance between the
    connections of a process: a `SET` would leak into the other connections to the same file.
    """
    if read_only and not Path(path).exists():
        raise WarehouseError(missing_warehouse(path))
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
    except duckdb.ConnectionException as exc:
        if "different configuration" in str(exc):
            raise WarehouseLocked(
                f"warehouse {path} is already open in this process with other settings"
            ) from exc
        raise WarehouseCorrupt(f"cannot open warehouse {path}: {first_line(exc)}") from exc
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLocked(f"warehouse is in use by another process: {path}") from exc
        raise WarehouseCorrupt(f"cannot open warehouse {path}: {first_line(exc)}") from exc
    except duckdb.Error as exc:
        raise WarehouseCorrupt(f"cannot open warehouse {path}: {first_line(exc)}") from exc
    try:
        # Both checks come before any write: a writer open re-applies the views, and a file that
        # is cut short or not ours must be left exactly as it was.
        if not reopen:
            _check_complete(con, path)
        if not read_only and not reopen:
            _check_ours(con, path)
    except WarehouseError:
        con.close()
        raise
    # The checks read one row of results that have one; a result left unfinished makes DuckDB
    # refuse the next `register` on this connection.
    with contextlib.suppress(duckdb.Error):
        con.execute("SELECT 1").fetchall()
    if not read_only and not reopen and not _known_current(con, path):
        try:
            migrate(con)
            _remember_current(path)
        except duckdb.Error as exc:
            # Close it: a connection left open keeps the file's database alive in this process,
            # and every later open with other settings would then fail as "already open".
            con.close()
            if isinstance(exc, duckdb.IOException):  # a file cut short or unreadable
                raise WarehouseCorrupt(f"cannot open warehouse {path}: {first_line(exc)}") from exc
            raise WarehouseError(f"cannot update warehouse {path}: {first_line(exc)}") from exc
    return con


# DuckDB's file starts with three 4 KiB headers (the main one and two alternating database
# headers); its blocks follow.
_FILE_HEADERS_BYTES = 3 * 4096


def _check_complete(con: duckdb.DuckDBPyConnection, path: str | Path) -> None:
    """Refuse a file shorter than the blocks its header counts (a copy or a disk cut short).

    DuckDB reads blocks lazily, so such a file opens, and even answers queries that touch only
    the blocks still there; the missing ones fail later, in the middle of a crawl's write or a
    query. Comparing sizes costs no read.

    Only the used blocks count: free blocks at the end are cut off the file when its writer
    closes it, while the header still counts them in `total_blocks`, so a whole file can be
    shorter than all its blocks (a crawl closes and reopens the file at every batch). Used
    blocks all lie before the cut, so a file shorter than them is cut short.
    """
    target = Path(path)
    if str(path) == ":memory:" or not target.is_file():
        return
    try:
        row = con.execute(
            "SELECT used_blocks, block_size FROM pragma_database_size()"
            " WHERE database_name = current_database()"
        ).fetchone()
    except duckdb.Error as exc:
        raise WarehouseCorrupt(f"cannot open warehouse {path}: {first_line(exc)}") from exc
    if row is None or not row[0]:
        return  # a new file: no block written yet
    expected = _FILE_HEADERS_BYTES + int(row[0]) * int(row[1])
    size = target.stat().st_size
    if size < expected:
        raise WarehouseCorrupt(
            f"cannot open warehouse {path}: the file is cut short"
            f" ({size} bytes, and the blocks in use need {expected})"
        )


def _check_ours(con: duckdb.DuckDBPyConnection, path: str | Path) -> None:
    """Refuse a DuckDB file that holds tables but none of our migrations: it is someone else's
    database, and migrating it would add a warehouse's tables among theirs."""
    row = con.execute(
        "SELECT count(*) FILTER (WHERE table_name = 'schema_migrations'), count(*)"
        " FROM duckdb_tables() WHERE NOT internal AND database_name = current_database()"
    ).fetchone()
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE NOT internal"
        " AND database_name = current_database()"
    ).fetchone()
    ours, tables = row if row else (0, 0)
    if not ours and (tables or (views and views[0])):
        raise WarehouseError(
            f"{path} is a DuckDB database but not a warehouse (it has tables and no"
            " schema_migrations); refusing to write to it"
        )


# Files this process already brought up to date (migrations and views): a run opens its warehouse
# more than once (the CLI's check, then the crawl), and re-applying every view costs a catalog
# write each time. Keyed by the file's identity, so a file replaced under the same name (a test, a
# demo starting afresh) is migrated again.
_migrated: set[tuple[str, int, int]] = set()


def _file_key(path: str | Path) -> tuple[str, int, int]:
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_dev, stat.st_ino)


def _remember_current(path: str | Path) -> None:
    with contextlib.suppress(OSError):  # ":memory:" is no file: it is migrated on every open
        _migrated.add(_file_key(path))


def _known_current(con: duckdb.DuckDBPyConnection, path: str | Path) -> bool:
    """This process migrated this very file, and its schema is still the newest we know."""
    try:
        if _file_key(path) not in _migrated:
            return False
        newest = max((version for version, _ in _migrations(sql_dir() / "migrations")), default=0)
        return schema_version(con) == newest
    except (OSError, duckdb.Error):  # ":memory:", or no schema_migrations table: migrate
        return False


def migrate(con: duckdb.DuckDBPyConnection, directory: Path | None = None) -> list[int]:
    """Apply pending migrations in order, then the views. Returns the versions applied."""
    directory = directory or sql_dir()
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, path in _migrations(directory / "migrations"):
        if version in done:
            continue
        with transaction(con):
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, path.name]
            )
        applied.append(version)
    for view in sorted((directory / "views").glob("*.sql")):
        con.execute(view.read_text(encoding="utf-8"))
    return applied


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime: TIMESTAMPTZ would read it in the session's time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")


def affected_rows(cursor: duckdb.DuckDBPyConnection) -> int:
    """Rows an INSERT, UPDATE or DELETE just changed (DuckDB returns the count as a row)."""
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def _migrations(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append((int(match["version"]), path))
    return sorted(found)


def first_line(exc: BaseException) -> str:
    """An error's first line (or its type's name): for one-line messages built from it."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
