"""Records → DuckDB: the single writer's bulk, idempotent, history-keeping loads (Contract 3).

    WarehouseError (scraper.db)
     └── LoadError      a batch could not be written; its transaction was rolled back

A batch of `LoadItem`s becomes a handful of Arrow tables that are upserted in ONE transaction:

- `studies` is keyed by the study id, so a slug change updates `url` and keeps one row. A row is
  rewritten only from a fetch at least as recent as the one it holds (reparsing an old archive
  never overwrites newer data); `last_changed_at` moves only when the record's content hash does.
- Child lists (authors, cited and related research, post cards) are replaced per study when its
  record changed.
- History is appended, never overwritten: `study_observations` and `community_post_observations`
  are keyed by (id, fetch time), so a replay of a batch rewrites the same keys and adds nothing;
  earlier values of the text fields go to `study_text_history`.
- `mark_removed` sets `removed_at` (rows are never deleted); a study seen again clears it.
- `touch_unchanged` records a visit that answered 304: `last_seen_at` moves and the visit is
  appended to both observation tables with the values carried forward (`not_modified = true`), so
  the time series has a point per visit whether or not the page was re-sent.
- Drift guard: `field_coverage` measures how often each Contract 1 field was found in a batch;
  `record_coverage` / `baseline_coverage` / `drifted_fields` compare it with earlier runs, and
  `load_pages(..., protect_fields=...)` keeps the last good value of fields whose extraction
  dropped (an empty new value does not replace a stored non-empty one).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import duckdb
import pyarrow as pa

from scraper.db import WarehouseError, registered
from scraper.records import (
    SECTION_KEYS,
    CommunityPost,
    LoadItem,
    ResearchEntry,
    Section,
    SectionKey,
    StudyPage,
)
from scraper.urls import canonicalize, study_id_from_url


class LoadError(WarehouseError):
    """A batch could not be written; nothing of it was kept."""


# --- settings ----------------------------------------------------------------------------------
# Completed runs averaged into the coverage baseline: enough to smooth one odd run, few enough
# that a deliberate site change becomes the new normal within a week of daily crawls.
DEFAULT_BASELINE_RUNS = 5
# A field whose coverage falls by more than this (absolute share of pages) against the baseline
# counts as drifted: a real site-wide change, not the few pages that lack the field anyway.
DEFAULT_MAX_COVERAGE_DROP = 0.25

# Fields whose last good value `protect_fields` can keep (Contract 1 content fields).
PROTECTABLE_FIELDS = frozenset(
    {
        "title",
        "published",
        "venue",
        "authors",
        "image_url",
        "tldr",
        "summary",
        "discussion_url",
        "source_url",
        "source_host",
        "sections",
        "cited_research",
        "related_research",
        "community_posts",
    }
)
# Fields measured by `field_coverage`: every Contract 1 field a page can lack.
COVERAGE_FIELDS: tuple[str, ...] = ("url", "study_id", *sorted(PROTECTABLE_FIELDS))
# Text fields whose earlier values are kept in `study_text_history`.
TEXT_HISTORY_FIELDS = ("title", "tldr", "summary", "venue", "published", "url")
# Record fields left out of the content hash: they describe the parser, not the page.
_HASH_EXCLUDED = ("parser_version", "warnings")
# Column prefix of each section in `studies` and `study_observations`.
SECTION_PREFIX: dict[SectionKey, str] = {
    "cited_research": "cited",
    "community_posts": "posts",
    "related_research": "related",
}
_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$")

RunStatus = Literal["running", "completed", "failed"]
# The error of a run whose process died before closing it (`close_interrupted_runs`).
INTERRUPTED_RUN = "interrupted: the process ended before the run was closed"
RunKind = Literal["crawl", "reparse"]


# --- records -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class LoadStats:
    """What one `load_pages` call did."""

    studies_new: int = 0
    studies_changed: int = 0
    studies_unchanged: int = 0  # same content hash: only last_seen_at moved
    studies_stale: int = 0  # fetched before the stored version: history rows only
    skipped: int = 0  # not a study page, or no study id anywhere
    duplicates: int = 0  # more pages of a study in the batch: the latest fetch won
    study_observations: int = 0  # rows added
    post_observations: int = 0  # rows added
    posts_new: int = 0  # community posts seen for the first time
    text_history: int = 0  # earlier text values kept


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """How a crawl run ended, for `finish_run`."""

    finished_at: datetime
    status: RunStatus = "completed"
    pages_fetched: int = 0
    pages_changed: int = 0
    pages_unchanged: int = 0
    pages_failed: int = 0
    pages_removed: int = 0
    pages_new: int = 0
    pages_not_modified: int = 0  # answered 304
    requests: int = 0  # HTTP requests made, retries included
    bytes_received: int = 0  # on the wire, compressed
    duration_s: float = 0.0
    failure_reasons: Mapping[str, int] = field(default_factory=dict)  # reason -> pages
    drifted_fields: tuple[str, ...] = ()  # fields the drift guard protected
    error: str | None = None  # one line: why a failed run failed


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A study page ready to stage: the record as it will be stored, with its fetch time."""

    record: StudyPage  # study_id and url resolved
    seen_at: datetime

    @property
    def study_id(self) -> str:
        assert self.record.study_id is not None  # resolved by _candidate
        return self.record.study_id


