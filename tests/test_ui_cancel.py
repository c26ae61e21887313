"""Cancelling a served crawl run the way the Prefect UI does: its Cancel button sets the flow run's
state to Cancelling through the API; the runner of `scraper serve` sees it and sends the flow
run's process SIGTERM (SIGKILL only after a grace period). The crawl takes that SIGTERM as it
takes one from a terminal: it lets the requests in flight finish, loads what was fetched and
closes the run `stopped`; the next run resumes with nothing fetched or loaded twice.

`scraper serve` runs in a child process against the session's Prefect server, the replica on
loopback in this one, slowed by `--rate` so that the crawl is still going when it is cancelled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest

from replica import Replica, ReplicaServer
from tests.flow_testing import (
    assert_stopped_then_resumed,
    collect_prefect_sockets,
    rows,
    studies_of,
    study_requests,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PAGES = 24
# Slow enough that the crawl of 24 studies takes several seconds, so the cancellation lands in
# the middle of it; fast enough that the test stays short.
RATE = 4.0
RESUME_RATE = 100.0  # the next run's: nothing to cancel there
# Pages fetched before the run is cancelled: more than the two in flight, fewer than all.
CANCEL_AFTER_PAGES = 5
DEPLOYMENT = "crawl/hourly-incremental"
# All the test's waits together: a runner that never starts or a run that never ends fails the
# test instead of hanging it. It normally takes about 25 s (a Prefect process to start for the
# runner and one for each flow run), beside the session's Prefect server.
TEST_LIMIT_S = 90.0

T = TypeVar("T")


@pytest.fixture
def replica_server() -> Iterator[tuple[Replica, ReplicaServer]]:
    replica = Replica(pages=PAGES, seed=5)
    with ReplicaServer(replica) as server:
        yield replica, server


@pytest.fixture
def served(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> Iterator[tuple[Path, Path]]:
    """`scraper serve` in a child process against the session's Prefect server: the warehouse
    it crawls into and the file its output (and its flow runs') goes to. Stopped at the end by
    SIGTERM, as a service manager would, and killed if it does not go."""
    from prefect.settings import PREFECT_API_URL  # noqa: PLC0415  # Prefect: slow import

    _, server = replica_server
    db = tmp_path / "w.duckdb"
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # The runner looks for runs to start every 10 s by default: a second here.
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    command = [sys.executable, "-c", "from scraper.cli import main; main()", "serve"]
    command += ["--db", str(db), "--base-url", server.base_url, "--rate", str(RATE)]
    with log.open("w") as output:
        child = subprocess.Popen(  # our own interpreter, our own code
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield db, log
    finally:
        child.send_signal(signal.SIGTERM)  # our own child, by its pid
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass(frozen=True, slots=True)
class Deadline:
    """When the test gives up waiting (a `time.monotonic()` value), and the runner's output file
    to show when it does."""

    at: float
    log: Path

    def wait_for(self, what: str, found: Callable[[], T | None]) -> T:
        """Poll until `found` returns something, or fail naming `what`."""
        while time.monotonic() < self.at:
            if (value := found()) is not None:
                return value
            time.sleep(0.2)
        pytest.fail(f"{what}: not in time; serve said:\n{self.log.read_text()[-4000:]}")


def served_deployment(db: Path) -> Callable[[], UUID | None]:
    """The deployment once `serve` has registered it for `db`: the session's server may hold one
    of that name from another test (its parameters naming another warehouse and the live site)."""
    from prefect import get_client  # noqa: PLC0415  # Prefect: slow import
    from prefect.exceptions import ObjectNotFound  # noqa: PLC0415

    def found() -> UUID | None:
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(DEPLOYMENT)
            except ObjectNotFound:
                return None
        return deployment.id if deployment.parameters.get("db") == str(db) else None

    return found


def start_run(deployment: UUID, **parameters: Any) -> UUID:
    """A flow run of the deployment, as the UI's Run button makes one; `until` unset, so that
    the run ends when nothing is due instead of waiting for pages to fall due."""
    from prefect import get_client  # noqa: PLC0415  # Prefect: slow import

    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment, parameters={"until": None, **parameters}
        )
    return run.id


def flow_run_state(flow_run_id: UUID) -> Any:
    from prefect import get_client  # noqa: PLC0415  # Prefect: slow import

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def cancel_as_the_ui_does(flow_run_id: UUID) -> None:
    """What the UI's Cancel button does: propose Cancelling; the runner does the rest."""
    from prefect import get_client  # noqa: PLC0415  # Prefect: slow import
    from prefect.client.schemas.responses import (  # noqa: PLC0415
        OrchestrationResult,
        SetStateStatus,
    )
    from prefect.states import Cancelling  # noqa: PLC0415

    with get_client(sync_client=True) as client:
        result: OrchestrationResult[Any] = client.set_flow_run_state(flow_run_id, Cancelling())
    assert result.status == SetStateStatus.ACCEPT, result.details


def final_state(flow_run_id: UUID) -> Callable[[], Any]:
    """The flow run's state once it is final, else None."""

    def final() -> Any:
        state = flow_run_state(flow_run_id)
        return state if state is not None and state.is_final() else None

    return final


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_a_ui_cancellation_stops_a_served_run_as_stopped_and_the_next_run_resumes(
    replica_server: tuple[Replica, ReplicaServer], served: tuple[Path, Path]
) -> None:
    replica, server = replica_server
    db, log = served
    deadline = Deadline(time.monotonic() + TEST_LIMIT_S, log)
    deployment = deadline.wait_for("serve's deployments", served_deployment(db))
    # The run's own site and warehouse, whatever the deployment held when it was read.
    first = start_run(deployment, base_url=server.base_url, db=str(db))
    deadline.wait_for(
        f"{CANCEL_AFTER_PAGES} pages fetched by the served run",
        lambda: sum(study_requests(server).values()) >= CANCEL_AFTER_PAGES or None,
    )
    assert flow_run_state(first).is_running()
    cancel_as_the_ui_does(first)
    state = deadline.wait_for("the cancelled run's end", final_state(first))

    # Cancelled, as the UI asked, with the run's own summary: the flow ended it so (the server
    # accepts nothing else from Cancelling), not the runner after a process that failed.
    assert state.is_cancelled(), (state, log.read_text()[-4000:])
    assert not state.is_failed()
    fetched = sum(study_requests(server).values())
    assert state.message.startswith(f"run 1 stopped: {fetched} pages fetched"), state.message
    assert fetched < studies_of(replica)  # cancelled mid-crawl, not after it
    ((status, pages, error),) = rows(db, "SELECT status, pages_fetched, error FROM crawl_runs")
    assert (status, error) == ("stopped", None), log.read_text()[-4000:]
    assert pages == fetched  # every page fetched was loaded and counted
    assert rows(db, "SELECT count(*) FROM studies") == [(fetched,)]

    second = start_run(deployment, base_url=server.base_url, db=str(db), rate=RESUME_RATE)
    assert deadline.wait_for("the next run's end", final_state(second)).is_completed()
    assert_stopped_then_resumed(server, replica, db)
    collect_prefect_sockets()
