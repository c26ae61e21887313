"""One local Prefect server for the whole bench, and counting the task runs of a flow run.

Every measured flow runs in its own process; they all report to this server (`PREFECT_API_URL`
in their environment), so no process pays for starting a temporary server inside what is timed,
and the task runs of a finished flow run can be counted afterwards through the Prefect client.
The server keeps its SQLite database under the bench's work directory (`PREFECT_HOME`), never in
the user's own Prefect home.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx

STARTUP_TIMEOUT_S = 90.0  # the first start creates and migrates the database
SETTLE_TIMEOUT_S = 30.0  # task run states arrive as events: wait until the count holds still
PAGE = 200  # task runs read per request


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """Environment for the server and for flow processes: a private home, no telemetry."""
    env = dict(os.environ)
    env |= {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@contextlib.contextmanager
def prefect_server(home: Path, port: int) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1:`port` (scheduler and late-runs services off: nothing
    here is scheduled); yields the API URL and stops the server afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-scheduler",
        "--no-late-runs",
        "--no-ui",
        "--analytics-off",
    ]
    process = subprocess.Popen(command, env=prefect_env(home), stdout=log, stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(process, api_url, home)
        yield api_url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_healthy(process: subprocess.Popen[bytes], api_url: str, home: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (home / "server.log").read_text(errors="replace")[-800:]
            raise RuntimeError(f"the Prefect server exited:\n{tail}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the Prefect server did not answer within {STARTUP_TIMEOUT_S:.0f}s")


def count_task_runs(flow_run_id: str) -> dict[str, int]:
    """Task runs of a flow run by task name (`PREFECT_API_URL` must point at the server)."""
    return asyncio.run(_settled_counts(UUID(flow_run_id)))


async def _settled_counts(flow_run_id: UUID) -> dict[str, int]:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last: dict[str, int] = {}
    while True:
        counts = await _counts(flow_run_id)
        if (counts and counts == last) or time.monotonic() > deadline:
            return counts
        last = counts
        await asyncio.sleep(1.0)


async def _counts(flow_run_id: UUID) -> dict[str, int]:
    # Imported here: the bench parent only needs Prefect once the flows have run.
    from prefect.client.orchestration import get_client  # noqa: PLC0415
    from prefect.client.schemas.filters import (  # noqa: PLC0415
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    task_filter = TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
    counts: dict[str, int] = {}
    async with get_client() as client:
        offset = 0
        while True:
            runs = await client.read_task_runs(
                task_run_filter=task_filter, limit=PAGE, offset=offset
            )
            for run in runs:
                key = run.task_key.split("-")[0] if run.task_key else run.name
                counts[key] = counts.get(key, 0) + 1
            if len(runs) < PAGE:
                return counts
            offset += PAGE