# --- loading -----------------------------------------------------------------------------------
def load_pages(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[LoadItem],
    *,
    observed_at: datetime,
    run_id: int | None,
    protect_fields: Collection[str] = frozenset(),
    reparse: bool = False,
) -> LoadStats:
    """Upsert a batch of parsed pages in one transaction and append their history.

    `reparse`: the pages are the archived bodies of the latest fetches, parsed again by a newer
    parser; they replace the stored records even where a later 304 visit moved `last_seen_at`
    past their fetch time (a 304 said the body did not change, so it is still the current one).
    """
    _require_aware(observed_at, "observed_at")
    unknown = set(protect_fields) - PROTECTABLE_FIELDS
    if unknown:
        raise ValueError(f"cannot protect unknown fields: {sorted(unknown)}")
    visits, skipped = _candidates(pages, observed_at)
    latest = _latest_per_study(visits)
    if not visits:
        return LoadStats(skipped=skipped)
    with _transaction(con):
        stored = _stored_versions(con, list(latest))
        if protect_fields:
            latest = _keep_last_good(con, latest, stored, protect_fields)
        new, changed, unchanged, stale = _classify(latest.values(), stored, reparse=reparse)
        # the search index only needs rebuilding where the searched text itself changed
        reindexed = new + [
            c for c in changed if _searched_text(c.record) != stored[c.study_id].text
        ]
        tables = _stage_tables(visits, new + changed + unchanged, new + changed, reindexed, run_id)
        before = _row_counts(con)
        with registered(con, tables):
            _write_staged(
                con,
                run_id,
                changed=bool(changed),
                replace=bool(new or changed),
                reindex=bool(reindexed),
            )
        after = _row_counts(con)
    return LoadStats(
        studies_new=len(new),
        studies_changed=len(changed),
        studies_unchanged=len(unchanged),
        studies_stale=len(stale),
        skipped=skipped,
        duplicates=len(pages) - skipped - len(latest),
        study_observations=after["study_observations"] - before["study_observations"],
        post_observations=after["community_post_observations"]
        - before["community_post_observations"],
        posts_new=after["community_posts"] - before["community_posts"],
        text_history=after["study_text_history"] - before["study_text_history"],
    )


def content_hash(record: StudyPage) -> str:
    """sha256 of what the page shows: the Contract 1 object minus parser bookkeeping."""
    data = record.to_json()
    for key in _HASH_EXCLUDED:
        data.pop(key)
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _candidates(pages: Iterable[LoadItem], observed_at: datetime) -> tuple[list[_Candidate], int]:
    """Study pages with a resolvable id, one per (study, fetch time); the last one wins a tie."""
    by_visit: dict[tuple[str, datetime], _Candidate] = {}
    skipped = 0
    for item in pages:
        candidate = _candidate(item, observed_at)
        if candidate is None:
            skipped += 1
            continue
        by_visit[(candidate.study_id, candidate.seen_at)] = candidate
    return list(by_visit.values()), skipped


def _candidate(item: LoadItem, observed_at: datetime) -> _Candidate | None:
    page = item.page
    if page.page_kind != "study":
        return None
    url = page.url
    if url is None and item.fetched_url:
        url = canonicalize(item.fetched_url)
    study_id = page.study_id or study_id_from_url(url)
    if study_id is None:
        return None
    seen_at = item.fetched_at if item.fetched_at is not None else observed_at
    _require_aware(seen_at, "fetched_at")
    record = dataclasses.replace(page, url=url, study_id=study_id)
    return _Candidate(record=record, seen_at=seen_at.astimezone(UTC))


def _latest_per_study(visits: Iterable[_Candidate]) -> dict[str, _Candidate]:
    latest: dict[str, _Candidate] = {}
    for visit in visits:
        held = latest.get(visit.study_id)
        if held is None or visit.seen_at >= held.seen_at:
            latest[visit.study_id] = visit
    return latest


@dataclass(frozen=True, slots=True)
class _Stored:
    content_hash: str
    last_seen_at: datetime
    text: tuple[str | None, ...]  # what search indexes: title, tldr, summary


def _stored_versions(con: duckdb.DuckDBPyConnection, study_ids: list[str]) -> dict[str, _Stored]:
    rows = con.execute(
        "SELECT study_id, content_hash, last_seen_at, title, tldr, summary FROM studies"
        " WHERE study_id IN (SELECT unnest(?::VARCHAR[]))",
        [study_ids],
    ).fetchall()
    return {
        row[0]: _Stored(content_hash=row[1], last_seen_at=row[2], text=tuple(row[3:]))
        for row in rows
    }


