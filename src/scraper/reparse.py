"""A reparse: every page's newest archived body parsed again by the current parser and loaded over
its stored record, without the network, as a run of its own (a `crawl_runs` row of kind
"reparse"):

    with ReparseRun.open(db_path) as run:
        for entries in run.chunks(batch_size):                 the newest bodies, by URL
            items = parse_archived(run.directory, entries)     here, or on a Dask worker
            run.load(items)
        report = run.finish()

History is keyed by fetch time, so a reparse adds no observation twice; text that the new parser
reads differently lands in `study_text_history` like any other change. `parse_archived` needs
only the archive directory, never the database, so it can run on another process or machine.

An archived record that cannot be read (its file deleted, cut short or damaged) is skipped and
counted: its page keeps the record it has, and the run closes as completed with the count under
`pages_failed` and the reason in `failure_reasons`. A run that raises is closed as failed with the
error, never left running.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from scraper import db, load, runs, spool
from scraper.archive import latest_entries
from scraper.listing_load import load_listings
from scraper.parse import PARSER_VERSION, parse_fetched
from scraper.records import LoadItem
from scraper.session import default_archive_dir
from scraper.warc import ArchiveEntry, ArchiveError, read_record

log = logging.getLogger(__name__)

# The `failure_reasons` key of the archived records a reparse could not read.
UNREADABLE_RECORD = "unreadable archive record"


class ReparseError(Exception):
    """A reparse cannot start: what it was given is not there."""


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """A batch of archived pages parsed, and the records of it that could not be read."""

    items: list[LoadItem]
    unreadable: tuple[str, ...] = ()  # one line per record skipped: its URL and why


def parse_archived(directory: str | Path, entries: Sequence[ArchiveEntry]) -> ParsedBatch:
    """Read the archived responses `entries` point at and parse them, in order; a record that
    cannot be read is skipped and named."""
    items = []
    unreadable = []
    for entry in entries:
        try:
            response = read_record(Path(directory), entry)
        except ArchiveError as exc:
            unreadable.append(f"{entry.url}: {exc}")
            continue
        items.append(parse_fetched(response.body, response.target_uri, response.fetched_at))
    return ParsedBatch(items=items, unreadable=tuple(unreadable))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReparseReport:
    """How a reparse ended."""

    run_id: int
    pages: int  # archived pages parsed and loaded
    changed: int  # records new or changed by the current parser
    unreadable: int = 0  # archived records skipped: they could not be read

    @property
    def message(self) -> str:
        skipped = (
            f"; {self.unreadable} unreadable archive records skipped" if self.unreadable else ""
        )
        return (
            f"reparsed {self.pages} archived pages with parser {PARSER_VERSION}:"
            f" {self.changed} records changed{skipped}"
        )


class ReparseRun:
    """One reparse: the warehouse's single writer, loading what the archive's pages parse to."""

    def __init__(self, con: duckdb.DuckDBPyConnection, directory: Path, run_id: int) -> None:
        self.con = con
        self.directory = directory
        self.run_id = run_id
        self.pages = 0
        self.changed = 0
        self.unreadable = 0

    @classmethod
    @contextmanager
    def open(
        cls,
        db_path: str | Path,
        *,
        archive_dir: str | Path | None = None,
        flow_run_id: str | None = None,
    ) -> Iterator[ReparseRun]:
        """Open the warehouse and start the run's `crawl_runs` row. A run that raises is closed
        as failed with the error's first line. An `archive_dir` that is not a directory, or a
        crawl's spool holding batches not loaded yet (`spool.unloaded_message`), is a
        ReparseError before anything is opened (and the directory is never created)."""
        if archive_dir is not None and not Path(archive_dir).is_dir():
            raise ReparseError(f"no archive directory at {archive_dir}")
        if waiting := spool.unloaded_message(Path(db_path)):
            raise ReparseError(waiting)
        con = db.connect(db_path)
        try:
            run_id = runs.start_run(
                con,
                started_at=datetime.now(UTC),
                kind="reparse",
                parser_version=PARSER_VERSION,
                flow_run_id=flow_run_id,
            )
            directory = Path(archive_dir) if archive_dir else default_archive_dir(Path(db_path))
            run = cls(con, directory, run_id)
            try:
                yield run
            except BaseException as exc:
                run.fail(exc)
                raise
        finally:
            con.close()

    def chunks(self, size: int) -> Iterator[list[ArchiveEntry]]:
        """The newest archived body of every page, `size` at a time, ordered by URL."""
        entries = latest_entries(self.con, pages_only=True)
        for start in range(0, len(entries), size):
            yield entries[start : start + size]

    def load(self, batch: ParsedBatch) -> load.LoadStats:
        """Replace the stored records of a reparsed batch; count the records it skipped."""
        for line in batch.unreadable:
            log.warning("reparse skipped %s", line)
        self.unreadable += len(batch.unreadable)
        now = datetime.now(UTC)
        stats = load.load_pages(
            self.con, batch.items, observed_at=now, run_id=self.run_id, reparse=True
        )
        # A listing visit's entries, already stored, are keyed by its fetch time: nothing doubles.
        load_listings(self.con, batch.items, observed_at=now, run_id=self.run_id)
        self.pages += len(batch.items)
        self.changed += stats.studies_changed + stats.studies_new
        return stats

    def finish(self) -> ReparseReport:
        """Close the run's `crawl_runs` row as completed, with the records it had to skip."""
        summary = runs.RunSummary(
            finished_at=datetime.now(UTC),
            pages_fetched=0,
            pages_changed=self.changed,
            pages_failed=self.unreadable,
            failure_reasons={UNREADABLE_RECORD: self.unreadable} if self.unreadable else {},
        )
        runs.finish_run(self.con, self.run_id, summary)
        return ReparseReport(
            run_id=self.run_id, pages=self.pages, changed=self.changed, unreadable=self.unreadable
        )

    def fail(self, exc: BaseException) -> None:
        """Close the run as failed with `exc`'s first line (unless it was closed already). A
        failure to do so is logged: the error that ended the run is the one to report."""
        summary = runs.RunSummary(
            finished_at=datetime.now(UTC),
            status="failed",
            pages_changed=self.changed,
            pages_failed=self.unreadable,
            error=db.first_line(exc),
        )
        try:
            if self._running():
                runs.finish_run(self.con, self.run_id, summary)
        except Exception as closing:  # the warehouse may be what failed
            log.warning("reparse run %d left open: %s", self.run_id, closing)

    def _running(self) -> bool:
        row = self.con.execute(
            "SELECT status FROM crawl_runs WHERE run_id = ?", [self.run_id]
        ).fetchone()
        return row is not None and row[0] == "running"
