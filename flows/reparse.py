"""The reparse flow: rebuild every record from the WARC archive with the current parser.

    uv run python -m flows.reparse --db warehouse.duckdb      (or `scraper reparse`)

No network: the newest archived body of each page is parsed again and loaded over the stored
record, one task per batch. History is keyed by fetch time, so a reparse adds no observation twice;
text that the new parser reads differently lands in `study_text_history` like any other change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed
from prefect.utilities.annotations import quote

from scraper import db as warehouse_db
from scraper import load, parallel, runs
from scraper.archive import Archive, latest_entries
from scraper.crawl import default_archive_dir
from scraper.parallel import ParsePool
from scraper.parse import PARSER_VERSION
from scraper.pipeline import load_reparsed, reparse_batches
from scraper.records import LoadItem


@task(name="reparse-batch", task_run_name="reparse-{number}", cache_policy=NO_CACHE)
def reparse_batch(
    con: duckdb.DuckDBPyConnection, items: list[LoadItem], run_id: int, number: int
) -> load.LoadStats:
    """Load one batch of reparsed pages over the stored records."""
    stats = load_reparsed(con, items, run_id)
    get_run_logger().info("reparse batch %d: %s", number, stats)
    return stats


@flow(name="reparse")
async def reparse(
    db: str = "warehouse.duckdb",
    archive_dir: str | None = None,
    batch_size: int = 200,
    parse_workers: int = 0,
) -> State:
    """Parse the archive again into the warehouse `db`.

    `parse_workers` > 0 reads and parses the archive in that many worker processes while this
    one loads: on a machine with that many spare cores.
    """
    con = warehouse_db.connect(db)
    pages, changed = 0, 0
    try:
        run_id = runs.start_run(
            con,
            started_at=datetime.now(UTC),
            kind="reparse",
            parser_version=PARSER_VERSION,
            flow_run_id=flow_run.id,
        )
        directory = Path(archive_dir) if archive_dir else default_archive_dir(Path(db))
        with Archive(directory, con) as archive, contextlib.ExitStack() as stack:
            batches = reparse_batches(archive, batch_size)
            if parse_workers:
                pool = stack.enter_context(ParsePool(workers=parse_workers))
                entries = latest_entries(con, pages_only=True)
                batches = parallel.reparse_batches(entries, directory, batch_size, pool)
            for number, items in enumerate(batches, start=1):
                # quote: Prefect would otherwise walk every record looking for futures (a
                # second per 1,000 pages); the task receives the list itself.
                quoted: Any = quote(items)
                stats = reparse_batch(con, quoted, run_id, number)
                pages += len(items)
                changed += stats.studies_changed + stats.studies_new
        summary = runs.RunSummary(
            finished_at=datetime.now(UTC), pages_fetched=0, pages_changed=changed
        )
        runs.finish_run(con, run_id, summary)
    finally:
        con.close()
    message = (
        f"reparsed {pages} archived pages with parser {PARSER_VERSION}: {changed} records changed"
    )
    await acreate_markdown_artifact(f"# Reparse\n\n{message}", key="reparse-summary")
    return Completed(message=message, data={"pages": pages, "changed": changed})


def main() -> None:
    parser = argparse.ArgumentParser(description=reparse.description)
    parser.add_argument("--db", default="warehouse.duckdb")
    args = parser.parse_args()
    asyncio.run(reparse(db=args.db))


if __name__ == "__main__":
    main()
