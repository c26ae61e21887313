"""The raw archive: every fetched response appended to gzip WARC files, indexed in DuckDB.

The records themselves are `scraper.warc`'s. `archive_records` (migration 002) maps a URL to
(file, offset, length), so any page is re-read with one seek and no network. Writers only ever
create new files (rotated by size, never appended to after a restart) and the index rows are
written after the file is flushed to disk, so a crash can leave at most a torn last record in a
file, which no index row points at and `scan` detects and skips.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import pyarrow as pa

from scraper.config import CrawlConfig
from scraper.db import registered
from scraper.responses import FetchResult
from scraper.warc import (
    ArchivedResponse,
    ArchiveEntry,
    ArchiveError,
    ScanReport,
    WarcWriter,
    read_record,
    scan,
)

log = logging.getLogger(__name__)

# --- the index ------------------------------------------------------------------------------------

# `ArchiveEntry`'s fields, typed as `archive_records` stores them (the spool keeps them so too)
_ENTRY_SCHEMA = pa.schema(
    [
        ("warc_file", pa.string()),
        ("offset", pa.int64()),
        ("length", pa.int64()),
        ("url", pa.string()),
        ("target_uri", pa.string()),
        ("record_type", pa.string()),
        ("status_code", pa.int32()),
        ("content_sha256", pa.string()),
        ("error", pa.string()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("crawl_id", pa.string()),
    ]
)
# `archive_records`' columns, in `ArchiveEntry`'s order
_INDEX_NAMES = tuple(
    {"offset": "record_offset", "length": "record_length"}.get(name, name)
    for name in _ENTRY_SCHEMA.names
)
_INDEX_COLUMNS = ", ".join(_INDEX_NAMES)
# The newest complete 2xx body of each URL: what a reparse reads.
_COMPLETE_BODIES = "record_type = 'response' AND status_code BETWEEN 200 AND 299 AND error IS NULL"
_NEWEST_PER_URL = (
    " QUALIFY row_number() OVER (PARTITION BY url"
    "   ORDER BY fetched_at DESC, warc_file DESC, record_offset DESC) = 1"
)


def index(con: duckdb.DuckDBPyConnection, entries: Sequence[ArchiveEntry]) -> int:
    """Add index rows (a record already indexed is left as it is). Returns rows offered."""
    if not entries:
        return 0
    with registered(con, {"archive_batch": entry_table(entries).rename_columns(_INDEX_NAMES)}):
        con.execute(
            f"INSERT INTO archive_records ({_INDEX_COLUMNS}) SELECT {_INDEX_COLUMNS}"
            " FROM archive_batch ON CONFLICT DO NOTHING"
        )
    return len(entries)


def entry_table(entries: Sequence[ArchiveEntry]) -> pa.Table:
    """Index entries as Arrow, under `ArchiveEntry`'s field names (`ArchiveEntry(**row)` reads
    a row back), typed as `archive_records` stores them."""
    rows = [{name: getattr(entry, name) for name in _ENTRY_SCHEMA.names} for entry in entries]
    return pa.Table.from_pylist(rows, schema=_ENTRY_SCHEMA)


def latest_entries(
    con: duckdb.DuckDBPyConnection,
    urls: Sequence[str] | None = None,
    *,
    pages_only: bool = False,
) -> list[ArchiveEntry]:
    """The newest complete 2xx body of each URL (of `urls`, or of all), ordered by URL.

    `pages_only` keeps the URLs of the frontier's pages (no sitemaps or robots.txt).
    """
    # The URL filters come before the window, which then ranks only their rows: a sitemap's
    # look-up during discovery must not rank the whole archive.
    sql = f"SELECT {_INDEX_COLUMNS} FROM archive_records WHERE {_COMPLETE_BODIES}"
    params: list[object] = []
    if urls is not None:
        sql += " AND list_contains(?, url)"
        params.append(list(urls))
    if pages_only:
        sql += " AND url IN (SELECT url FROM pages)"
    rows = con.execute(sql + _NEWEST_PER_URL + " ORDER BY url", params).fetchall()
    return [_entry_row(row) for row in rows]


def _entry_row(row: tuple[Any, ...]) -> ArchiveEntry:
    return ArchiveEntry(
        warc_file=row[0],
        offset=row[1],
        length=row[2],
        url=row[3],
        target_uri=row[4],
        record_type=row[5],
        status_code=row[6],
        content_sha256=row[7],
        error=row[8],
        fetched_at=row[9],
        crawl_id=row[10],
    )


# --- the whole archive ----------------------------------------------------------------------------


class Archive:
    """A WARC directory plus its index in the crawl database: write, look up, read back."""

    def __init__(
        self, directory: Path, con: duckdb.DuckDBPyConnection, config: CrawlConfig | None = None
    ) -> None:
        config = config or CrawlConfig()
        self.directory = Path(directory)
        self.con = con
        self.writer = WarcWriter(
            self.directory,
            prefix=config.warc_prefix,
            max_bytes=config.warc_max_bytes,
            user_agent=config.user_agent,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.writer.close()

    def append(
        self, results: Sequence[FetchResult], *, crawl_id: str | None = None
    ) -> list[ArchiveEntry]:
        """Write the batch's responses (fsynced), then index them."""
        entries = self.writer.write(results, crawl_id=crawl_id)
        index(self.con, entries)
        return entries

    def read(self, url: str) -> ArchivedResponse | None:
        """The newest complete 2xx response archived for `url`, or None."""
        return self.read_many([url]).get(url)

    def read_many(self, urls: Sequence[str]) -> dict[str, ArchivedResponse]:
        """`read` of several URLs in one look-up: those that have a response we can read.

        A copy whose file was deleted or damaged counts as absent (and is logged): what asks for
        it, such as discovery's conditional sitemap requests, then fetches it again instead of
        failing on every later run.
        """
        found: dict[str, ArchivedResponse] = {}
        for entry in latest_entries(self.con, urls):
            try:
                found[entry.url] = read_record(self.directory, entry)
            except ArchiveError as exc:
                log.warning("archived copy of %s unreadable, taken as absent: %s", entry.url, exc)
        return found

    def iter_latest(self, *, pages_only: bool = True) -> Iterator[ArchivedResponse]:
        """Every page's newest complete 2xx response, in one pass (a reparse reads
        `latest_entries` record by record instead).

        `pages_only=False` includes every URL archived (sitemaps, robots.txt, pages not in the
        frontier).
        """
        for entry in latest_entries(self.con, pages_only=pages_only):
            yield read_record(self.directory, entry)

    def reindex(self) -> list[ScanReport]:
        """Scan every WARC file and index what the index lacks (after a crash between the two)."""
        reports = [scan(path) for path in sorted(self.directory.glob("*.warc.gz"))]
        for report in reports:
            index(self.con, report.entries)
        return reports
