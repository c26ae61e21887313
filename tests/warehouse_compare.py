"""What two crawls of one site must agree on: every content column, never a time or a run id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

COMPARED = {
    "studies": "SELECT * EXCLUDE (first_seen_at, last_seen_at, last_changed_at, removed_at,"
    " first_run_id, last_changed_run_id, last_seen_run_id, removed_run_id) FROM studies"
    " ORDER BY study_id",
    "study_authors": "SELECT * FROM study_authors ORDER BY ALL",
    "cited_research": "SELECT * FROM cited_research ORDER BY ALL",
    "related_research": "SELECT * FROM related_research ORDER BY ALL",
    "study_community_posts": "SELECT * FROM study_community_posts ORDER BY ALL",
    "community_posts": "SELECT * EXCLUDE (first_seen_at, last_seen_at) FROM community_posts"
    " ORDER BY ALL",
    "pages": "SELECT url, study_id, status_code, etag, last_modified, content_sha256, error,"
    " alias_of FROM pages ORDER BY url",
}


def rows(db_path: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(query).fetchall()
