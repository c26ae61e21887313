"""Readers during a polite crawl: `python -m bench --readers [--pages N] [--rate R] [--hold S]`.

A replica served on loopback is crawled at a polite rate, from scratch in a child process
(`CrawlSession`, as the flow drives it), while this process polls the warehouse every second as
`scraper sql` does (`scraper.access.open_reader`, then a count of the fetched pages).

Without `--hold` the crawl runs twice, alone and with the readers. Reported: the share of polls
answered, the longest a poll waited, the crawl's throughput with readers against without, and how
long each batch took to become visible to a reader after its last fetch (`bench.visibility`).

With `--hold S` the crawl runs once, with the readers, and `--hold-after` seconds in another
process opens the warehouse read-only and keeps it open S seconds (a long export, a notebook).
Reported besides: the pages fetched while the file was held, the deepest the spool got, and how
long after the release the loads caught up.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.visibility import (
    BatchRecord,
    HoldEffect,
    Sighting,
    hold_effect,
    summarize,
    visibility_lags,
)
from replica import Replica, ReplicaServer

POLL_EVERY_S = 1.0
# What a poll reads: the pages the crawl has recorded a visit of (a crawl from scratch visits each
# once), the same count the crawl child takes right after loading a batch.
FETCHED_PAGES_SQL = "SELECT count(*) FROM pages WHERE visits > 0"
HOLD_OPEN_WAIT_S = 60.0  # the holder waits for the crawl's window to end, as an export would
CHILD_TIMEOUT_S = 3600.0


@dataclass(slots=True)
class Polls:
    answered: int = 0
    refused: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlFigures:
    """What the crawl child printed."""

    pages: int
    seconds: float
    opens: int
    batches: list[BatchRecord]
    spool_max: int

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def poll_once(db_path: Path, polls: Polls) -> None:
    """Open read-only (retrying while the crawl writes), count the fetched pages, close."""
    from scraper import access, db  # noqa: PLC0415  # the bench's parent needs them here only

    started = time.monotonic()
    try:
        con = access.open_reader(db_path)
        opened_at = time.time()
        try:
            row = con.execute(FETCHED_PAGES_SQL).fetchall()[0]
        finally:
            con.close()
        polls.answered += 1
        polls.sightings.append(Sighting(opened_at, int(row[0])))
    except db.WarehouseError as exc:
        polls.refused.append(str(exc))
    polls.waits.append(time.monotonic() - started)


def poll(db_path: Path, stop: threading.Event, polls: Polls) -> None:
    """Every second while the crawl runs, then once after it ended (its last loads)."""
    while not stop.wait(POLL_EVERY_S):
        if db_path.exists():
            poll_once(db_path, polls)
    poll_once(db_path, polls)


# --- the crawl child --------------------------------------------------------------------------


def crawl_child(base_url: str, db_path: str, rate: float) -> None:
    """The crawl, in its own process: prints its pages, seconds and batch records as JSON."""
    import asyncio  # noqa: PLC0415  # the child's imports are not the parent's

    from scraper.config import CrawlConfig  # noqa: PLC0415
    from scraper.records import LoadItem  # noqa: PLC0415
    from scraper.report import BatchReport  # noqa: PLC0415
    from scraper.responses import FetchResult  # noqa: PLC0415
    from scraper.session import CrawlSession  # noqa: PLC0415
    from scraper.spool import Spool, SpooledBatch  # noqa: PLC0415
    from scraper.warc import ArchiveEntry  # noqa: PLC0415

    class RecordingSpool(Spool):
        """The spool, noting when each batch's fetches ended and when it was written."""

        def __init__(self, directory: Path) -> None:
            super().__init__(directory)
            self.records: list[BatchRecord] = []
            # Spool numbers are reused once a batch is loaded: which record each waiting one is.
            self.waiting: dict[int, int] = {}

        def write(
            self,
            entries: Sequence[ArchiveEntry],
            results: Sequence[FetchResult],
            items: Sequence[LoadItem | None],
        ) -> SpooledBatch:
            batch = super().write(entries, results, items)
            fetched = [result.fetched_at.timestamp() for result in results]
            self.waiting[batch.number] = len(self.records)
            self.records.append(
                BatchRecord(
                    number=len(self.records) + 1,
                    pages=len(results),
                    fetched_until=max(fetched, default=time.time()),
                    spooled_at=time.time(),
                )
            )
            return batch

    class TimedSession(CrawlSession):
        """The crawl session, noting each load and the spool's depth after each batch."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            config, access, archive, fetcher, spool = args
            self.recording = RecordingSpool(spool.directory)
            self.spool_max = 0
            super().__init__(config, access, archive, fetcher, self.recording, **kwargs)

        def _load_one(self, spooled: SpooledBatch, number: int | None, urls: Sequence[str]) -> None:
            super()._load_one(spooled, number, urls)
            row = self.con.execute(FETCHED_PAGES_SQL).fetchall()[0]
            index = self.recording.waiting.pop(spooled.number, None)
            if index is not None:
                self.recording.records[index] = dataclasses.replace(
                    self.recording.records[index], loaded_at=time.time(), visible_count=int(row[0])
                )

        async def run_batch(self, limit: int | None = None) -> BatchReport | None:
            report = await super().run_batch(limit)
            self.spool_max = max(self.spool_max, len(self.spool.pending()))
            return report

    async def crawl() -> dict[str, Any]:
        config = CrawlConfig(base_url=base_url, rate=rate, concurrency=2, batch_size=20)
        started = time.perf_counter()
        async with TimedSession.open(config, Path(db_path)) as session:
            await session.discover()
            while await session.run_batch() is not None:
                pass
            report = session.finish()
        assert isinstance(session, TimedSession)
        return {
            "pages": report.summary.pages_fetched,
            "seconds": time.perf_counter() - started,
            "opens": session.access.opens,
            "spool_max": session.spool_max,
            "batches": [asdict(record) for record in session.recording.records],
        }

    print(json.dumps(asyncio.run(crawl())), flush=True)


def hold_child(db_path: str, seconds: float) -> None:
    """A reader that keeps the warehouse open: prints when it got the file and let it go."""
    from scraper import access  # noqa: PLC0415

    while not Path(db_path).exists():
        time.sleep(0.1)
    con = access.open_reader(db_path, wait_s=HOLD_OPEN_WAIT_S)
    held_from = time.time()
    con.execute(FETCHED_PAGES_SQL).fetchall()
    time.sleep(seconds)
    con.close()
    print(json.dumps({"from": held_from, "until": time.time()}), flush=True)


# --- the parent -------------------------------------------------------------------------------


def _child_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.readers", *args]


def _figures(stdout: str) -> CrawlFigures:
    data = json.loads(stdout.strip().splitlines()[-1])
    return CrawlFigures(
        pages=int(data["pages"]),
        seconds=float(data["seconds"]),
        opens=int(data["opens"]),
        spool_max=int(data["spool_max"]),
        batches=[BatchRecord(**record) for record in data["batches"]],
    )


def crawl(base_url: str, db_path: Path, rate: float) -> CrawlFigures:
    out = subprocess.run(
        _child_command("crawl", base_url, str(db_path), str(rate)),
        capture_output=True,
        text=True,
        check=False,
        timeout=CHILD_TIMEOUT_S,
    )
    if out.returncode != 0:
        raise RuntimeError(f"crawl child failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return _figures(out.stdout)


def crawl_with_readers(
    base_url: str, db_path: Path, rate: float, *, hold_s: float = 0.0, hold_after_s: float = 0.0
) -> tuple[CrawlFigures, Polls, tuple[float, float] | None]:
    """The crawl while this process polls; with `hold_s`, a reader also holds the file once."""
    polls, stop = Polls(), threading.Event()
    poller = threading.Thread(target=poll, args=(db_path, stop, polls), daemon=True)
    child = subprocess.Popen(
        _child_command("crawl", base_url, str(db_path), str(rate)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    poller.start()
    held = None
    try:
        if hold_s > 0:
            time.sleep(hold_after_s)
            holder = subprocess.run(
                _child_command("hold", str(db_path), str(hold_s)),
                capture_output=True,
                text=True,
                check=True,
                timeout=hold_s + HOLD_OPEN_WAIT_S + 60,
            )
            window = json.loads(holder.stdout.strip().splitlines()[-1])
            held = (float(window["from"]), float(window["until"]))
        stdout, stderr = child.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
        stop.set()
        poller.join()
    if child.returncode != 0:
        raise RuntimeError(f"crawl child failed (exit {child.returncode}):\n{stderr[-2000:]}")
    return _figures(stdout), polls, held


def run(pages: int, rate: float) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="bench-readers-") as work,
        ReplicaServer(Replica(pages=pages, seed=11)) as server,
    ):
        alone = crawl(server.base_url, Path(work) / "alone.duckdb", rate)
        read, polls, _ = crawl_with_readers(server.base_url, Path(work) / "read.duckdb", rate)
    return report(pages, rate, alone, read, polls)


def run_hold(pages: int, rate: float, hold_s: float, hold_after_s: float) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="bench-readers-") as work,
        ReplicaServer(Replica(pages=pages, seed=11)) as server,
    ):
        read, polls, held = crawl_with_readers(
            server.base_url,
            Path(work) / "hold.duckdb",
            rate,
            hold_s=hold_s,
            hold_after_s=hold_after_s,
        )
    assert held is not None
    effect = hold_effect(read.batches, *held, read.spool_max)
    return hold_report(pages, rate, read, polls, held=held, effect=effect)


# --- reports ----------------------------------------------------------------------------------


def _settings_line(pages: int, rate: float) -> str:
    return f"replica of {pages} studies, rate {rate:g} req/s, concurrency 2, batches of 20"


def _crawl_line(label: str, figures: CrawlFigures) -> str:
    return (
        f"{label}: {figures.pages} pages in {figures.seconds:.1f} s"
        f" ({figures.rate:.3f} pages/s, {figures.opens} warehouse opens,"
        f" spool at most {figures.spool_max} batches)"
    )


def _poll_lines(polls: Polls) -> list[str]:
    total = polls.answered + len(polls.refused)
    share = polls.answered / total if total else 0.0
    median = statistics.median(polls.waits) if polls.waits else 0.0
    lines = [
        f"reader polls answered: {polls.answered} of {total} = {share:.1%} (target >= 99%)",
        f"longest a poll waited: {max(polls.waits, default=0.0):.3f} s; median {median:.3f} s",
    ]
    return lines + [f"refused: {message}" for message in polls.refused[:3]]


def _lag_lines(batches: Sequence[BatchRecord], polls: Polls) -> list[str]:
    lags = summarize(visibility_lags(batches, polls.sightings))
    loads = [b.loaded_at - b.fetched_until for b in batches if b.loaded_at is not None]
    return [
        f"batch visible to a reader after its last fetch: median {lags.median_s:.1f} s,"
        f" max {lags.max_s:.1f} s; {lags.within} of {lags.batches} batches"
        f" = {lags.share_within:.1%} within {lags.within_s:g} s"
        f" ({lags.batches - lags.seen} never seen)",
        f"  of which last fetch -> loaded (the crawl's own record): median"
        f" {statistics.median(loads) if loads else 0.0:.1f} s, max {max(loads, default=0.0):.1f} s",
    ]


def report(pages: int, rate: float, alone: CrawlFigures, read: CrawlFigures, polls: Polls) -> str:
    lines = [
        _settings_line(pages, rate),
        _crawl_line("crawl alone       ", alone),
        _crawl_line("crawl with readers", read)
        + f" = {read.rate / alone.rate:.1%} of alone (target >= 95%)",
        *_poll_lines(polls),
        *_lag_lines(read.batches, polls),
    ]
    return "\n".join(lines)


def hold_report(
    pages: int,
    rate: float,
    read: CrawlFigures,
    polls: Polls,
    *,
    held: tuple[float, float],
    effect: HoldEffect,
) -> str:
    started = min((batch.spooled_at for batch in read.batches), default=held[0])
    outside = [b for b in read.batches if not held[0] <= b.fetched_until <= held[1]]
    caught = "never" if effect.caught_up_s is None else f"{effect.caught_up_s:.1f} s"
    lines = [
        _settings_line(pages, rate),
        _crawl_line("crawl with readers and a holder", read),
        f"a reader held the file {effect.held_s:.1f} s, from {held[0] - started:.1f} s after the"
        f" first batch was spooled",
        f"pages fetched while it held the file: {effect.pages_during}"
        f" = {effect.pages_during / effect.held_s:.3f} pages/s"
        f" (the whole crawl: {read.rate:.3f} pages/s)",
        f"spool at most {effect.spool_max} batches; every batch fetched during the hold loaded"
        f" {caught} after the release",
        *_poll_lines(polls),
        *_lag_lines(read.batches, polls),
        "batches whose fetches ended outside the hold:",
        *_lag_lines(outside, polls),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold_child(sys.argv[2], float(sys.argv[3]))
    else:
        crawl_child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
