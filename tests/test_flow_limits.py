"""Limits a crawl run keeps: `max_pages` caps the last batch, not just the number of batches."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from replica import Replica, ReplicaServer
from scraper import flows

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    # Prefect's API client leaves a socket to its test server open when the flow's loop closes.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]


def test_max_pages_caps_the_last_batch_at_what_is_left(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with ReplicaServer(Replica(pages=30, seed=5)) as server:
        state = flows.run_crawl(
            base_url=server.base_url, db=str(db), rate=500.0, concurrency=8, max_pages=3
        )
        log = server.request_log
    pages = [r for r in log if r.path != "/robots.txt" and "sitemap" not in r.path]
    assert state.is_completed(), state.message
    assert len(pages) == 3  # not the batch of 50 the first batch would otherwise claim
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT pages_fetched FROM crawl_runs").fetchall() == [(3,)]
