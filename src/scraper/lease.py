"""Who is crawling a warehouse: a lease beside it, held for the whole run, so runs never collide.

    with Lease.acquire(db_path, flow_run_id=...) as lease:   # WarehouseBusy if another run holds it
        lease.update(run_id=12)                              # once the crawl_runs row exists
        lease.update(pages=40)                               # as batches finish
    holder(db_path)                                          # who holds it now, or None

Two files: `<db>.lease` is locked (`fcntl.flock`, exclusive, non-blocking) by the holding process,
and `<db>.lease.json` says who that is (run id, pid, start, pages fetched so far), replaced
atomically on each update so that a reader never sees half of it. The kernel drops the lock when
its process ends, however it ends (SIGKILL included), so a lease is never stale: a leftover JSON
file with no lock on the lease is ignored and overwritten. The warehouse's own DuckDB lock cannot
do this job: a crawl opens the warehouse only while it writes, and between writes another process
could start a second crawl of it.

`fcntl.flock` by hand rather than the `filelock` package: it is the same call (filelock's Unix
backend is flock), and the crawl needs only this one non-blocking attempt, not a new dependency.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """The run that holds a warehouse's lease."""

    pid: int
    started_at: str  # ISO 8601, UTC
    run_id: int | None = None  # its crawl_runs row, once opened
    pages: int = 0  # pages fetched so far
    flow_run_id: str | None = None
    kind: str = "crawl"

    def describe(self) -> str:
        """One line naming the run, for people: id, start, progress."""
        run = f"run {self.run_id}" if self.run_id is not None else "a run starting"
        started = self.started_at[:19].replace("T", " ")
        return (
            f"{self.kind} {run} (pid {self.pid}, started {started} UTC,"
            f" {self.pages} pages fetched so far)"
        )


class WarehouseBusy(Exception):
    """Another run holds the warehouse's lease."""

    def __init__(self, db_path: Path, holder: Holder | None) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another run (its details are not readable)"
        super().__init__(f"warehouse {db_path} is in use by {who}; try again when it ends")


def lease_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lease")


def _info_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lease.json")


class Lease:
    """A held lease on one warehouse; release it by leaving the `with` block (or `release`)."""

    def __init__(self, db_path: Path, file: IO[bytes], holder: Holder) -> None:
        self.db_path = db_path
        self._file = file
        self.holder = holder

    @classmethod
    def acquire(
        cls, db_path: str | Path, *, flow_run_id: str | None = None, kind: str = "crawl"
    ) -> Lease:
        """Take the lease now or raise `WarehouseBusy` naming the holder; never waits."""
        path = Path(db_path)
        file = lease_path(path).open("ab")  # never truncated or removed: the lock is on its inode
        if not _locked(file, fcntl.LOCK_EX, tries=PROBE_TRIES):
            file.close()
            raise WarehouseBusy(path, _read_holder(path))
        holder = Holder(
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(),
            flow_run_id=flow_run_id,
            kind=kind,
        )
        lease = cls(path, file, holder)
        lease._write()
        return lease

    def update(self, **changes: Any) -> None:
        """New progress of the holding run (run_id, pages)."""
        self.holder = dataclasses.replace(self.holder, **changes)
        self._write()

    def release(self) -> None:
        if self._file.closed:
            return
        _info_path(self.db_path).unlink(missing_ok=True)
        self._file.close()  # closing drops the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.release()

    def _write(self) -> None:
        info = _info_path(self.db_path)
        temporary = info.with_name(f"{info.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(dataclasses.asdict(self.holder)), encoding="utf-8")
        temporary.replace(info)


def holder(db_path: str | Path) -> Holder | None:
    """The run holding the warehouse's lease, or None when nobody does. A probe takes a shared
    lock for an instant and writes nothing, so a run acquiring the lease at that moment (it
    tries a few times) is not turned away by it."""
    path = lease_path(db_path)
    if not path.exists():
        return None
    with path.open("ab") as file:
        if _locked(file, fcntl.LOCK_SH, tries=1):
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
            return None
    return _read_holder(Path(db_path)) or Holder(pid=0, started_at="?")


# How many times, `PROBE_PAUSE_S` apart, acquiring tries before the lease counts as held: a
# `holder` probe (status, the CLI's check) holds it for an instant.
PROBE_TRIES = 10
PROBE_PAUSE_S = 0.05


def _locked(file: IO[bytes], mode: int, *, tries: int) -> bool:
    """Take a `mode` flock on `file` without blocking, trying `tries` times."""
    for attempt in range(tries):
        try:
            fcntl.flock(file.fileno(), mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if attempt + 1 < tries:
                time.sleep(PROBE_PAUSE_S)
            continue
        return True
    return False


def _read_holder(db_path: Path) -> Holder | None:
    try:
        values = json.loads(_info_path(db_path).read_text(encoding="utf-8"))
        return Holder(**values)
    except (OSError, ValueError, TypeError):
        return None
