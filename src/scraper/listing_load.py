"""Parsed research listings -> `listing_observations`: each entry, as an observation of its study.

A listing entry is what the listing said about a study at one visit (its citation count, date,
venue, TLDR). It is appended, never merged into `studies`: what a study's own page said stays
the study's record. Rows are keyed by (listing URL, fetch time, position), so loading the same
batch twice, or reparsing the archive, adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from scraper.db import affected_rows, registered, require_aware, transaction
from scraper.records import ListingPage, LoadItem
from scraper.urls import canonicalize

LISTING_SCHEMA = pa.schema(
    [
        ("listing_url", pa.string()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("position", pa.int32()),
        ("study_id", pa.string()),
        ("study_url", pa.string()),
        ("title", pa.string()),
        ("citations", pa.int32()),
        ("published", pa.date32()),
        ("venue", pa.string()),
        ("tldr", pa.string()),
        ("keyword", pa.string()),
        ("page_number", pa.int32()),
        ("run_id", pa.int64()),
    ]
)
_COLUMNS = ", ".join(LISTING_SCHEMA.names)
_INSERT = (
    f"INSERT INTO listing_observations ({_COLUMNS}) SELECT {_COLUMNS} FROM staged_listings"
    " ON CONFLICT DO NOTHING"
)


def load_listings(
    con: duckdb.DuckDBPyConnection,
    items: Sequence[LoadItem],
    *,
    observed_at: datetime,
    run_id: int | None,
) -> int:
    """Append the entries of the batch's listing pages; returns the rows added."""
    require_aware(observed_at, "observed_at")
    rows = [row for item in items if item.listing is not None for row in _rows(item, observed_at)]
    for row in rows:
        row["run_id"] = run_id
    if not rows:
        return 0
    table = pa.Table.from_pylist(rows, schema=LISTING_SCHEMA)
    with transaction(con), registered(con, {"staged_listings": table}):
        return affected_rows(con.execute(_INSERT))


def _rows(item: LoadItem, observed_at: datetime) -> Iterable[dict[str, Any]]:
    listing: ListingPage | None = item.listing
    if listing is None:
        return
    url = listing.url or (canonicalize(item.fetched_url) if item.fetched_url else None)
    if url is None:
        return
    seen_at = item.fetched_at if item.fetched_at is not None else observed_at
    require_aware(seen_at, "fetched_at")
    for entry in listing.entries:
        if entry.study_id is None:
            continue  # an observation of no study we can name
        yield {
            "listing_url": url,
            "observed_at": seen_at.astimezone(UTC),
            "position": entry.position,
            "study_id": entry.study_id,
            "study_url": entry.url,
            "title": entry.title,
            "citations": entry.citations,
            "published": _month(entry.published),
            "venue": entry.venue,
            "tldr": entry.tldr,
            "keyword": listing.keyword,
            "page_number": listing.page_number,
        }


def _month(published: str | None) -> date | None:
    """ "YYYY-MM" -> the month's first day (how the warehouse stores "January 2024")."""
    if not published:
        return None
    year, _, month = published.partition("-")
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        return None