def _searched_text(record: StudyPage) -> tuple[str | None, ...]:
    return (record.title, record.tldr, record.summary)


def _keep_last_good(
    con: duckdb.DuckDBPyConnection,
    latest: dict[str, _Candidate],
    stored: Mapping[str, _Stored],
    fields: Collection[str],
) -> dict[str, _Candidate]:
    """Fill empty protected fields of each new record from the stored one."""
    previous = read_studies(con, [sid for sid in latest if sid in stored])
    return {
        study_id: _with_protected(candidate, previous.get(study_id), fields)
        for study_id, candidate in latest.items()
    }


def _with_protected(
    candidate: _Candidate, old: StudyPage | None, fields: Collection[str]
) -> _Candidate:
    if old is None:
        return candidate
    return dataclasses.replace(candidate, record=_merge_protected(candidate.record, old, fields))


def _merge_protected(new: StudyPage, old: StudyPage, fields: Collection[str]) -> StudyPage:
    kept = {
        name: getattr(old, name)
        for name in fields
        if _is_empty(getattr(new, name)) and not _is_empty(getattr(old, name))
    }
    return dataclasses.replace(new, **kept) if kept else new


def _classify(
    candidates: Iterable[_Candidate], stored: Mapping[str, _Stored], *, reparse: bool = False
) -> tuple[list[_Candidate], list[_Candidate], list[_Candidate], list[_Candidate]]:
    """Split into new, changed, unchanged and stale (older than what is stored)."""
    new, changed, unchanged, stale = [], [], [], []
    for candidate in candidates:
        held = stored.get(candidate.study_id)
        if held is None:
            new.append(candidate)
        elif candidate.seen_at < held.last_seen_at and not reparse:
            stale.append(candidate)
        elif content_hash(candidate.record) != held.content_hash:
            changed.append(candidate)
        else:
            unchanged.append(candidate)
    return new, changed, unchanged, stale


# --- staging: records → Arrow ------------------------------------------------------------------
_TS = pa.timestamp("us", tz="UTC")
_SECTION_FIELDS = (
    ("heading", pa.string()),
    ("shown", pa.int64()),
    ("total", pa.int64()),
    ("total_text", pa.string()),
)
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
            for name, kind in _SECTION_FIELDS
        ],
        ("page_kind", pa.string()),
        ("parser_version", pa.string()),
        ("warnings", pa.list_(pa.string())),
        ("content_hash", pa.string()),
        ("first_seen_at", _TS),
        ("last_seen_at", _TS),
        ("last_changed_at", _TS),
        ("removed_at", _TS),
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
    ]
)
POST_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("category", pa.string()),
        ("summary", pa.string()),
        ("first_seen_at", _TS),
        ("last_seen_at", _TS),
    ]
)
STUDY_OBSERVATION_SCHEMA = pa.schema(
    [
        ("study_id", pa.string()),
        ("observed_at", _TS),
        *[
            (f"{prefix}_{name}", pa.int64())
            for prefix in SECTION_PREFIX.values()
            for name in ("shown", "total")
        ],
        ("run_id", pa.int64()),
        ("not_modified", pa.bool_()),
    ]
)
POST_OBSERVATION_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("observed_at", _TS),
        ("upvotes", pa.int64()),
        ("age_text", pa.string()),
        ("study_id", pa.string()),
        ("run_id", pa.int64()),
        ("not_modified", pa.bool_()),
    ]
)


