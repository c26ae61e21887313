"""Stopping and resuming: a stop asked for mid-batch lets the requests in flight finish, loads
what was fetched, closes the run `stopped`; the next run resumes with nothing fetched or loaded
twice. SIGTERM to a crawl flow run does the same."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from replica import Replica, ReplicaServer
from scraper import session as sessions
from scraper.config import CrawlConfig
from scraper.report import BatchReport
from scraper.session import CrawlSession
from scraper.urls import study_id_from_url
from tests.flow_testing import (
    assert_stopped_then_resumed,
    collect_prefect_sockets,
    rows,
    studies_of,
    study_requests,
)


@pytest.fixture
def replica_server() -> Iterator[tuple[Replica, ReplicaServer]]:
    replica = Replica(pages=24, seed=5)
    with ReplicaServer(replica) as server:
        yield replica, server


@pytest.fixture(autouse=True)
def no_stop_left_over() -> Iterator[None]:
    sessions.clear_stop()
    yield
    sessions.clear_stop()


async def error_logs(flow_run_id: Any) -> list[str]:
    """What the Prefect server holds at ERROR or above for a flow run (its loggers are set up
    anew for every run, so a handler of ours would not see them)."""
    from prefect.client.orchestration import get_client  # noqa: PLC0415  # Prefect: slow import
    from prefect.client.schemas.filters import (  # noqa: PLC0415
        LogFilter,
        LogFilterFlowRunId,
        LogFilterLevel,
    )
    from prefect.logging.handlers import APILogHandler  # noqa: PLC0415

    await APILogHandler.aflush()  # the logs are sent in batches
    found = LogFilter(
        flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]), level=LogFilterLevel(ge_=logging.ERROR)
    )
    async with get_client() as client:
        return [log.message for log in await client.read_logs(log_filter=found)]


async def flow_run_name(flow_run_id: Any) -> str:
    from prefect.client.orchestration import get_client  # noqa: PLC0415  # Prefect: slow import

    async with get_client() as client:
        return (await client.read_flow_run(flow_run_id)).name


class StopAfter(httpx.AsyncBaseTransport):
    """Asks the crawl to stop when the `n`th study page request goes out (mid-batch)."""

    def __init__(self, n: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.n = n
        self.seen = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if study_id_from_url(request.url.path) is not None:
            self.seen += 1
            if self.seen == self.n:
                sessions.request_stop()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _run(config: CrawlConfig, db: Path, transport: httpx.AsyncBaseTransport | None) -> str:
    async with CrawlSession.open(config, db, transport=transport) as session:
        await session.discover()
        while not sessions.stop_requested() and await session.run_batch() is not None:
            pass
        return session.finish().summary.status


def test_a_stop_mid_batch_finishes_in_flight_requests_and_the_next_run_resumes(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> None:
    replica, server = replica_server
    db = tmp_path / "w.duckdb"
    config = CrawlConfig(base_url=server.base_url, rate=500.0, concurrency=2, batch_size=50)

    assert asyncio.run(_run(config, db, StopAfter(3))) == "stopped"
    first = sum(study_requests(server).values())
    assert 3 <= first <= 4  # the 3rd and the one beside it in flight; no new one started
    ((status, fetched, error),) = rows(db, "SELECT status, pages_fetched, error FROM crawl_runs")
    assert (status, error) == ("stopped", None)
    (loaded,) = rows(db, "SELECT count(*) FROM studies")
    assert fetched == first  # every page fetched was loaded and counted
    assert loaded[0] == first

    sessions.clear_stop()
    assert asyncio.run(_run(config, db, None)) == "completed"
    assert_stopped_then_resumed(server, replica, db)


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_sigterm_stops_a_crawl_flow_run_as_stopped_and_the_next_run_resumes(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scraper import flows  # noqa: PLC0415  # Prefect: slow import
    from scraper.flows.crawl import stop_signal  # noqa: PLC0415

    replica, server = replica_server
    db = tmp_path / "w.duckdb"
    parameters: dict[str, Any] = {"base_url": server.base_url, "db": str(db), "rate": 500.0}
    parameters["batch_size"] = 5
    crawl_flow = importlib.import_module("scraper.flows.crawl")  # `flows.crawl` is the flow
    run_batch: Callable[..., Awaitable[list[BatchReport]]] = crawl_flow._batch

    async def terminate_after_first(
        session: CrawlSession, number: int, limit: int | None
    ) -> list[BatchReport]:
        batches = await run_batch(session, number, limit)
        if number == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return batches

    previous = signal.getsignal(signal.SIGTERM)
    with monkeypatch.context() as patched:  # the first run only
        patched.setattr(crawl_flow, "_batch", terminate_after_first)
        state = flows.run_crawl(**parameters)
    assert signal.getsignal(signal.SIGTERM) == previous  # the flow's handler is gone again
    # a stop the user asked for is no error: Prefect logs any other end than Completed at ERROR
    assert state.is_completed(), state.message
    assert state.name == "Stopped"
    assert asyncio.run(error_logs(state.state_details.flow_run_id)) == []
    assert stop_signal() == signal.SIGTERM
    assert rows(db, "SELECT status, pages_fetched FROM crawl_runs") == [("stopped", 5)]
    assert asyncio.run(flow_run_name(state.state_details.flow_run_id)) == "crawl-1"

    sessions.clear_stop()
    assert flows.run_crawl(**parameters).is_completed()
    assert max(study_requests(server).values()) == 1
    assert rows(db, "SELECT count(*) FROM studies") == [(studies_of(replica),)]
    assert [r[0] for r in rows(db, "SELECT status FROM crawl_runs ORDER BY run_id")] == [
        "stopped",
        "completed",
    ]
    collect_prefect_sockets()


def test_the_cli_exits_as_the_signal_says_on_a_run_stopped_without_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Stopped run ends Completed (no error), yet `scraper crawl` exits 143 after SIGTERM,
    not 0: the shell and a service manager see the run was cut short."""
    import typer  # noqa: PLC0415

    with capsys.disabled():
        # Prefect's console log handler keeps the stream it finds when Prefect is first set up:
        # not this test's, which is closed when the test ends (later tests' logs would fail).
        import prefect.main  # noqa: F401, PLC0415
    from prefect.client.schemas.objects import State  # noqa: PLC0415  # Prefect: slow import
    from prefect.states import Completed  # noqa: PLC0415

    from scraper import flow_cli, flows  # noqa: PLC0415
    from scraper.flows.crawl import STOPPED  # noqa: PLC0415

    crawl_flow = importlib.import_module("scraper.flows.crawl")  # `flows.crawl` is the flow
    stopped: State[None] = Completed(name=STOPPED, message="run 3 stopped: 5 pages fetched")
    monkeypatch.setattr(flows, "run_crawl", lambda **_: stopped)
    monkeypatch.setattr(flow_cli, "start_ephemeral_server", lambda: None)
    monkeypatch.setattr(crawl_flow, "_stop_signal", [signal.SIGTERM])

    with pytest.raises(typer.Exit) as exited:
        flow_cli._run_crawl()
    assert exited.value.exit_code == 143
    assert "stopped: run 3 stopped: 5 pages fetched" in capsys.readouterr().err
