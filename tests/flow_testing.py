"""What the flow tests share beyond the Prefect harness."""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from replica import Replica, ReplicaServer
from scraper.urls import study_id_from_url


def collect_prefect_sockets() -> None:
    """Collect now, under this test's warning filter, the socket Prefect's client leaves behind
    when a flow's event loop closes: left to the end of the session, it is an error there."""
    gc.collect()


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def study_requests(server: ReplicaServer) -> Counter[str]:
    return Counter(e.path for e in server.request_log if study_id_from_url(e.path) is not None)


def studies_of(replica: Replica) -> int:
    return len({r.study_id for p in replica.study_paths() if (r := replica.truth(p))})


def assert_stopped_then_resumed(server: ReplicaServer, replica: Replica, db: Path) -> None:
    """A stopped run, then one that resumed it to the end: every study loaded once, no study
    page fetched twice, and the two runs' pages are every page the site was asked for."""
    requested = study_requests(server)
    assert max(requested.values()) == 1  # nothing fetched twice
    assert rows(db, "SELECT count(*) FROM studies") == [(studies_of(replica),)]
    assert rows(db, "SELECT count(*) - count(DISTINCT study_id) FROM studies") == [(0,)]
    runs = rows(db, "SELECT status, pages_fetched FROM crawl_runs ORDER BY run_id")
    assert [status for status, _ in runs] == ["stopped", "completed"]
    assert sum(n for _, n in runs) == sum(requested.values())