def _stage_tables(
    visits: Sequence[_Candidate],
    current: Sequence[_Candidate],
    replaced: Sequence[_Candidate],
    reindexed: Sequence[_Candidate],
    run_id: int | None,
) -> dict[str, pa.Table]:
    """The batch as Arrow tables, named as the SQL in `_write_staged` reads them.

    `visits` (every visit, stale ones too) feed the history; `current` (new, changed, unchanged)
    the studies rows; `replaced` (new, changed) the child lists; `reindexed` the search index.
    """
    return {
        "stage_studies": _table(STUDY_SCHEMA, (_study_row(c, run_id) for c in current)),
        "stage_replaced": _ids_table(replaced),
        "stage_reindexed": _ids_table(reindexed),
        "stage_authors": _table(AUTHOR_SCHEMA, _author_rows(replaced)),
        "stage_cited": _table(CITED_SCHEMA, _entry_rows(replaced, "cited_research", "cited")),
        "stage_related": _table(
            RELATED_SCHEMA, _entry_rows(replaced, "related_research", "related")
        ),
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
    return pa.Table.from_pylist(list(rows), schema=schema)


def _ids_table(candidates: Sequence[_Candidate]) -> pa.Table:
    return pa.table({"study_id": pa.array([c.study_id for c in candidates], pa.string())})


def _study_row(candidate: _Candidate, run_id: int | None) -> dict[str, Any]:
    record = candidate.record
    row: dict[str, Any] = {
        "study_id": candidate.study_id,
        "url": record.url,
        "title": record.title,
        "published": month_to_date(record.published),
        "venue": record.venue,
        "tldr": record.tldr,
        "summary": record.summary,
        "image_url": record.image_url,
        "source_url": record.source_url,
        "source_host": record.source_host,
        "discussion_url": record.discussion_url,
        "sections": [key for key in SECTION_KEYS if key in record.sections],
        "page_kind": record.page_kind,
        "parser_version": record.parser_version,
        "warnings": list(_stored_warnings(record)),
        "content_hash": content_hash(record),
        "first_seen_at": candidate.seen_at,
        "last_seen_at": candidate.seen_at,
        "last_changed_at": candidate.seen_at,
        "removed_at": None,
        "first_run_id": run_id,
        "last_changed_run_id": run_id,
    }
    for key, prefix in SECTION_PREFIX.items():
        section = record.sections.get(key, Section())
        for name, _ in _SECTION_FIELDS:
            row[f"{prefix}_{name}"] = getattr(section, name)
    return row


def _stored_warnings(record: StudyPage) -> tuple[str, ...]:
    """The record's warnings, plus one per month the warehouse cannot store as a date."""
    months = [("published", record.published)]
    for key in ("cited_research", "related_research"):
        entries: tuple[ResearchEntry, ...] = getattr(record, key)
        months += [(f"{key}[{i}].published", e.published) for i, e in enumerate(entries)]
    extra = [
        f"{where} {text!r} is not YYYY-MM: stored as null"
        for where, text in months
        if text is not None and month_to_date(text) is None
    ]
    return (*record.warnings, *extra)


def _author_rows(candidates: Iterable[_Candidate]) -> Iterator[dict[str, Any]]:
    for c in candidates:
        for position, name in enumerate(c.record.authors):
            yield {"study_id": c.study_id, "position": position, "name": name}


def _entry_rows(
    candidates: Iterable[_Candidate], key: str, prefix: str
) -> Iterator[dict[str, Any]]:
    for c in candidates:
        entries: tuple[ResearchEntry, ...] = getattr(c.record, key)
        for position, entry in enumerate(entries):
            yield {
                "study_id": c.study_id,
                "position": position,
                f"{prefix}_study_id": entry.study_id,
                f"{prefix}_url": entry.url,
                "title": entry.title,
                "citations": entry.citations,
                "published": month_to_date(entry.published),
                "venue": entry.venue,
                "tldr": entry.tldr,
            }


def _card_rows(candidates: Iterable[_Candidate]) -> Iterator[dict[str, Any]]:
    for c in candidates:
        for position, post in enumerate(c.record.community_posts):
            yield {"study_id": c.study_id, "position": position, **_post_fields(post)}


def _post_fields(post: CommunityPost) -> dict[str, Any]:
    return {
        "post_id": post.post_id,
        "url": post.url,
        "title": post.title,
        "category": post.category,
        "upvotes": post.upvotes,
        "age_text": post.age_text,
        "summary": post.summary,
    }


def _post_rows(visits: Iterable[_Candidate]) -> Iterator[dict[str, Any]]:
    """One row per post: newest card's values, older cards filling its gaps."""
    merged: dict[str, dict[str, Any]] = {}
    for visit in sorted(visits, key=lambda v: v.seen_at, reverse=True):
        for post in visit.record.community_posts:
            if post.post_id is None:
                continue
            row = merged.setdefault(
                post.post_id, {"post_id": post.post_id, "last_seen_at": visit.seen_at}
            )
            for name in ("url", "title", "category", "summary"):
                if row.get(name) is None:
                    row[name] = getattr(post, name)
            row["first_seen_at"] = visit.seen_at
    return iter(merged.values())


def _study_observation_row(visit: _Candidate, run_id: int | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "study_id": visit.study_id,
        "observed_at": visit.seen_at,
        "run_id": run_id,
        "not_modified": False,
    }
    for key, prefix in SECTION_PREFIX.items():
        section = visit.record.sections.get(key, Section())
        row[f"{prefix}_shown"] = section.shown
        row[f"{prefix}_total"] = section.total
    return row


def _post_observation_rows(
    visits: Iterable[_Candidate], run_id: int | None
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
                    "post_id": post.post_id,
                    "observed_at": visit.seen_at,
                    "upvotes": post.upvotes,
                    "age_text": post.age_text,
                    "study_id": visit.study_id,
                    "run_id": run_id,
                    "not_modified": False,
                },
            )
    return iter(rows.values())


