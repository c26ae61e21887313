"""Faults inside flow runs end in one line, with no traceback in Prefect's logs: a full disk
(ENOSPC injected at the WARC writer, during discovery or during a batch)."""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from replica import Replica, ReplicaServer
from scraper.responses import FetchResult
from scraper.urls import study_id_from_url
from scraper.warc import WarcWriter
from tests.flow_testing import collect_prefect_sockets

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]


@pytest.fixture
def replica_server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(pages=12, seed=2)) as server:
        yield server


async def log_lines(flow_run_id: Any, expected: str, timeout: float = 20.0) -> list[str]:
    """The flow run's log messages, once `expected` is among them (logs are shipped in the
    background)."""
    from prefect.client.orchestration import get_client  # noqa: PLC0415  # slow import
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while True:
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
        messages = [log.message for log in logs]
        if any(expected in m for m in messages) or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("when", ["discovery", "batch"])
def test_a_full_disk_fails_the_run_in_one_line_without_a_logged_traceback(
    replica_server: ReplicaServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    from scraper import flows  # noqa: PLC0415  # Prefect: slow import

    real_write = WarcWriter.write

    def full_disk(self: WarcWriter, results: Sequence[FetchResult], **kwargs: Any) -> Any:
        studies = any(study_id_from_url(r.url) is not None for r in results)
        if when == "discovery" or studies:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path))
        return real_write(self, results, **kwargs)

    monkeypatch.setattr(WarcWriter, "write", full_disk)
    state = flows.run_crawl(base_url=replica_server.base_url, db=str(tmp_path / "w.duckdb"))
    assert state.is_failed()
    message = state.message or ""
    assert "No space left on device" in message
    assert "\n" not in message
    lines = asyncio.run(log_lines(state.state_details.flow_run_id, "No space left on device"))
    assert any("run failed: cannot write" in line for line in lines), lines
    assert not any("Traceback" in line for line in lines), lines
    collect_prefect_sockets()
