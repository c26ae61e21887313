"""Records -> Arrow: the staged tables a batch is loaded from, their schemas and row builders.

A `Candidate` is a study page ready to stage. `stage_tables` turns a batch of them into one Arrow
table per warehouse table, named as the SQL of `scraper.load` reads them. Record fields are copied
into rows by name (`dataclasses.fields`), so the schemas here are the one list of staged columns.
Also the warehouse's column layout of a record, which `scraper.stored` reads back with: the
section columns (`cited_shown`, ...) and months stored as the DATE of their first day.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from scraper.ages import AgeEstimate
from scraper.db import TIMESTAMP_UTC
from scraper.records import SECTION_KEYS, ResearchEntry, Section, SectionKey, StudyPage

# Column prefix of each section in `studies` and `study_observations`.
SECTION_PREFIX: dict[SectionKey, str] = {
    "cited_research": "cited",
    "community_posts": "posts",
    "related_research": "related",
}
SECTION_FIELDS = (
    ("heading", pa.string()),
    ("shown", pa.int64()),
    ("total", pa.int64()),
    ("total_text", pa.string()),
)
SECTION_NAMES = tuple(name for name, _ in SECTION_FIELDS)
SECTION_COLUMNS = tuple(
    f"{prefix}_{name}" for prefix in SECTION_PREFIX.values() for name in SECTION_NAMES
)
# What `study_observations` measures on each visit.
STUDY_MEASURES = tuple(
    f"{prefix}_{name}" for prefix in SECTION_PREFIX.values() for name in ("shown", "total")
)
# The research lists' own names for an entry's url and study id (`cited_url`, ...).
ENTRY_PREFIX: dict[SectionKey, str] = {"cited_research": "cited", "related_research": "related"}
# Record fields left out of the content hash: they describe the parser, not the page.
_HASH_EXCLUDED = ("parser_version", "warnings")
_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$")

STUDY_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("published", pa.date32()),
        ("venue", pa.string()),
        ("tldr", pa.string()),
        ("summary", pa.string()),
        ("image_url", pa.string()),
        ("source_url", pa.string()),
        ("source_host", pa.string()),
        ("discussion_url", pa.string()),
        ("sections", pa.list_(pa.string())),
        *[
            (f"{prefix}_{name}", kind)
            for prefix in SECTION_PREFIX.values()
            for name, kind in SECTION_FIELDS
        ],
        ("page_kind", pa.string()),
        ("parser_version", pa.string()),
        ("warnings", pa.list_(pa.string())),
        ("content_hash", pa.string()),
        ("first_seen_at", TIMESTAMP_UTC),
        ("last_seen_at", TIMESTAMP_UTC),
        ("last_changed_at", TIMESTAMP_UTC),
        ("removed_at", TIMESTAMP_UTC),
        ("first_run_id", pa.int64()),
        ("last_changed_run_id", pa.int64()),
    ]
)
AUTHOR_SCHEMA = pa.schema(
    [("study_id", pa.string()), ("position", pa.int32()), ("name", pa.string())]
)
_ENTRY_TAIL = [
    ("title", pa.string()),
    ("citations", pa.int64()),
    ("published", pa.date32()),
    ("venue", pa.string()),
    ("tldr", pa.string()),
]
CITED_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("position", pa.int32()),
        ("cited_study_id", pa.string()),
        ("cited_url", pa.string()),
        *_ENTRY_TAIL,
    ]
)
RELATED_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("position", pa.int32()),
        ("related_study_id", pa.string()),
        ("related_url", pa.string()),
        *_ENTRY_TAIL,
    ]
)
CARD_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("position", pa.int32()),
        ("post_id", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("category", pa.string()),
        ("upvotes", pa.int64()),
        ("age_text", pa.string()),
        ("summary", pa.string()),
        ("posted_at_estimate", TIMESTAMP_UTC),
        ("posted_at_precision", pa.string()),
    ]
)
# The text a post's card shows about it (`community_posts`; newer cards win, older fill gaps).
POST_TEXT_COLUMNS = ("url", "title", "category", "summary")
POST_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        *[(name, pa.string()) for name in POST_TEXT_COLUMNS],
        ("posted_at_estimate", TIMESTAMP_UTC),
        ("posted_at_precision", pa.string()),
        ("first_seen_at", TIMESTAMP_UTC),
        ("last_seen_at", TIMESTAMP_UTC),
    ]
)
STUDY_OBSERVATION_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("observed_at", TIMESTAMP_UTC),
        *[(name, pa.int64()) for name in STUDY_MEASURES],
        ("run_id", pa.int64()),
        ("not_modified", pa.bool_()),
    ]
)
POST_OBSERVATION_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("observed_at", TIMESTAMP_UTC),
        ("upvotes", pa.int64()),
        ("age_text", pa.string()),
        ("study_id", pa.string()),
        ("run_id", pa.int64()),
        ("not_modified", pa.bool_()),
    ]
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A study page ready to stage: the record as it will be stored, with its fetch time."""

    record: StudyPage  # study_id and url resolved
    seen_at: datetime
    # When each of `record.community_posts` was posted, by position (`scraper.ages`); settled
    # against the stored estimates by the loader.
    ages: tuple[AgeEstimate | None, ...] = ()

    @property
    def study_id(self) -> str:
        assert self.record.study_id is not None  # resolved before staging
        return self.record.study_id

    def age(self, position: int) -> AgeEstimate | None:
        return self.ages[position] if position < len(self.ages) else None

    @property
    def content_hash(self) -> str:
        return content_hash(self.record, self.ages)