# --- writing: staged Arrow → tables ------------------------------------------------------------
_STUDY_CONTENT_COLUMNS = tuple(
    name
    for name in STUDY_SCHEMA.names
    if name
    not in {
        "study_id",
        "first_seen_at",
        "last_seen_at",
        "last_changed_at",
        "removed_at",
        "first_run_id",
        "last_changed_run_id",
    }
)
_UPSERT_STUDIES = f"""
INSERT INTO studies BY NAME SELECT * FROM stage_studies
ON CONFLICT (study_id) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in _STUDY_CONTENT_COLUMNS)},
    first_seen_at = least(studies.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(studies.last_seen_at, excluded.last_seen_at),
    last_changed_at = CASE WHEN studies.content_hash = excluded.content_hash
        THEN studies.last_changed_at ELSE excluded.last_changed_at END,
    last_changed_run_id = CASE WHEN studies.content_hash = excluded.content_hash
        THEN studies.last_changed_run_id ELSE excluded.last_changed_run_id END,
    removed_at = CASE WHEN studies.removed_at <= excluded.last_seen_at
        THEN NULL ELSE studies.removed_at END
"""
# Text values before and after, for every staged study whose stored value differs. Runs before
# the upsert, while `studies` still holds the old values.
_APPEND_TEXT_HISTORY = """
INSERT INTO study_text_history
SELECT n.study_id, f.field, f.old_value, f.new_value, n.last_seen_at, ?
FROM stage_studies n JOIN studies s ON s.study_id = n.study_id AND s.content_hash <> n.content_hash,
LATERAL (VALUES
    ('title', s.title, n.title),
    ('tldr', s.tldr, n.tldr),
    ('summary', s.summary, n.summary),
    ('venue', s.venue, n.venue),
    ('published', strftime(s.published, '%Y-%m'), strftime(n.published, '%Y-%m')),
    ('url', s.url, n.url)
) AS f(field, old_value, new_value)
WHERE f.old_value IS DISTINCT FROM f.new_value
ON CONFLICT DO NOTHING
"""
_CHILD_TABLES = (
    ("study_authors", "stage_authors"),
    ("cited_research", "stage_cited"),
    ("related_research", "stage_related"),
    ("study_community_posts", "stage_cards"),
)
_POST_TEXT_COLUMNS = ("url", "title", "category", "summary")
# Newer cards win for values they show; an older card only fills what is missing.
_UPSERT_POSTS = f"""
INSERT INTO community_posts BY NAME SELECT * FROM stage_posts
ON CONFLICT (post_id) DO UPDATE SET
    {
    ", ".join(
        f"{name} = CASE WHEN excluded.last_seen_at >= community_posts.last_seen_at"
        f" THEN coalesce(excluded.{name}, community_posts.{name})"
        f" ELSE coalesce(community_posts.{name}, excluded.{name}) END"
        for name in _POST_TEXT_COLUMNS
    )
},
    first_seen_at = least(community_posts.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(community_posts.last_seen_at, excluded.last_seen_at)
"""
_STUDY_MEASURES = tuple(
    f"{prefix}_{name}" for prefix in SECTION_PREFIX.values() for name in ("shown", "total")
)
# A replay rewrites the measured values under the same key (a reparse may correct them); the
# run that first saw the visit stays recorded.
_UPSERT_STUDY_OBSERVATIONS = f"""
INSERT INTO study_observations BY NAME SELECT * FROM stage_study_observations
ON CONFLICT (study_id, observed_at) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in _STUDY_MEASURES)}
"""
_UPSERT_POST_OBSERVATIONS = """
INSERT INTO community_post_observations BY NAME SELECT * FROM stage_post_observations
ON CONFLICT (post_id, observed_at) DO UPDATE SET
    upvotes = excluded.upvotes, age_text = excluded.age_text
"""
# The search index of studies whose title, TLDR or summary changed, tokenised by the same
# macro the query side uses. The tables have no primary key (migration 004): deleting a study's
# rows before inserting them, in the batch's transaction, is what keeps them unique.
# The studies are filtered before the LATERAL: with the filter after it, DuckDB decorrelates the
# LATERAL into a hash join over the texts of every study in the warehouse (~250 MB at 50,000).
_REINDEX_TERMS = """
DELETE FROM study_terms WHERE study_id IN (SELECT study_id FROM stage_reindexed);
DELETE FROM study_field_lengths WHERE study_id IN (SELECT study_id FROM stage_reindexed);
INSERT INTO study_terms
SELECT study_id, field, term, count(*)::INTEGER
FROM (
    SELECT study_id, field, unnest(search_tokens(text)) AS term
    FROM (
        SELECT study_id, title, tldr, summary FROM studies
        WHERE study_id IN (SELECT study_id FROM stage_reindexed)
    )
    CROSS JOIN LATERAL (VALUES ('title', title), ('tldr', tldr), ('summary', summary))
        AS f(field, text)
)
GROUP BY ALL;
INSERT INTO study_field_lengths
SELECT study_id, field, sum(tf)::INTEGER FROM study_terms
WHERE study_id IN (SELECT study_id FROM stage_reindexed)
GROUP BY ALL;
"""


