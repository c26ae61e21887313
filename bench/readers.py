"""Readers during a polite crawl: `python -m bench --readers [--pages N] [--rate R]`.

A replica served on loopback is crawled twice at a polite rate, each time from scratch in a child
process (`CrawlSession`, as the flow drives it): once alone, once while this process polls the
warehouse every second as `scraper sql` does (`scraper.access.open_reader`, then a count). Reported:
the share of polls answered, the longest a poll waited, and the crawl's throughput with readers
against without.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from replica import Replica, ReplicaServer

POLL_EVERY_S = 1.0


@dataclass(slots=True)
class Polls:
    answered: int = 0
    refused: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)


def poll(db_path: Path, stop: threading.Event, polls: Polls) -> None:
    """Every second: open read-only (retrying while the crawl writes), count, close."""
    from scraper import access, db  # noqa: PLC0415  # the bench's parent needs them here only

    while not stop.wait(POLL_EVERY_S):
        if not db_path.exists():
            continue
        started = time.monotonic()
        try:
            con = access.open_reader(db_path)
            try:
                con.execute("SELECT count(*) FROM pages").fetchall()
            finally:
                con.close()
            polls.answered += 1
        except db.WarehouseError as exc:
            polls.refused.append(str(exc))
        polls.waits.append(time.monotonic() - started)


def crawl_child(base_url: str, db_path: str, rate: float) -> None:
    """The crawl, in its own process: prints its pages and seconds as JSON."""
    from scraper.config import CrawlConfig  # noqa: PLC0415
    from scraper.session import CrawlSession  # noqa: PLC0415

    async def crawl() -> dict[str, float]:
        config = CrawlConfig(base_url=base_url, rate=rate, concurrency=2, batch_size=20)
        started = time.perf_counter()
        async with CrawlSession.open(config, Path(db_path)) as session:
            await session.discover()
            while await session.run_batch() is not None:
                pass
            report = session.finish()
        return {
            "pages": report.summary.pages_fetched,
            "seconds": time.perf_counter() - started,
            "opens": session.access.opens,
        }

    print(json.dumps(asyncio.run(crawl())), flush=True)


def crawl(base_url: str, db_path: Path, rate: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.readers", base_url, str(db_path), str(rate)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def run(pages: int, rate: float) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="bench-readers-") as work,
        ReplicaServer(Replica(pages=pages, seed=11)) as server,
    ):
        alone = crawl(server.base_url, Path(work) / "alone.duckdb", rate)
        db_path = Path(work) / "read.duckdb"
        polls, stop = Polls(), threading.Event()
        poller = threading.Thread(target=poll, args=(db_path, stop, polls), daemon=True)
        poller.start()
        read = crawl(server.base_url, db_path, rate)
        stop.set()
        poller.join()
    return report(pages, rate, alone, read, polls)


def report(
    pages: int, rate: float, alone: dict[str, float], read: dict[str, float], polls: Polls
) -> str:
    total = polls.answered + len(polls.refused)
    share = polls.answered / total if total else 0.0
    speed_alone = alone["pages"] / alone["seconds"]
    speed_read = read["pages"] / read["seconds"]
    lines = [
        f"replica of {pages} studies, rate {rate:g} req/s, concurrency 2, batches of 20",
        f"crawl alone:        {alone['pages']:.0f} pages in {alone['seconds']:.1f} s"
        f" ({speed_alone:.3f} pages/s, {alone['opens']:.0f} warehouse opens)",
        f"crawl with readers: {read['pages']:.0f} pages in {read['seconds']:.1f} s"
        f" ({speed_read:.3f} pages/s, {read['opens']:.0f} warehouse opens)"
        f" = {speed_read / speed_alone:.1%} of alone (target >= 95%)",
        f"reader polls answered: {polls.answered} of {total} = {share:.1%} (target >= 99%)",
        f"longest a poll waited: {max(polls.waits, default=0.0):.3f} s;"
        f" median {sorted(polls.waits)[len(polls.waits) // 2] if polls.waits else 0.0:.3f} s",
    ]
    lines += [f"refused: {message}" for message in polls.refused[:3]]
    return "\n".join(lines)


if __name__ == "__main__":
    crawl_child(sys.argv[1], sys.argv[2], float(sys.argv[3]))
