"""Fetched batches waiting to be loaded: durable files between the fetch and the warehouse.

The crawl fetches, archives (WARC) and parses a batch without the warehouse, then writes it here;
it is loaded as soon as the crawl gets the file (`scraper.access`), in the order it was written. A
reader that holds the warehouse for a long time therefore delays loads, never fetching, and a
crash loses nothing that was spooled: the next run loads it first.

A batch is two files in `<db dir>/<db name>-spool/`, numbered in the order they were written:

    00000042.index.parquet    the batch's WARC records (rows of `archive_records`)
    00000042.parquet          its visits and parsed pages (the shards' staging format)

The visits file is written last, under a temporary name renamed into place, so a batch exists
once its visits file does; an index file without one is the remains of a torn write (its pages
were claimed, never recorded, and the next run fetches them again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from scraper import archive, shards
from scraper.records import LoadItem
from scraper.responses import FetchResult
from scraper.warc import ArchiveEntry

log = logging.getLogger(__name__)

_VISITS = ".parquet"
_INDEX = ".index.parquet"


def default_spool_dir(db_path: Path) -> Path:
    """`<db dir>/<db name>-spool/`, next to the database and its archive."""
    return db_path.parent / f"{db_path.stem}-spool"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpooledBatch:
    """One batch on disk, in the order it was written."""

    number: int
    visits: Path
    index: Path

    def read(self) -> tuple[list[ArchiveEntry], list[FetchResult], list[LoadItem]]:
        """Its WARC index entries, visits and parsed pages; `shards.StagingError` if they cannot
        be read."""
        try:
            entries = [ArchiveEntry(**row) for row in pq.read_table(self.index).to_pylist()]
        except (OSError, pa.ArrowInvalid, TypeError) as exc:
            raise shards.StagingError(f"cannot read spool file {self.index}: {exc}") from exc
        results, items = shards.read_staged(self.visits)
        return entries, results, items

    def set_aside(self) -> None:
        """Keep an unreadable batch out of the way (renamed `*.unreadable`), so it cannot stop
        every later load; its pages were never recorded, so they are fetched again."""
        stamp = time.time_ns()  # batch numbers are reused once a batch is gone: never overwrite
        for path in (self.visits, self.index):
            if path.exists():
                path.replace(path.with_name(f"{path.name}.{stamp}.unreadable"))

    def remove(self) -> None:
        """Gone once loaded: the visits file first, so a crash in between leaves no batch."""
        self.visits.unlink(missing_ok=True)
        self.index.unlink(missing_ok=True)


def unloaded_message(db_path: Path) -> str | None:
    """Why a reparse must not start yet, or None: batches a cut-short crawl fetched and did not
    load. A reparse rebuilds from the archive's index, which lacks them until they are loaded,
    and the crawl that loads them later would lay the old parser's records over the rebuilt
    ones; only a crawl records their visits, so it is the one to load them."""
    pending = Spool(default_spool_dir(db_path)).pending()
    if not pending:
        return None
    return (
        f"{len(pending)} fetched batches in {default_spool_dir(db_path)} are not loaded yet"
        " (a crawl was cut short): run `scraper crawl` first, which loads them before it"
        " fetches anything, then reparse"
    )


class Spool:
    """The directory of batches waiting for the warehouse."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def pending(self) -> list[SpooledBatch]:
        """The batches written and not loaded yet, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob(f"*{_VISITS}"):
            stem = path.name.removesuffix(_VISITS)
            if stem.isdigit():
                found.append(self._batch(int(stem)))
        return sorted(found, key=lambda batch: batch.number)

    def write(
        self,
        entries: Sequence[ArchiveEntry],
        results: Sequence[FetchResult],
        items: Sequence[LoadItem | None],
    ) -> SpooledBatch:
        """Spool a fetched, archived and parsed batch (`items` aligned with `results`)."""
        batch = self._batch(self._next_number())
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = batch.index.with_name(batch.index.name + ".partial")
        pq.write_table(archive.entry_table(entries), partial)
        partial.replace(batch.index)
        shards.write_staged(batch.visits, results, items)  # renamed into place: the batch exists
        return batch

    def _next_number(self) -> int:
        numbers = [
            int(path.name.split(".", 1)[0])
            for path in self.directory.glob("*.parquet")
            if path.name.split(".", 1)[0].isdigit()
        ]
        return max(numbers, default=0) + 1

    def _batch(self, number: int) -> SpooledBatch:
        stem = f"{number:08d}"
        return SpooledBatch(
            number=number,
            visits=self.directory / f"{stem}{_VISITS}",
            index=self.directory / f"{stem}{_INDEX}",
        )