def _write_staged(
    con: duckdb.DuckDBPyConnection,
    run_id: int | None,
    *,
    changed: bool,
    replace: bool,
    reindex: bool,
) -> None:
    """Run the batch's statements; steps with nothing staged are skipped (they would scan)."""
    if changed:  # only a stored study whose hash changed has earlier text to keep
        con.execute(_APPEND_TEXT_HISTORY, [run_id])
    con.execute(_UPSERT_STUDIES)
    if replace:
        for table, stage in _CHILD_TABLES:
            con.execute(
                f"DELETE FROM {table} WHERE study_id IN (SELECT study_id FROM stage_replaced)"
            )
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {stage}")
    con.execute(_UPSERT_POSTS)
    con.execute(_UPSERT_STUDY_OBSERVATIONS)
    con.execute(_UPSERT_POST_OBSERVATIONS)
    if reindex:
        con.execute(_REINDEX_TERMS)


_COUNTED_TABLES = (
    "study_observations",
    "community_post_observations",
    "community_posts",
    "study_text_history",
)


def _row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in _COUNTED_TABLES)
    return {name: int(count) for name, count in con.execute(query).fetchall()}


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN .. COMMIT; any failure rolls the whole batch back."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise LoadError(f"batch not loaded: {_first_line(exc)}") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# --- visits without a new record ---------------------------------------------------------------
_TOUCH_STUDIES = """
UPDATE studies SET
    last_seen_at = greatest(last_seen_at, $at),
    removed_at = CASE WHEN removed_at <= $at THEN NULL ELSE removed_at END
WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))
"""
_CARRY_STUDY_OBSERVATIONS = f"""
INSERT INTO study_observations BY NAME
SELECT study_id, $at AS observed_at, {", ".join(_STUDY_MEASURES)},
       $run_id AS run_id, true AS not_modified
FROM studies WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))
ON CONFLICT DO NOTHING
"""
_CARRY_POST_OBSERVATIONS = """
INSERT INTO community_post_observations BY NAME
SELECT post_id, $at AS observed_at, upvotes, age_text, study_id,
       $run_id AS run_id, true AS not_modified
FROM study_community_posts
WHERE study_id IN (SELECT unnest($ids::VARCHAR[])) AND post_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY study_id, position) = 1
ON CONFLICT DO NOTHING
"""
_TOUCH_POSTS = """
UPDATE community_posts SET last_seen_at = greatest(last_seen_at, $at)
WHERE post_id IN (
    SELECT post_id FROM study_community_posts WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))
)
"""


def touch_unchanged(
    con: duckdb.DuckDBPyConnection,
    study_ids_or_urls: Iterable[str],
    at: datetime,
    *,
    run_id: int | None = None,
) -> int:
    """Record visits that answered 304 Not Modified. Returns the number of studies touched.

    A 304 says the page is byte-for-byte what we stored, so its counts, upvotes and ages are the
    stored ones: they are appended as observations at `at` (flagged `not_modified`), so every
    visit is a point in the history. `last_seen_at` moves; nothing else in `studies` changes.
    """
    _require_aware(at, "at")
    ids = _study_ids(study_ids_or_urls)
    params = {"at": at.astimezone(UTC), "ids": ids}
    with _transaction(con):
        touched = _count(con.execute(_TOUCH_STUDIES, params))
        con.execute(_CARRY_STUDY_OBSERVATIONS, {**params, "run_id": run_id})
        con.execute(_CARRY_POST_OBSERVATIONS, {**params, "run_id": run_id})
        con.execute(_TOUCH_POSTS, params)
    return touched


def mark_removed(
    con: duckdb.DuckDBPyConnection, study_ids_or_urls: Iterable[str], at: datetime
) -> int:
    """Set `removed_at` of studies whose page answered 404/410. Returns how many were newly marked.

    Rows are never deleted. A study already marked keeps its first removal time; one seen after
    `at` is left alone.
    """
    _require_aware(at, "at")
    cursor = con.execute(
        "UPDATE studies SET removed_at = $at"
        " WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))"
        " AND removed_at IS NULL AND last_seen_at <= $at",
        {"at": at.astimezone(UTC), "ids": _study_ids(study_ids_or_urls)},
    )
    return _count(cursor)


def _study_ids(values: Iterable[str]) -> list[str]:
    """Study ids, given ids or study page URLs (a URL without an id is ignored)."""
    ids = []
    for value in values:
        study_id = study_id_from_url(canonicalize(value)) if "/" in value else value
        if study_id:
            ids.append(study_id)
    return ids


