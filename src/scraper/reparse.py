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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from scraper import db, load, runs
from scraper.archive import latest_entries
from scraper.parse import PARSER_VERSION, parse_fetched
from scraper.records import LoadItem
from scraper.session import default_archive_dir
from scraper.warc import ArchiveEntry, read_record


def parse_archived(directory: str | Path, entries: Sequence[ArchiveEntry]) -> list[LoadItem]:
    """Read the archived responses `entries` point at and parse them, in order."""
    items = []
    for entry in entries:
        response = read_record(Path(directory), entry)
        items.append(parse_fetched(response.body, response.target_uri, response.fetched_at))
    return items


@dataclass(frozen=True, slots=True, kw_only=True)
class ReparseReport:
    """How a reparse ended."""

    run_id: int
    pages: int  # archived pages parsed and loaded
    changed: int  # records new or changed by the current parser

    @property
    def message(self) -> str:
        return (
            f"reparsed {self.pages} archived pages with parser {PARSER_VERSION}:"
            f" {self.changed} records changed"
        )


class ReparseRun:
    """One reparse: the warehouse's single writer, loading what the archive's pages parse to."""

    def __init__(self, con: duckdb.DuckDBPyConnection, directory: Path, run_id: int) -> None:
        self.con = con
        self.directory = directory
        self.run_id = run_id
        self.pages = 0
        self.changed = 0

    @classmethod
    @contextmanager
    def open(
        cls,
        db_path: str | Path,
        *,
        archive_dir: str | Path | None = None,
        flow_run_id: str | None = None,
    ) -> Iterator[ReparseRun]:
        """Open the warehouse and start the run's `crawl_runs` row. A run that raises is left
        running and closed as interrupted when the warehouse is next opened for a crawl."""
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
            yield cls(con, directory, run_id)
        finally:
            con.close()

    def chunks(self, size: int) -> Iterator[list[ArchiveEntry]]:
        """The newest archived body of every page, `size` at a time, ordered by URL."""
        entries = latest_entries(self.con, pages_only=True)
        for start in range(0, len(entries), size):
            yield entries[start : start + size]

    def load(self, items: Sequence[LoadItem]) -> load.LoadStats:
        """Replace the stored records of a reparsed batch."""
        stats = load.load_pages(
            self.con, items, observed_at=datetime.now(UTC), run_id=self.run_id, reparse=True
        )
        self.pages += len(items)
        self.changed += stats.studies_changed + stats.studies_new
        return stats

    def finish(self) -> ReparseReport:
        """Close the run's `crawl_runs` row as completed."""
        summary = runs.RunSummary(
            finished_at=datetime.now(UTC), pages_fetched=0, pages_changed=self.changed
        )
        runs.finish_run(self.con, self.run_id, summary)
        return ReparseReport(run_id=self.run_id, pages=self.pages, changed=self.changed)