def content_hash(record: StudyPage, ages: Sequence[AgeEstimate | None] = ()) -> str:
    """sha256 of what the page shows: the Contract 1 object minus parser bookkeeping, with each
    post's relative age (`age_text`, which ticks over as days pass) replaced by its estimated
    posting time at its precision (`ages`, by position; a post without one keeps its text).

    Also the signature a study page's visit is judged by (new / changed / unchanged): the bytes of
    a page change on every request, what it shows does not.
    """
    data = record.to_json()
    for key in _HASH_EXCLUDED:
        data.pop(key)
    for position, post in enumerate(data["community_posts"]):
        age = ages[position] if position < len(ages) else None
        if age is not None:  # text that is no relative age is hashed as shown
            del post["age_text"]
            post["posted_at"] = age.key()
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def month_to_date(text: str | None) -> date | None:
    """ "YYYY-MM" -> the first day of that month; None for anything else."""
    match = _MONTH.match(text) if text else None
    return date(int(match["year"]), int(match["month"]), 1) if match else None


def date_to_month(value: date | None) -> str | None:
    """The inverse of `month_to_date`: a stored DATE as "YYYY-MM"."""
    return f"{value.year:04d}-{value.month:02d}" if value is not None else None


def stage_tables(
    visits: Sequence[Candidate],
    current: Sequence[Candidate],
    replaced: Sequence[Candidate],
    reindexed: Sequence[Candidate],
    run_id: int | None,
) -> dict[str, pa.Table]:
    """The batch as Arrow tables, named as the SQL in `scraper.load` reads them.

    `visits` (every visit, stale ones too) feed the history; `current` (new, changed, unchanged)
    the studies rows; `replaced` (new, changed) the child lists; `reindexed` the search index.
    """
    return {
        "stage_studies": _table(STUDY_SCHEMA, (_study_row(c, run_id) for c in current)),
        "stage_replaced": _ids_table(replaced),
        "stage_reindexed": _ids_table(reindexed),
        "stage_authors": _table(AUTHOR_SCHEMA, _author_rows(replaced)),
        "stage_cited": _table(CITED_SCHEMA, _entry_rows(replaced, "cited_research")),
        "stage_related": _table(RELATED_SCHEMA, _entry_rows(replaced, "related_research")),
        "stage_cards": _table(CARD_SCHEMA, _card_rows(replaced)),
        "stage_posts": _table(POST_SCHEMA, _post_rows(visits)),
        "stage_study_observations": _table(
            STUDY_OBSERVATION_SCHEMA, (_study_observation_row(v, run_id) for v in visits)
        ),
        "stage_post_observations": _table(
            POST_OBSERVATION_SCHEMA, _post_observation_rows(visits, run_id)
        ),
    }