# --- runs and coverage -------------------------------------------------------------------------
def start_run(
    con: duckdb.DuckDBPyConnection,
    *,
    started_at: datetime,
    kind: RunKind = "crawl",
    base_url: str | None = None,
    parser_version: str | None = None,
    flow_run_id: str | None = None,
) -> int:
    """Open a `crawl_runs` row; returns its run_id."""
    _require_aware(started_at, "started_at")
    row = con.execute(
        "INSERT INTO crawl_runs (started_at, kind, base_url, parser_version, flow_run_id)"
        " VALUES (?, ?, ?, ?, ?) RETURNING run_id",
        [started_at.astimezone(UTC), kind, base_url, parser_version, flow_run_id],
    ).fetchone()
    assert row is not None  # INSERT .. RETURNING of one row
    return int(row[0])


def close_interrupted_runs(con: duckdb.DuckDBPyConnection, finished_at: datetime) -> int:
    """Close the runs still marked running as failed; returns how many there were.

    Call it when a writer opens the file, before starting a run: DuckDB admits one writing
    process at a time, so a run still running then died with its process (SIGKILL, power loss)
    and would otherwise stay "running" for ever.
    """
    _require_aware(finished_at, "finished_at")
    cursor = con.execute(
        "UPDATE crawl_runs SET status = 'failed', finished_at = ?, error = ?"
        " WHERE status = 'running'",
        [finished_at.astimezone(UTC), INTERRUPTED_RUN],
    )
    return _count(cursor)


def finish_run(con: duckdb.DuckDBPyConnection, run_id: int, summary: RunSummary) -> None:
    """Close a run with its counts and status."""
    _require_aware(summary.finished_at, "finished_at")
    cursor = con.execute(
        "UPDATE crawl_runs SET finished_at = ?, status = ?, pages_fetched = ?, pages_changed = ?,"
        " pages_unchanged = ?, pages_failed = ?, pages_removed = ?, pages_new = ?,"
        " pages_not_modified = ?, requests = ?, bytes_received = ?, duration_s = ?,"
        " failure_reasons = ?, drifted_fields = ?, error = ? WHERE run_id = ?",
        [
            summary.finished_at.astimezone(UTC),
            summary.status,
            summary.pages_fetched,
            summary.pages_changed,
            summary.pages_unchanged,
            summary.pages_failed,
            summary.pages_removed,
            summary.pages_new,
            summary.pages_not_modified,
            summary.requests,
            summary.bytes_received,
            summary.duration_s,
            json.dumps(dict(summary.failure_reasons), sort_keys=True),
            ",".join(summary.drifted_fields) or None,
            summary.error,
            run_id,
        ],
    )
    if _count(cursor) != 1:
        raise LoadError(f"no crawl run {run_id}")


def field_coverage(pages: Iterable[StudyPage | LoadItem]) -> dict[str, float]:
    """Share of study pages (0..1) on which each Contract 1 field is non-null and non-empty.

    Empty when there is no study page: nothing to compare.
    """
    records = [p.page if isinstance(p, LoadItem) else p for p in pages]
    studies = [r for r in records if r.page_kind == "study"]
    if not studies:
        return {}
    return {
        name: sum(not _is_empty(getattr(r, name)) for r in studies) / len(studies)
        for name in COVERAGE_FIELDS
    }


_COVERAGE_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("field", pa.string()),
        ("coverage", pa.float64()),
        ("pages", pa.int64()),
    ]
)


def record_coverage(
    con: duckdb.DuckDBPyConnection, run_id: int, coverage: Mapping[str, float], pages: int
) -> None:
    """Store a run's field coverage (replacing what the run stored before)."""
    table = _table(
        _COVERAGE_SCHEMA,
        (
            {"run_id": run_id, "field": f, "coverage": c, "pages": pages}
            for f, c in coverage.items()
        ),
    )
    with registered(con, {"stage_coverage": table}):
        con.execute(
            "INSERT INTO run_field_coverage BY NAME SELECT * FROM stage_coverage"
            " ON CONFLICT (run_id, field) DO UPDATE SET"
            " coverage = excluded.coverage, pages = excluded.pages"
        )


def baseline_coverage(
    con: duckdb.DuckDBPyConnection,
    *,
    before_run: int | None = None,
    runs: int = DEFAULT_BASELINE_RUNS,
) -> dict[str, float]:
    """Mean coverage per field over the last `runs` completed runs (before `before_run`)."""
    rows = con.execute(
        """
        WITH recent AS (
            SELECT run_id FROM crawl_runs
            WHERE status = 'completed' AND ($before IS NULL OR run_id < $before)
              AND run_id IN (SELECT run_id FROM run_field_coverage)
            ORDER BY run_id DESC LIMIT $runs
        )
        SELECT field, avg(coverage) FROM run_field_coverage
        WHERE run_id IN (SELECT run_id FROM recent) GROUP BY field
        """,
        {"before": before_run, "runs": runs},
    ).fetchall()
    return {field: float(value) for field, value in rows}


def drifted_fields(
    current: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    max_drop: float = DEFAULT_MAX_COVERAGE_DROP,
) -> dict[str, tuple[float, float]]:
    """Fields whose coverage fell by more than `max_drop`: field -> (baseline, current)."""
    return {
        name: (baseline[name], value)
        for name, value in current.items()
        if name in baseline and baseline[name] - value > max_drop
    }


