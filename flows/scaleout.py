"""The scale-out crawl: shards fetched and parsed on a Dask cluster, merged by one writer.

    uv run python -m flows.scaleout --base-url URL --db warehouse.duckdb --workers 2
    uv run python -m flows.scaleout ... --dask-address tcp://scheduler:8786   (an existing cluster)

The flow process is the coordinator: it owns the DuckDB file (frontier and warehouse), runs
discovery, and each round claims `workers x batch_size` due URLs, deals them into one shard per
worker and submits a `fetch-shard` task per shard to the flow's task runner (prefect-dask's
`DaskTaskRunner`: a `LocalCluster` of worker processes by default, or the cluster at
`dask_address`). A worker fetches its shard with its share of the host's politeness budget
(`CrawlConfig.for_shard`), writes the raw responses to the archive directory as WARC and the
parsed records to a Parquet file in the staging directory; the coordinator then merges each
shard (`merge-shard`: index the WARC records, load, add links, record the visits). Workers never
touch the database, so the warehouse keeps its single writer. How to run it on a real cluster:
SCALING.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.task_runners import TaskRunner
from prefect_dask.task_runners import DaskTaskRunner

from flows.crawl import discover, finish_run
from scraper import report, shards
from scraper.config import CrawlConfig
from scraper.pipeline import BatchReport, CrawlSession
from scraper.urls import DEFAULT_SITE

DEFAULT_WORKERS = 2  # shards per round, and worker processes of the default LocalCluster


# DaskTaskRunner's futures are PrefectFutures; mypy cannot see through the generic's invariance.
Runner = TaskRunner[PrefectFuture[Any]]


def dask_runner(workers: int = DEFAULT_WORKERS, address: str | None = None) -> Runner:
    """The flow's task runner: the Dask cluster at `address`, or a `LocalCluster` of `workers`
    single-threaded processes (a shard's parsing is CPU-bound: threads would share one GIL)."""
    if address:
        return cast(Runner, DaskTaskRunner(address=address))
    runner = DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,  # no web dashboard: nothing listens beyond the cluster
            "silence_logs": logging.WARNING,
        }
    )
    return cast(Runner, runner)


def default_staging_dir(db_path: Path) -> Path:
    """`<db dir>/<db name>-staging/`: the Parquet files on their way into the warehouse."""
    return db_path.parent / f"{db_path.stem}-staging"


@task(
    name="fetch-shard",
    task_run_name="shard-{spec.round}-{spec.shard}",
    retries=1,
    retry_delay_seconds=10,
    cache_policy=NO_CACHE,
    tags=["crawl", "shard"],
)
def fetch_shard(spec: shards.ShardSpec) -> shards.ShardManifest:
    """On a worker: fetch one shard politely, write its WARC and its Parquet file."""
    return shards.run_shard(spec)


@task(
    name="merge-shard",
    task_run_name="merge-{manifest.round}-{manifest.shard}",
    cache_policy=NO_CACHE,
)
def merge_shard(session: CrawlSession, manifest: shards.ShardManifest) -> BatchReport:
    """In the coordinator: index, load, link and record one shard (one transaction per step)."""
    batch = shards.merge_shard(session, manifest)
    get_run_logger().info(
        "shard %s: %d pages %s in %.1fs on the worker",
        manifest.spec_name,
        batch.fetched,
        dict(batch.outcomes),
        manifest.seconds,
    )
    return batch


@flow(name="scaleout-crawl", task_runner=dask_runner(), log_prints=True)
async def scaleout_crawl(  # noqa: PLR0917  # a flow's parameters are its deployment form
    base_url: str = DEFAULT_SITE,
    db: str = "warehouse.duckdb",
    archive_dir: str | None = None,
    staging_dir: str | None = None,
    workers: int = DEFAULT_WORKERS,
    max_pages: int | None = None,
    concurrency: int = 2,
    rate: float = 1.0,
    batch_size: int = 50,
    full: bool = False,
) -> State:
    """Crawl `base_url` into `db` with `workers` shards per round (see the module docstring).

    `rate` and `concurrency` are the host's whole budget, shared by the shards.
    """
    config = CrawlConfig(
        base_url=base_url, concurrency=concurrency, rate=rate, batch_size=batch_size
    )
    db_path = Path(db)
    staging = Path(staging_dir) if staging_dir else default_staging_dir(db_path)
    async with CrawlSession.open(
        config, db_path, archive_dir=archive_dir, full=full, flow_run_id=flow_run.id
    ) as session:
        try:
            await discover(session)
            await _rounds(session, workers, staging, max_pages)
        except Exception as exc:
            await finish_run(session, f"{type(exc).__name__}: {exc}")
            raise
        result = await finish_run(session, None)
    message = report.terminal_summary(result)
    if result.failed:
        return Failed(message=result.summary.error or message, data=result)
    return Completed(message=message, data=result)


async def _rounds(
    session: CrawlSession, workers: int, staging: Path, max_pages: int | None
) -> None:
    """Rounds of plan -> fetch on the workers -> merge, until nothing is due or `max_pages`."""
    fetched, number = 0, 0
    while max_pages is None or fetched < max_pages:
        specs = shards.plan_round(session, workers, number, staging)
        if not specs:
            return
        manifests, failed = await _fetch_all(specs)
        for manifest in manifests:
            fetched += merge_shard(session, manifest).fetched
        if failed:
            # The shards that came back are merged; the others' URLs are due again next time.
            shards.release_round(session, failed)
            raise shards.ShardError(
                f"{len(failed)} of {len(specs)} shards failed in round {number}: {failed[0].name}"
            )
        number += 1


async def _fetch_all(
    specs: Sequence[shards.ShardSpec],
) -> tuple[list[shards.ShardManifest], list[shards.ShardSpec]]:
    """Submit every shard of a round and wait for all: (manifests, specs of failed shards)."""
    futures: list[PrefectFuture[shards.ShardManifest]] = [
        fetch_shard.submit(spec) for spec in specs
    ]
    # Waiting blocks: a thread keeps the coordinator's event loop free meanwhile.
    await asyncio.to_thread(wait, futures)
    manifests, failed = [], []
    for spec, future in zip(specs, futures, strict=True):
        if _completed(future):
            manifests.append(future.result())
        else:
            failed.append(spec)
    return manifests, failed


def _completed(future: PrefectFuture[Any]) -> bool:
    state = future.state
    return state is not None and state.is_completed()


def main() -> None:
    parser = argparse.ArgumentParser(description=scaleout_crawl.description)
    parser.add_argument("--base-url", default=DEFAULT_SITE)
    parser.add_argument("--db", default="warehouse.duckdb")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--dask-address", help="scheduler of an existing Dask cluster")
    parser.add_argument("--max-pages", type=int)
    args = parser.parse_args()
    runner = dask_runner(args.workers, args.dask_address)
    configured = scaleout_crawl.with_options(task_runner=runner)
    asyncio.run(
        configured(
            base_url=args.base_url, db=args.db, workers=args.workers, max_pages=args.max_pages
        )
    )


if __name__ == "__main__":
    main()
