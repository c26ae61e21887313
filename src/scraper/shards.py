"""Scale-out: due URLs split into shards, fetched and parsed by workers, merged by one writer.

DuckDB has one writer, so the coordinator keeps the frontier and the warehouse and workers never
open the database. A round of the crawl:

    coordinator (the single writer)                 worker (one per shard, any machine)
    ---------------------------------------        ---------------------------------------
    plan_round: claim shards x batch_size due
      URLs, split them, one ShardSpec each  ---->   run_shard(spec):
                                                      fetch with config.for_shard(n)
                                                      WARC -> the archive directory
                                                      records + visits -> one Parquet file
    merge_shard(session, manifest):         <----     ShardManifest (file names, counts)
      count the requests the worker sent
      index the shard's WARC records
      load the records, add their links, record the visits (CrawlSession.merge)

Politeness stays global: every shard gets `CrawlConfig.for_shard(n)`, so n shards fetching at
once together stay within the host's `rate` and `concurrency`; rounds do not overlap. Workers
need only shared storage: a directory here (all processes on one machine, or an NFS mount), an
object store in production (SCALING.md).

The Parquet file holds one row per visit: the fields `Frontier.record` needs, plus the parsed
record as Contract 1 JSON (`StudyPage.to_json`, exact both ways) when the visit brought a new
body. A coordinator that dies after the workers wrote their files loses nothing: the claims come
back with the next `begin_crawl` and those pages are fetched again (`Archive.reindex` can index
the WARC records nobody indexed; nothing calls it by itself).

    ShardError            a shard's staged files cannot be used
     └── StagingError     the Parquet file is missing or not what a worker writes
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from scraper import archive, warc
from scraper.budget import requests_of
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.db import TIMESTAMP_UTC
from scraper.fetcher import Fetcher
from scraper.parse import parse_result
from scraper.records import ListingPage, LoadItem, StudyPage
from scraper.report import BatchReport
from scraper.responses import FetchResult, FetchTarget

if TYPE_CHECKING:  # the session spools its own batches in this module's staging format
    from scraper.session import CrawlSession


class ShardError(Exception):
    """A shard's staged files cannot be used."""


class StagingError(ShardError):
    """The Parquet file is missing or is not what a shard worker writes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardSpec:
    """One worker's share of a round: what to fetch, how politely, and where to put it."""

    shard: int  # 0 .. shards - 1
    shards: int
    round: int
    crawl_id: str
    config: CrawlConfig  # already `for_shard(shards)`: this shard's part of the host's rate limit
    targets: tuple[FetchTarget, ...]
    archive_dir: str  # WARC files go here (the archive the coordinator indexes)
    staging_dir: str  # the Parquet file goes here

    @property
    def name(self) -> str:
        return f"{self.crawl_id}-r{self.round:05d}-s{self.shard:03d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardManifest:
    """What a worker wrote for one shard (paths are strings: they cross process boundaries)."""

    spec_name: str
    shard: int
    round: int
    parquet: str
    warc_files: tuple[str, ...]  # names inside the archive directory
    fetched: int
    parsed: int
    wire_bytes: int
    seconds: float
    # Every request the worker sent, its pages' and its robots.txt reads' (`budget.requests_of`):
    # the visits read back from the Parquet file do not know theirs, nor does the archive.
    requests: int


# --- coordinator: planning ----------------------------------------------------------------------


def default_staging_dir(db_path: Path) -> Path:
    """`<db dir>/<db name>-staging/`: the Parquet files on their way into the warehouse."""
    return db_path.parent / f"{db_path.stem}-staging"


def split(targets: Sequence[FetchTarget], shards: int) -> list[tuple[FetchTarget, ...]]:
    """Deal targets round-robin into `shards` parts (empty parts dropped): even sizes, and the
    oldest-due URLs spread over all workers."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    parts = [tuple(targets[i::shards]) for i in range(shards)]
    return [part for part in parts if part]


def plan_round(
    session: CrawlSession,
    shards: int,
    round_number: int,
    staging_dir: Path,
    *,
    limit: int | None = None,
) -> list[ShardSpec]:
    """Claim up to `shards` x batch_size due URLs (and at most `limit`; with a budget, pages
    worth fetching ahead too, as a crawl run claims them: `claims.claim`) and split them into
    shard specs; [] when there is nothing to fetch."""
    config = session.config
    size = shards * config.batch_size
    targets = session.due(size if limit is None else min(size, limit), fetchers=shards)
    shard_config = config.for_shard(shards)
    return [
        ShardSpec(
            shard=number,
            shards=shards,
            round=round_number,
            crawl_id=session.crawl.crawl_id,
            config=shard_config,
            targets=part,
            archive_dir=str(session.archive.directory),
            staging_dir=str(staging_dir),
        )
        for number, part in enumerate(split(targets, shards))
    ]


# --- worker -------------------------------------------------------------------------------------


def run_shard(spec: ShardSpec) -> ShardManifest:
    """Fetch, archive and parse one shard; the worker's whole job (needs no database)."""
    return asyncio.run(fetch_shard(spec))