# --- reading records back ----------------------------------------------------------------------
def read_study(con: duckdb.DuckDBPyConnection, study_id: str) -> StudyPage | None:
    """The stored record of one study, as `load_pages` stored it; None when unknown."""
    return read_studies(con, [study_id]).get(study_id)


_READ_COLUMNS = (
    "study_id",
    "url",
    "page_kind",
    "title",
    "published",
    "venue",
    "image_url",
    "tldr",
    "summary",
    "discussion_url",
    "source_url",
    "source_host",
    "parser_version",
    "warnings",
    "sections",
    *[f"{prefix}_{name}" for prefix in SECTION_PREFIX.values() for name, _ in _SECTION_FIELDS],
)
_IN_IDS = "WHERE study_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY study_id, position"


def read_studies(con: duckdb.DuckDBPyConnection, study_ids: Iterable[str]) -> dict[str, StudyPage]:
    """Stored records by study id (unknown ids are absent)."""
    params = {"ids": list(study_ids)}
    rows = con.execute(
        f"SELECT {', '.join(_READ_COLUMNS)} FROM studies"
        " WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))",
        params,
    ).fetchall()
    authors = _grouped(con, f"SELECT study_id, name FROM study_authors {_IN_IDS}", params)
    cited = _grouped(
        con,
        "SELECT study_id, cited_url, cited_study_id, title, citations, published, venue, tldr"
        f" FROM cited_research {_IN_IDS}",
        params,
    )
    related = _grouped(
        con,
        "SELECT study_id, related_url, related_study_id, title, citations, published, venue,"
        f" tldr FROM related_research {_IN_IDS}",
        params,
    )
    cards = _grouped(
        con,
        "SELECT study_id, url, post_id, title, category, upvotes, age_text, summary"
        f" FROM study_community_posts {_IN_IDS}",
        params,
    )
    records = {}
    for row in rows:
        values = dict(zip(_READ_COLUMNS, row, strict=True))
        sid = values["study_id"]
        records[sid] = _record(
            values,
            authors=tuple(a[0] for a in authors.get(sid, [])),
            cited=tuple(_entry(e) for e in cited.get(sid, [])),
            related=tuple(_entry(e) for e in related.get(sid, [])),
            posts=tuple(_card(c) for c in cards.get(sid, [])),
        )
    return records


def _grouped(
    con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any]
) -> dict[str, list[tuple[Any, ...]]]:
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for row in con.execute(query, dict(params)).fetchall():
        groups.setdefault(row[0], []).append(tuple(row[1:]))
    return groups


def _record(
    values: Mapping[str, Any],
    *,
    authors: tuple[str, ...],
    cited: tuple[ResearchEntry, ...],
    related: tuple[ResearchEntry, ...],
    posts: tuple[CommunityPost, ...],
) -> StudyPage:
    sections: dict[SectionKey, Section] = {}
    for key in SECTION_KEYS:
        if key in values["sections"]:
            prefix = SECTION_PREFIX[key]
            sections[key] = Section(
                **{name: values[f"{prefix}_{name}"] for name, _ in _SECTION_FIELDS}
            )
    return StudyPage(
        url=values["url"],
        study_id=values["study_id"],
        page_kind=values["page_kind"],
        title=values["title"],
        published=date_to_month(values["published"]),
        venue=values["venue"],
        authors=authors,
        image_url=values["image_url"],
        tldr=values["tldr"],
        summary=values["summary"],
        discussion_url=values["discussion_url"],
        source_url=values["source_url"],
        source_host=values["source_host"],
        sections=sections,
        cited_research=cited,
        related_research=related,
        community_posts=posts,
        parser_version=values["parser_version"],
        warnings=tuple(values["warnings"]),
    )


def _entry(row: tuple[Any, ...]) -> ResearchEntry:
    url, study_id, title, citations, published, venue, tldr = row
    return ResearchEntry(
        url=url,
        study_id=study_id,
        title=title,
        citations=citations,
        published=date_to_month(published),
        venue=venue,
        tldr=tldr,
    )


def _card(row: tuple[Any, ...]) -> CommunityPost:
    url, post_id, title, category, upvotes, age_text, summary = row
    return CommunityPost(
        url=url,
        post_id=post_id,
        title=title,
        category=category,
        upvotes=upvotes,
        age_text=age_text,
        summary=summary,
    )


# --- small helpers -----------------------------------------------------------------------------
def month_to_date(text: str | None) -> date | None:
    """ "YYYY-MM" -> the first day of that month; None for anything else."""
    match = _MONTH.match(text) if text else None
    return date(int(match["year"]), int(match["month"]), 1) if match else None


def date_to_month(value: date | None) -> str | None:
    return f"{value.year:04d}-{value.month:02d}" if value is not None else None


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str | tuple | dict | list) and len(value) == 0)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