def _table(schema: pa.Schema, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table of `schema`; keys the schema does not name are left out."""
    return pa.Table.from_pylist(list(rows), schema=schema)


def _ids_table(candidates: Sequence[Candidate]) -> pa.Table:
    return pa.table({"study_id": pa.array([c.study_id for c in candidates], pa.string())})


def _fields(record: Any) -> dict[str, Any]:
    """A record's fields by name, one level deep (`asdict` would copy every nested record)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _study_row(candidate: Candidate, run_id: int | None) -> dict[str, Any]:
    record = candidate.record
    return {
        **_fields(record),
        **_section_columns(record, SECTION_NAMES),
        "study_id": candidate.study_id,
        "published": month_to_date(record.published),
        "sections": [key for key in SECTION_KEYS if key in record.sections],
        "warnings": list(_stored_warnings(record)),
        "content_hash": candidate.content_hash,
        "first_seen_at": candidate.seen_at,
        "last_seen_at": candidate.seen_at,
        "last_changed_at": candidate.seen_at,
        "removed_at": None,
        "first_run_id": run_id,
        "last_changed_run_id": run_id,
    }


def _section_columns(record: StudyPage, names: Sequence[str]) -> dict[str, Any]:
    """`cited_shown`, `cited_total`, ...: each section's values; null for an absent section."""
    row = {}
    for key, prefix in SECTION_PREFIX.items():
        section = record.sections.get(key, Section())
        for name in names:
            row[f"{prefix}_{name}"] = getattr(section, name)
    return row


def _stored_warnings(record: StudyPage) -> tuple[str, ...]:
    """The record's warnings, plus one per month the warehouse cannot store as a date."""
    months = [("published", record.published)]
    for key in ENTRY_PREFIX:
        entries: tuple[ResearchEntry, ...] = getattr(record, key)
        months += [(f"{key}[{i}].published", e.published) for i, e in enumerate(entries)]
    extra = [
        f"{where} {text!r} is not YYYY-MM: stored as null"
        for where, text in months
        if text is not None and month_to_date(text) is None
    ]
    return (*record.warnings, *extra)


def _author_rows(candidates: Iterable[Candidate]) -> Iterator[dict[str, Any]]:
    for c in candidates:
        for position, name in enumerate(c.record.authors):
            yield {"study_id": c.study_id, "position": position, "name": name}


def _entry_rows(candidates: Iterable[Candidate], key: SectionKey) -> Iterator[dict[str, Any]]:
    prefix = ENTRY_PREFIX[key]
    for c in candidates:
        entries: tuple[ResearchEntry, ...] = getattr(c.record, key)
        for position, entry in enumerate(entries):
            yield {
                **_fields(entry),
                # the row's own study_id is the citing study's; the entry's gets the prefix
                "study_id": c.study_id,
                "position": position,
                f"{prefix}_study_id": entry.study_id,
                f"{prefix}_url": entry.url,
                "published": month_to_date(entry.published),
            }


def _card_rows(candidates: Iterable[Candidate]) -> Iterator[dict[str, Any]]:
    for c in candidates:
        for position, post in enumerate(c.record.community_posts):
            yield {
                **_fields(post),
                **_age_columns(c.age(position)),
                "study_id": c.study_id,
                "position": position,
            }


def _age_columns(age: AgeEstimate | None) -> dict[str, Any]:
    return {
        "posted_at_estimate": age.at if age else None,
        "posted_at_precision": age.precision if age else None,
    }


def _post_rows(visits: Iterable[Candidate]) -> Iterator[dict[str, Any]]:
    """One row per post: newest card's values, older cards filling its gaps."""
    merged: dict[str, dict[str, Any]] = {}
    for visit in sorted(visits, key=lambda v: v.seen_at, reverse=True):
        for position, post in enumerate(visit.record.community_posts):
            if post.post_id is None:
                continue
            row = merged.setdefault(
                post.post_id, {"post_id": post.post_id, "last_seen_at": visit.seen_at}
            )
            for name in POST_TEXT_COLUMNS:
                if row.get(name) is None:
                    row[name] = getattr(post, name)
            if row.get("posted_at_estimate") is None:  # the pair moves together
                row.update(_age_columns(visit.age(position)))
            row["first_seen_at"] = visit.seen_at
    return iter(merged.values())


def _study_observation_row(visit: Candidate, run_id: int | None) -> dict[str, Any]:
    return {
        "study_id": visit.study_id,
        "observed_at": visit.seen_at,
        "run_id": run_id,
        "not_modified": False,
        **_section_columns(visit.record, ("shown", "total")),
    }


def _post_observation_rows(
    visits: Iterable[Candidate], run_id: int | None
) -> Iterator[dict[str, Any]]:
    """One row per (post, fetch time); a post on two pages fetched at one instant counts once."""
    rows: dict[tuple[str, datetime], dict[str, Any]] = {}
    for visit in visits:
        for post in visit.record.community_posts:
            if post.post_id is None:
                continue
            rows.setdefault(
                (post.post_id, visit.seen_at),
                {
                    **_fields(post),
                    "observed_at": visit.seen_at,
                    "study_id": visit.study_id,
                    "run_id": run_id,
                    "not_modified": False,
                },
            )
    return iter(rows.values())
