"""The crawl's hold on the warehouse file: opened only while the crawl reads or writes it.

DuckDB lets one process write a file and, while it does, no other process open it, not even
read-only. A crawl at the polite rate lasts hours, so holding the file for the whole run would
lock every reader out for hours. The crawl therefore opens the file for a short window (claim the
next targets, load a finished batch) and closes it in between; readers open it read-only in the
gaps (`scraper.warehouse.open_read_only` retries for a few seconds).

    access = WriteAccess(path)
    with access.hold() as con:              wait for the file (a reader may hold it briefly)
        ...
    with access.hold(wait_s=0.2) as con:    or give up quickly: WarehouseLocked
        ...

`hold` is reentrant: inside a hold, a nested hold uses the same connection and only the outermost
one closes it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import duckdb

from scraper import db

log = logging.getLogger(__name__)

# How often a waiting writer tries the file again: a reader's query usually ends within a poll.
POLL_S = 0.05
# How long a hold that must happen (a claim the crawl cannot go on without, the run's end) waits
# before it logs that a reader is in the way; it keeps waiting after that.
PATIENT_LOG_S = 10.0


class WriteAccess:
    """Open the warehouse as its writer only while a `hold` lasts."""

    def __init__(
        self,
        path: str | Path,
        *,
        config: Mapping[str, str | bool | int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.config = dict(config or {})
        self._sleep = sleep
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._migrated = False  # migrations and views run on the first open only
        self.opens = 0  # how many times the file was opened (for the bench and tests)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The open connection; only valid inside a `hold`."""
        if self._con is None:
            raise RuntimeError("the warehouse is not held: use `with access.hold():`")
        return self._con

    @property
    def held(self) -> bool:
        return self._con is not None

    @contextlib.contextmanager
    def hold(self, *, wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer's connection for the block. `wait_s`: give up after that long with
        `WarehouseLocked` (None: wait as long as a reader holds the file)."""
        if self._con is None:
            self._con = self._open(wait_s)
        self._depth += 1
        try:
            yield self._con
        finally:
            self._depth -= 1
            if self._depth == 0:
                con, self._con = self._con, None
                con.close()  # checkpoints the batch and lets readers in

    def _open(self, wait_s: float | None) -> duckdb.DuckDBPyConnection:
        started = time.monotonic()
        logged = False
        while True:
            try:
                con = db.connect(self.path, config=self.config, reopen=self._migrated)
            except db.WarehouseLocked as exc:
                waited = time.monotonic() - started
                if "this process" in str(exc) or (wait_s is not None and waited >= wait_s):
                    raise
                if not logged and waited >= PATIENT_LOG_S:
                    log.warning("waiting for a reader to let go of %s", self.path)
                    logged = True
                self._sleep(POLL_S)
                continue
            self._migrated = True
            self.opens += 1
            return con


# --- readers -------------------------------------------------------------------------------------

# How long a reader tries while a crawl writes: a crawl's write takes well under a second at the
# polite rate, and a reader that waits longer than this is more likely meeting a crawl that holds
# the file for good (an older version, or a crawl's start-up) than a write about to end.
READ_WAIT_S = 3.0


def open_reader(
    path: str | Path,
    *,
    config: Mapping[str, str | bool | int] | None = None,
    wait_s: float = READ_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only, trying again for `wait_s` while a crawl writes to it; then
    `WarehouseLocked` saying how long it tried."""
    started = time.monotonic()
    while True:
        try:
            return db.connect(path, read_only=True, config=config)
        except db.WarehouseLocked as exc:
            if "this process" in str(exc):
                raise
            if time.monotonic() - started >= wait_s:
                raise db.WarehouseLocked(
                    f"{exc} (tried for {wait_s:g} s; a crawl's writes take well under a second,"
                    " so another process is holding it)"
                ) from exc
            sleep(POLL_S)
