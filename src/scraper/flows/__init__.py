"""The Prefect flows: thin compositions of library calls, a module per flow.

    crawl.py        discover, a task per batch, the run's checks (the `crawl` flow)
    scaleout.py     the same with each batch fetched and parsed as shards on a Dask cluster
    reparse.py      every record rebuilt from the WARC archive
    deployments.py  the crawl's schedules (`scraper serve`)

`run_crawl` and `run_reparse` start the flow that fits a number of workers and return its final
state; the CLI and the bench go through them. Importing Prefect takes seconds, so the CLI imports
this package inside its commands only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.schemas.objects import State

from scraper.flows.crawl import crawl
from scraper.flows.reparse import reparse


def run_crawl(*, workers: int = 0, dask_address: str | None = None, **parameters: Any) -> State:
    """Run a crawl to its end: the `crawl` flow in this process for `workers` 0 or 1, else the
    `scaleout-crawl` flow with that many shards per round on as many Dask workers (a
    `LocalCluster`, or the cluster at `dask_address`). `parameters` are the crawl flow's."""
    if workers <= 1:
        if dask_address:
            raise ValueError("a Dask cluster needs 2 or more workers")
        return _run(crawl, parameters)
    from scraper.flows.scaleout import dask_runner, scaleout_crawl  # noqa: PLC0415  # Dask: on use

    configured = scaleout_crawl.with_options(task_runner=dask_runner(workers, dask_address))
    return _run(configured, {**parameters, "workers": workers})


def run_reparse(*, parse_workers: int = 0, **parameters: Any) -> State:
    """Run a reparse to its end, parsing on `parse_workers` Dask workers (a `LocalCluster`) or,
    for 0, in a thread of this process. `parameters` are the reparse flow's."""
    flow: Any = reparse
    if parse_workers:
        from scraper.flows.scaleout import dask_runner  # noqa: PLC0415  # Dask: on use

        flow = reparse.with_options(task_runner=dask_runner(parse_workers))
    return _run(flow, {**parameters, "parse_workers": parse_workers})


def _run(flow: Any, parameters: dict[str, Any]) -> State:
    state: State = asyncio.run(flow(**parameters, return_state=True))
    return state
