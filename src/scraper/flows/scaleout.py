"""The scale-out crawl: shards fetched and parsed on a Dask cluster, merged by one writer.

    uv run scraper crawl --workers 2 ...                                 a LocalCluster here
    uv run scraper crawl --workers 4 --dask-address tcp://scheduler:8786   an existing cluster

The flow process is the coordinator: it owns the DuckDB file (frontier and warehouse), runs
discovery, and each round claims `workers x batch_size` URLs (the due ones; with a budget, pages
worth reading ahead too: `claims.claim`), deals them into one shard per
worker and submits a `fetch-shard` task per shard to the flow's task runner (prefect-dask's
`DaskTaskRunner`: a `LocalCluster` of worker processes, or the cluster at an address). A worker
fetches its shard with its share of the host's politeness budget (`CrawlConfig.for_shard`),
writes the raw responses to the archive directory as WARC and the parsed records to a Parquet
file in the staging directory; the coordinator then merges each shard (`merge-shard`: index the
WARC records, load, add links, record the visits). Workers never touch the database, so the
warehouse keeps its single writer. Everything else (discovery, progress, the run's end and its
artifacts) is the crawl flow's. How to run it on a real cluster: SCALING.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import TaskRunner
from prefect_dask.task_runners import DaskTaskRunner

from scraper import shards
from scraper.config import PriorityPolicy
from scraper.flows.crawl import (
    UNWRITABLE,
    RunAborted,
    aborted,
    crawl_config,
    held_session,
    published,
    run_steps,
    skipped,
)
from scraper.lease import WarehouseBusy
from scraper.report import BatchReport
from scraper.session import CrawlSession
from scraper.urls import DEFAULT_SITE

DEFAULT_WORKERS = 2  # shards per round, and worker processes of the default LocalCluster


# DaskTaskRunner's futures are PrefectFutures; mypy cannot see through the generic's invariance.
Runner = TaskRunner[PrefectFuture[Any]]


def dask_runner(workers: int = DEFAULT_WORKERS, address: str | None = None) -> Runner:
    """A flow's task runner: the Dask cluster at `address`, or a `LocalCluster` of `workers`
    single-threaded processes (parsing is CPU-bound: threads would share one GIL)."""
    if address:
        return cast(Runner, DaskTaskRunner(address=address))
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
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
    discover_urls: bool = True,
    full: bool = False,
    contact_url: str | None = None,
    db_memory_limit: str | None = None,
    budget: int | None = None,
    until: str | None = None,
    priority: PriorityPolicy = "change-rate",
    seed_keywords: list[str] | None = None,
    sweep: bool = True,
) -> State:
    """Crawl `base_url` into `db` with `workers` shards per round (see the module docstring).

    `rate` and `concurrency` are the host's whole rate limit, shared by the shards. Run it with as
    many Dask workers as shards (`dask_runner(workers)`).
    """
    config = crawl_config(
        base_url,
        concurrency,
        rate,
        batch_size,
        contact_url,
        budget,
        until,
        priority,
        seed_keywords,
        sweep,
    )
    db_path = Path(db)
    staging = Path(staging_dir) if staging_dir else shards.default_staging_dir(db_path)
    try:
        async with held_session(
            config, db_path, archive_dir=archive_dir, full=full, memory_limit=db_memory_limit
        ) as (session, held):
            step = functools.partial(_round, workers=workers, staging=staging)
            result = await run_steps(session, step, max_pages, discover_urls, held=held)
    except WarehouseBusy as busy:
        return skipped(busy)
    except (RunAborted, *UNWRITABLE) as exc:
        return aborted(exc)
    return await published(result)


async def _round(
    session: CrawlSession, number: int, limit: int | None, *, workers: int, staging: Path
) -> list[BatchReport]:
    """Plan a round of at most `limit` pages, fetch its shards on the workers, merge them; []
    when there is nothing to claim."""
    specs = shards.plan_round(session, workers, number, staging, limit=limit)
    if not specs:
        return []
    manifests, failed = await _fetch_all(specs)
    merged = [merge_shard(session, manifest) for manifest in manifests]
    if failed:
        # The shards that came back are merged; the others' URLs are due again next time.
        shards.release_round(session, failed)
        raise shards.ShardError(
            f"{len(failed)} of {len(specs)} shards failed in round {number}: {failed[0].name}"
        )
    return merged


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
