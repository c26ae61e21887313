"""Warehouse rows -> records: the stored `StudyPage` of a study, as `scraper.load` stored it.

The inverse of `scraper.staging`: a study's row, its authors, research lists and post cards are
read back by column name into the record types (`dataclasses.fields`), so a record field that is
stored comes back without a list of its own here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import duckdb

from scraper.ages import PRECISIONS, AgeEstimate
from scraper.records import (
    SECTION_KEYS,
    CommunityPost,
    ResearchEntry,
    Section,
    SectionKey,
    StudyPage,
)
from scraper.staging import (
    ENTRY_PREFIX,
    SECTION_COLUMNS,
    SECTION_NAMES,
    SECTION_PREFIX,
    STUDY_SCHEMA,
    date_to_month,
)

_RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(StudyPage))
# The columns of `studies` that hold record values: record fields by name, and the sections.
_READ_COLUMNS = tuple(
    name for name in STUDY_SCHEMA.names if name in _RECORD_FIELDS or name in SECTION_COLUMNS
)
# Qualified: a child record's own `study_id` (a cited study's) is a column alias of the select.
_CHILDREN_OF = (
    "WHERE t.study_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY t.study_id, t.position"
)


def read_study(con: duckdb.DuckDBPyConnection, study_id: str) -> StudyPage | None:
    """The stored record of one study, as `load_pages` stored it; None when unknown."""
    return read_studies(con, [study_id]).get(study_id)


def read_studies(con: duckdb.DuckDBPyConnection, study_ids: Iterable[str]) -> dict[str, StudyPage]:
    """Stored records by study id (unknown ids are absent)."""
    params = {"ids": list(study_ids)}
    rows = con.execute(
        f"SELECT {', '.join(_READ_COLUMNS)} FROM studies"
        " WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))",
        params,
    ).fetchall()
    authors = _grouped(con, _select(("name",), "study_authors"), params)
    lists = {key: _grouped(con, _entries_query(key), params) for key in ENTRY_PREFIX}
    cards = _grouped(con, _select(_names(CommunityPost), "study_community_posts"), params)
    records = {}
    for row in rows:
        values = dict(zip(_READ_COLUMNS, row, strict=True))
        sid = values["study_id"]
        records[sid] = _record(
            values,
            authors=tuple(a["name"] for a in authors.get(sid, [])),
            cited_research=tuple(_entry(e) for e in lists["cited_research"].get(sid, [])),
            related_research=tuple(_entry(e) for e in lists["related_research"].get(sid, [])),
            community_posts=tuple(CommunityPost(**c) for c in cards.get(sid, [])),
        )
    return records


@dataclass(frozen=True, slots=True)
class StoredAges:
    """The posting-time estimates held for some studies' post cards and for their posts."""

    cards: Mapping[tuple[str, str], AgeEstimate]  # (study_id, post_id) -> estimate
    posts: Mapping[str, AgeEstimate]  # post_id -> estimate


def read_post_ages(
    con: duckdb.DuckDBPyConnection, study_ids: Iterable[str], post_ids: Iterable[str]
) -> StoredAges:
    """The stored estimates of the cards of `study_ids` and of the posts `post_ids`."""
    cards = con.execute(
        "SELECT study_id, post_id, posted_at_estimate, posted_at_precision"
        " FROM study_community_posts WHERE study_id IN (SELECT unnest(?::VARCHAR[]))"
        " AND post_id IS NOT NULL AND posted_at_estimate IS NOT NULL",
        [list(study_ids)],
    ).fetchall()
    posts = con.execute(
        "SELECT post_id, posted_at_estimate, posted_at_precision FROM community_posts"
        " WHERE post_id IN (SELECT unnest(?::VARCHAR[])) AND posted_at_estimate IS NOT NULL",
        [list(post_ids)],
    ).fetchall()
    return StoredAges(
        cards={
            (study_id, post_id): age
            for study_id, post_id, at, precision in cards
            if (age := _age(at, precision))
        },
        posts={post_id: age for post_id, at, precision in posts if (age := _age(at, precision))},
    )


def _age(at: Any, precision: Any) -> AgeEstimate | None:
    """A stored estimate (in UTC, as it was hashed: DuckDB hands instants back in the session's
    time zone); None for a precision this version does not know."""
    if precision not in PRECISIONS:
        return None
    return AgeEstimate(at=at.astimezone(UTC), precision=precision)


def _select(names: Iterable[str], table: str, renamed: Mapping[str, str] | None = None) -> str:
    """The rows of `table` that belong to the studies asked for, owner first, then one column
    per name (`renamed`: name -> the table's column, where they differ)."""
    renamed = renamed or {}
    columns = [f"t.{renamed.get(name, name)} AS {name}" for name in names]
    return f"SELECT t.study_id, {', '.join(columns)} FROM {table} AS t {_CHILDREN_OF}"


def _entries_query(key: SectionKey) -> str:
    prefix = ENTRY_PREFIX[key]
    renamed = {"url": f"{prefix}_url", "study_id": f"{prefix}_study_id"}
    return _select(_names(ResearchEntry), key, renamed)


def _names(record_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record_type))


def _grouped(
    con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Rows by the study that owns them (the query's first column), as column -> value."""
    cursor = con.execute(query, dict(params))
    names = [column[0] for column in cursor.description or ()]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in cursor.fetchall():
        groups.setdefault(row[0], []).append(dict(zip(names[1:], row[1:], strict=True)))
    return groups


def _record(values: Mapping[str, Any], **children: tuple[Any, ...]) -> StudyPage:
    """The record of a `studies` row; `children` are its lists, read from their own tables."""
    sections: dict[SectionKey, Section] = {}
    for key in SECTION_KEYS:
        if key in values["sections"]:
            prefix = SECTION_PREFIX[key]
            sections[key] = Section(**{name: values[f"{prefix}_{name}"] for name in SECTION_NAMES})
    fields = {name: value for name, value in values.items() if name in _RECORD_FIELDS}
    return StudyPage(
        **{
            **fields,
            **children,
            "published": date_to_month(values["published"]),
            "sections": sections,
            "warnings": tuple(values["warnings"]),
        }
    )


def _entry(row: Mapping[str, Any]) -> ResearchEntry:
    return ResearchEntry(**{**row, "published": date_to_month(row["published"])})
