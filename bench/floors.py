"""Floors: the least work that gets the same pages, measured on the same machine in the same run.

- fetch + parse: one `httpx.AsyncClient`, `concurrency` requests in flight, each body handed to
  `parse_study` as it arrives; nothing archived, loaded or recorded.
- parse: `parse_study` over bodies already in memory (read from the archive before the clock
  starts).

A flow's pages/s divided by its floor says what the orchestration, the archive, the warehouse and
the politeness machinery cost on top of the unavoidable work.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from scraper import archive, db, warc
from scraper.parse import parse_study
from scraper.session import default_archive_dir


@dataclass(frozen=True, slots=True)
class Floor:
    pages: int
    seconds: float
    bytes: int = 0

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def fetched_urls(db_path: Path) -> list[str]:
    """The page URLs a crawl fetched with a 200 (the floor fetches exactly those)."""
    con = db.connect(db_path, read_only=True)
    try:
        rows = con.execute("SELECT url FROM pages WHERE status_code = 200 ORDER BY url").fetchall()
    finally:
        con.close()
    return [row[0] for row in rows]


def fetch_and_parse(urls: list[str], concurrency: int) -> Floor:
    return asyncio.run(_fetch_and_parse(urls, concurrency))


async def _fetch_and_parse(urls: list[str], concurrency: int) -> Floor:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    received = 0
    async with httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False) as client:
        pending = iter(urls)  # shared by the workers: each URL is taken once

        async def worker() -> None:
            nonlocal received
            for url in pending:
                response = await client.get(url)
                response.raise_for_status()
                received += response.num_bytes_downloaded
                parse_study(response.content, url)

        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
        seconds = time.perf_counter() - started
    return Floor(pages=len(urls), seconds=seconds, bytes=received)


def archived_bodies(db_path: Path) -> list[tuple[str, bytes]]:
    """(url, body) of every page's newest archived 2xx response: what a reparse parses."""
    con = db.connect(db_path, read_only=True)
    try:
        entries = archive.latest_entries(con, pages_only=True)
    finally:
        con.close()
    directory = default_archive_dir(db_path)
    bodies = []
    for entry in entries:
        record = warc.read_record(directory, entry)
        bodies.append((record.target_uri, record.body))
    return bodies


def parse_only(bodies: list[tuple[str, bytes]]) -> Floor:
    started = time.perf_counter()
    for url, body in bodies:
        parse_study(body, url)
    return Floor(
        pages=len(bodies),
        seconds=time.perf_counter() - started,
        bytes=sum(len(body) for _, body in bodies),
    )
