"""Runs never collide: the warehouse's lease, the CLI's one-line refusal, a flow run that skips,
and deployments that admit one run at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scraper import lease
from scraper.cli import app
from tests.flow_testing import collect_prefect_sockets


def test_a_held_lease_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with lease.Lease.acquire(db, flow_run_id="abc") as held:
        held.update(run_id=7, pages=40)
        with pytest.raises(lease.WarehouseBusy) as busy:
            lease.Lease.acquire(db)
        message = str(busy.value)
        assert "crawl run 7" in message
        assert "40 pages fetched so far" in message
        assert "started " in message
        found = lease.holder(db)
        assert found is not None
        assert (found.run_id, found.pages, found.flow_run_id) == (7, 40, "abc")
    assert lease.holder(db) is None  # released: free again
    with lease.Lease.acquire(db):  # and can be taken
        pass


def test_a_lease_dies_with_its_process(tmp_path: Path) -> None:
    """SIGKILL leaves no stale lease: the kernel drops the lock with the process."""
    db = tmp_path / "w.duckdb"
    code = (
        "import os, sys; from scraper import lease\n"
        f"held = lease.Lease.acquire({str(db)!r}); held.update(run_id=3)\n"
        "print('held', flush=True); sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "held"
            holder = lease.holder(db)
            assert holder is not None
            assert (holder.run_id, holder.pid) == (3, child.pid)
        finally:
            child.kill()
            child.wait(timeout=30)
    assert lease.holder(db) is None


def test_crawl_of_a_held_warehouse_exits_2_with_one_line_naming_the_run(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with lease.Lease.acquire(db) as held:
        held.update(run_id=12, pages=345)
        result = CliRunner().invoke(
            app, ["crawl", "--db", str(db), "--base-url", "http://127.0.0.1:9/"]
        )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "in use by crawl run 12" in lines[0]
    assert "345 pages fetched so far" in lines[0]
    assert "Traceback" not in result.output


def test_deployments_admit_one_run_at_a_time_and_queue_the_next(tmp_path: Path) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy  # noqa: PLC0415

    from scraper.flows.deployments import deployments  # noqa: PLC0415  # Prefect: slow import

    found = deployments(str(tmp_path / "w.duckdb"), contact_url="https://example.org/me")
    assert len(found) == 2
    for deployment in found:
        assert deployment.concurrency_limit == 1
        assert deployment.concurrency_options is not None
        assert deployment.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE
        assert deployment.parameters["contact_url"] == "https://example.org/me"


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_a_flow_run_on_a_held_warehouse_is_skipped_not_failed(tmp_path: Path) -> None:
    from scraper import flows  # noqa: PLC0415  # Prefect: slow import

    db = tmp_path / "w.duckdb"
    with lease.Lease.acquire(db) as held:
        held.update(run_id=5, pages=9)
        # Nothing listens at port 9: a run that got past the lease would fail, not skip.
        state = flows.run_crawl(base_url="http://127.0.0.1:9/", db=str(db))
    assert state.is_cancelled()
    assert state.name == "Skipped"
    assert "crawl run 5" in (state.message or "")
    assert not db.exists()  # the warehouse was never opened
    collect_prefect_sockets()


def test_reparse_of_a_warehouse_a_crawl_holds_exits_2_naming_the_crawl(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    db.touch()
    with lease.Lease.acquire(db) as held:
        held.update(run_id=4, pages=2)
        result = CliRunner().invoke(app, ["reparse", "--db", str(db)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "in use by crawl run 4" in line