async def fetch_shard(spec: ShardSpec) -> ShardManifest:
    started = time.monotonic()
    config = spec.config
    client = make_client(config)
    async with client, Fetcher(config, client=client) as fetcher:
        results = await fetcher.fetch_batch(spec.targets)
        side = fetcher.take_side_results()  # robots.txt, read on the way: archived too
    prefix = f"{config.warc_prefix}-{spec.name}"
    with warc.WarcWriter(
        Path(spec.archive_dir),
        prefix=prefix,
        max_bytes=config.warc_max_bytes,
        user_agent=config.user_agent,
    ) as writer:
        entries = writer.write([*side, *results], crawl_id=spec.crawl_id)
    items = [parse_result(result) for result in results]
    parquet = Path(spec.staging_dir) / f"{spec.name}.parquet"
    write_staged(parquet, results, items)
    return ShardManifest(
        spec_name=spec.name,
        shard=spec.shard,
        round=spec.round,
        parquet=str(parquet),
        warc_files=tuple(sorted({entry.warc_file for entry in entries})),
        fetched=len(results),
        parsed=sum(item is not None for item in items),
        wire_bytes=sum(result.bytes for result in results),
        seconds=time.monotonic() - started,
        requests=sum(requests_of(result) for result in [*side, *results]),
    )


# --- the staging file ---------------------------------------------------------------------------

STAGED_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("final_url", pa.string()),
        ("status", pa.int32()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("content_sha256", pa.string()),
        ("not_modified", pa.bool_()),
        ("unchanged", pa.bool_()),
        ("error", pa.string()),
        ("failure", pa.string()),
        ("bytes", pa.int64()),
        ("elapsed", pa.float64()),
        ("attempts", pa.int32()),
        ("fetched_at", TIMESTAMP_UTC),
        ("content_type", pa.string()),
        ("retry_after_s", pa.float64()),
        ("record", pa.string()),  # Contract 1 JSON of the parsed page; null when not parsed
    ]
)


def write_staged(
    path: Path, results: Sequence[FetchResult], items: Sequence[LoadItem | None]
) -> None:
    """One row per visit, in fetch order, with the visit's parsed page (`items` is aligned with
    `results`). Written to a temporary name and renamed: a reader never sees half a file."""
    rows = [
        _staged_row(result, _record_of(item)) for result, item in zip(results, items, strict=True)
    ]
    table = pa.Table.from_pylist(rows, schema=STAGED_SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table, partial)
    partial.replace(path)


# The visit's columns are `FetchResult` fields of the same name (checked by a test): rows are
# built and read back by name, so the schema above is the one list of them.
_VISIT_COLUMNS = tuple(name for name in STAGED_SCHEMA.names if name != "record")


def _record_of(item: LoadItem | None) -> StudyPage | ListingPage | None:
    """What a visit's page was read into: a listing's record travels as itself."""
    if item is None:
        return None
    return item.listing if item.listing is not None else item.page


def _staged_row(result: FetchResult, page: StudyPage | ListingPage | None) -> dict[str, Any]:
    row = {name: getattr(result, name) for name in _VISIT_COLUMNS}
    row["record"] = json.dumps(page.to_json(), ensure_ascii=False) if page is not None else None
    return row


def read_staged(path: Path) -> tuple[list[FetchResult], list[LoadItem]]:
    """The visits (bodies left in the WARC files) and the parsed pages of a staging file."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise StagingError(f"cannot read staging file {path}: {exc}") from exc
    if not table.schema.equals(STAGED_SCHEMA, check_metadata=False):
        raise StagingError(f"{path} does not have the staging schema")
    results: list[FetchResult] = []
    items: list[LoadItem] = []
    for row in table.to_pylist():
        result = _result_of(row)
        results.append(result)
        if row["record"] is not None:
            items.append(_item_of(json.loads(row["record"]), result))
    return results, items


def _item_of(record: dict[str, Any], result: FetchResult) -> LoadItem:
    url, at = result.final_url, result.fetched_at
    if record.get("page_kind") == "listing" and "entries" in record:
        listing = ListingPage.from_json(record)
        page = listing.as_study_page()
        return LoadItem(page=page, fetched_url=url, fetched_at=at, listing=listing)
    return LoadItem(page=StudyPage.from_json(record), fetched_url=url, fetched_at=at)


def _result_of(row: dict[str, Any]) -> FetchResult:
    return FetchResult(**{name: row[name] for name in _VISIT_COLUMNS})


# --- coordinator: merging -----------------------------------------------------------------------


def merge_shard(session: CrawlSession, manifest: ShardManifest) -> BatchReport:
    """Index the shard's WARC records, then load, link and record it like a local batch."""
    directory = session.archive.directory
    staged = Path(manifest.parquet)
    results, items = read_staged(staged)
    with session.warehouse():
        for name in manifest.warc_files:
            report = warc.scan(directory / name)
            archive.index(session.con, report.entries)
        batch = session.merge(results, items, requests=manifest.requests)
    staged.unlink(missing_ok=True)
    return batch


def release_round(session: CrawlSession, specs: Sequence[ShardSpec]) -> None:
    """Give back the claims of a round that will not be merged (a worker failed)."""
    session.release([target for spec in specs for target in spec.targets])
