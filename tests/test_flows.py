"""The Prefect flows against the replica, under one session-wide Prefect test harness."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from replica import Replica, ReplicaServer
from scraper import flows
from scraper.flows.deployments import HOURLY_CRONS, WEEKLY_CRON, deployments
from scraper.flows.reparse import reparse
from scraper.urls import study_id_from_url

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    # Prefect's own API client leaves one socket to its test server open when a flow's event loop
    # (asyncio.run) closes; it is not one of ours (the fetch and replica tests keep the warning).
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]

FAST = {"rate": 500.0, "concurrency": 8}


@pytest.fixture
def replica_server() -> Iterator[tuple[Replica, ReplicaServer]]:
    replica = Replica(pages=40, seed=11)
    with ReplicaServer(replica) as server:
        yield replica, server


def run_crawl(server: ReplicaServer, db: Path, **options: Any) -> Any:
    parameters = {"base_url": server.base_url, "db": str(db), **FAST, **options}
    return flows.run_crawl(**parameters)  # `workers` > 1: the scale-out flow on Dask


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


async def artifacts_of(flow_run_id: UUID) -> dict[str, Any]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.type or "": artifact for artifact in found}


def study_count(replica: Replica) -> int:
    return len({r.study_id for p in replica.study_paths() if (r := replica.truth(p))})


def test_crawl_flow_completes_with_artifacts_and_run_row(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica, server = replica_server
    db = tmp_path / "w.duckdb"
    percents: list[float] = []
    crawl_flow = importlib.import_module("scraper.flows.crawl")  # `flows.crawl` is the flow
    update_artifact = crawl_flow.aupdate_progress_artifact

    async def recorded(artifact_id: Any, percent: float) -> Any:
        percents.append(percent)
        return await update_artifact(artifact_id, percent)

    monkeypatch.setattr(crawl_flow, "aupdate_progress_artifact", recorded)
    state = run_crawl(server, db, batch_size=10, contact_url="https://example.org/our-crawl")

    assert state.is_completed(), state.message
    assert rows(db, "SELECT count(*) FROM studies") == [(study_count(replica),)]
    (run,) = rows(db, "SELECT status, pages_fetched, pages_new, pages_failed FROM crawl_runs")
    assert run[0] == "completed"
    assert run[1] == run[2] >= study_count(replica)
    assert run[3] == 0
    assert len(percents) >= 4  # progress moved batch by batch
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    artifacts = asyncio.run(artifacts_of(state.state_details.flow_run_id))
    assert {"progress", "markdown", "table"} <= set(artifacts)
    assert artifacts["progress"].data == 100.0
    assert "Crawl run 1: completed" in artifacts["markdown"].data
    agents = {r.headers.get("user-agent", "") for r in server.request_log}
    assert all("+https://example.org/our-crawl" in agent for agent in agents)


def test_crawl_in_worker_processes_gives_the_same_studies(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> None:
    _replica, server = replica_server
    plain, parallel = tmp_path / "plain.duckdb", tmp_path / "workers.duckdb"
    assert run_crawl(server, plain).is_completed()
    assert run_crawl(server, parallel, workers=2, concurrency=4).is_completed()
    query = "SELECT study_id, content_hash FROM studies ORDER BY study_id"
    assert rows(parallel, query) == rows(plain, query)
    # Every page archived once; each worker read robots.txt for itself.
    pages = "SELECT count(*) FROM archive_records WHERE target_uri NOT LIKE '%/robots.txt'"
    assert rows(parallel, pages) == rows(plain, pages)


def test_recrawl_of_unchanged_site_is_conditional_and_advancing_site_adds_history(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> None:
    replica, server = replica_server
    db = tmp_path / "w.duckdb"
    assert run_crawl(server, db).is_completed()
    first_observations = rows(db, "SELECT count(*) FROM study_observations")[0][0]
    server.clear_log()

    assert run_crawl(server, db, full=True).is_completed()
    study_requests = [r for r in server.request_log if r.path.startswith("/research/")]
    assert study_requests
    assert all("if-none-match" in r.headers for r in study_requests)
    assert {r.status for r in study_requests} == {304}
    (second,) = rows(
        db, "SELECT pages_not_modified, pages_changed FROM crawl_runs WHERE run_id = 2"
    )
    assert second == (len(study_requests), 0)

    replica.advance(days=30)
    assert run_crawl(server, db, full=True).is_completed()
    (third,) = rows(db, "SELECT pages_changed, pages_new FROM crawl_runs WHERE run_id = 3")
    assert third[0] > 0
    assert rows(db, "SELECT count(*) FROM study_observations")[0][0] > 2 * first_observations - 5
    assert rows(db, "SELECT count(*) - count(DISTINCT study_id) FROM studies") == [(0,)]


def test_reparse_flow_rebuilds_the_same_records_without_network(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> None:
    _replica, server = replica_server
    db = tmp_path / "w.duckdb"
    assert run_crawl(server, db).is_completed()
    before = rows(db, "SELECT study_id, content_hash FROM studies ORDER BY ALL")
    server.clear_log()

    state: Any = asyncio.run(reparse(db=str(db), return_state=True))  # type: ignore[arg-type]

    assert state.is_completed(), state.message
    assert server.request_log == []
    assert rows(db, "SELECT study_id, content_hash FROM studies ORDER BY ALL") == before
    assert rows(db, "SELECT kind, status FROM crawl_runs ORDER BY run_id")[-1] == (
        "reparse",
        "completed",
    )


def test_deployments_carry_their_cron_schedules(tmp_path: Path) -> None:
    for deployment in deployments(str(tmp_path / "w.duckdb")):
        deployment.apply()

    async def crons() -> dict[str, list[str]]:
        """Each deployment's crons; then the deployments go, with the runs their schedules
        brought: they point at the live site, and a runner of a later test must not start one."""
        async with get_client() as client:
            found = {}
            for name in ("hourly-incremental", "weekly-full"):
                deployment = await client.read_deployment_by_name(f"crawl/{name}")
                found[name] = [getattr(s.schedule, "cron", "") for s in deployment.schedules]
                await client.delete_deployment(deployment.id)
            return found

    found = asyncio.run(crons())
    assert sorted(found["hourly-incremental"]) == sorted(HOURLY_CRONS)
    assert found["weekly-full"] == [WEEKLY_CRON]


def test_layout_drift_fails_the_run_and_keeps_earlier_values(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> None:
    replica, server = replica_server
    db = tmp_path / "w.duckdb"
    assert run_crawl(server, db).is_completed()
    good = rows(db, "SELECT study_id, tldr, summary, published FROM studies ORDER BY study_id")
    archived = rows(db, "SELECT count(*) FROM archive_records")[0][0]

    replica.break_layout(True)
    state = run_crawl(server, db, full=True)

    assert state.is_failed()
    assert "layout drift" in state.message
    assert "tldr" in state.message
    assert "summary" in state.message
    (run,) = rows(db, "SELECT status, drifted_fields, error FROM crawl_runs WHERE run_id = 2")
    assert run[0] == "failed"
    assert "tldr" in run[1]
    assert (
        rows(db, "SELECT study_id, tldr, summary, published FROM studies ORDER BY study_id") == good
    )
    # the redesigned pages are in the archive, ready for a fixed parser's reparse
    assert rows(db, "SELECT count(*) FROM archive_records")[0][0] >= archived + len(good)


def test_incremental_crawl_follows_sitemap_lastmod_to_the_changed_pages(
    replica_server: tuple[Replica, ReplicaServer], tmp_path: Path
) -> None:
    replica, server = replica_server
    db = tmp_path / "w.duckdb"
    known = set(replica.study_paths())
    assert run_crawl(server, db).is_completed()

    advanced = replica.advance(days=30)
    server.clear_log()
    assert run_crawl(server, db).is_completed()  # not full: only what is due

    # by study id: a study under two slugs is fetched under one of them only
    requested = ids(r.path for r in server.request_log if r.path.startswith("/research/"))
    changed = ids(known & set(advanced.changed))
    untouched = ids(known - set(advanced.removed) - set(advanced.moved)) - changed
    assert changed
    assert changed <= requested
    assert not requested & untouched


def ids(paths: Iterable[str]) -> set[str]:
    return {study_id for path in paths if (study_id := study_id_from_url(path))}
