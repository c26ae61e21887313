"""Parsed pages -> DuckDB: the single writer's bulk, idempotent, history-keeping loads (Contract 3).

    WarehouseError (scraper.db)
     └── LoadError      a batch could not be written; its transaction was rolled back

A batch of `LoadItem`s becomes a handful of Arrow tables (`scraper.staging`) that are upserted in
ONE transaction:

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
- `load_pages(..., protect_fields=...)` keeps the last good value of fields whose extraction
  dropped (`scraper.drift`): an empty new value does not replace a stored non-empty one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from scraper.ages import estimate_age, settle
from scraper.db import (
    WarehouseError,
    affected_rows,
    first_line,
    registered,
    require_aware,
    transaction,
)
from scraper.drift import PROTECTABLE_FIELDS, merge_protected
from scraper.records import LoadItem, StudyPage
from scraper.staging import (
    POST_TEXT_COLUMNS,
    STUDY_MEASURES,
    STUDY_SCHEMA,
    Candidate,
    stage_tables,
)
from scraper.stored import read_post_ages, read_studies
from scraper.urls import canonicalize, study_id_from_url


class LoadError(WarehouseError):
    """A batch could not be written; nothing of it was kept."""


# Text fields whose earlier values are kept in `study_text_history`.
TEXT_HISTORY_FIELDS = ("title", "tldr", "summary", "venue", "published", "url")


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
    require_aware(observed_at, "observed_at")
    unknown = set(protect_fields) - PROTECTABLE_FIELDS
    if unknown:
        raise ValueError(f"cannot protect unknown fields: {sorted(unknown)}")
    visits, skipped = _candidates(pages, observed_at)
    latest = _latest_per_study(visits)
    if not visits:
        return LoadStats(skipped=skipped)
    with _batch_transaction(con):
        visits = _with_ages(con, visits)
        latest = _latest_per_study(visits)
        stored = _stored_versions(con, list(latest))
        if protect_fields:
            latest = _keep_last_good(con, latest, stored, protect_fields)
        new, changed, unchanged, stale = _classify(
            latest.values(), stored, run_id=run_id, reparse=reparse
        )
        # the search index only needs rebuilding where the searched text itself changed
        reindexed = new + [
            c for c in changed if _searched_text(c.record) != stored[c.study_id].text
        ]
        tables = stage_tables(visits, new + changed + unchanged, new + changed, reindexed, run_id)
        before = _row_counts(con)
        with registered(con, tables):
            _write_staged(
                con,
                run_id,
                changed=bool(changed),
                replace=bool(new or changed),
                reindex=bool(reindexed),
            )
            if run_id is not None and not reparse:  # a reparse is no visit
                con.execute(_TAKE_VISITS, {"run_id": run_id})
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


def _candidates(pages: Iterable[LoadItem], observed_at: datetime) -> tuple[list[Candidate], int]:
    """Study pages with a resolvable id, one per (study, fetch time); the last one wins a tie."""
    by_visit: dict[tuple[str, datetime], Candidate] = {}
    skipped = 0
    for item in pages:
        candidate = _candidate(item, observed_at)
        if candidate is None:
            skipped += 1
            continue
        by_visit[(candidate.study_id, candidate.seen_at)] = candidate
    return list(by_visit.values()), skipped


def _candidate(item: LoadItem, observed_at: datetime) -> Candidate | None:
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
    require_aware(seen_at, "fetched_at")
    record = dataclasses.replace(page, url=url, study_id=study_id)
    return Candidate(record=record, seen_at=seen_at.astimezone(UTC))


def _latest_per_study(visits: Iterable[Candidate]) -> dict[str, Candidate]:
    latest: dict[str, Candidate] = {}
    for visit in visits:
        held = latest.get(visit.study_id)
        if held is None or visit.seen_at >= held.seen_at:
            latest[visit.study_id] = visit
    return latest


def _with_ages(con: duckdb.DuckDBPyConnection, visits: list[Candidate]) -> list[Candidate]:
    """Each visit with its posts' estimated posting times (`scraper.ages`), in the same order.

    An estimate already held (the study's own card first, then the post's) is kept while the
    visit's text agrees with it, so "1 week ago" read a week later as "2 weeks ago" is the same
    value and the record's hash does not move. Earlier visits settle first, and a post shown on
    several pages of the batch gets one estimate.
    """
    post_ids = {p.post_id for v in visits for p in v.record.community_posts if p.post_id}
    if not post_ids:
        return visits
    held = read_post_ages(con, {v.study_id for v in visits}, post_ids)
    posts = dict(held.posts)
    settled: dict[int, Candidate] = {}
    for index in sorted(range(len(visits)), key=lambda i: visits[i].seen_at):
        visit = visits[index]
        ages = []
        for post in visit.record.community_posts:
            age = estimate_age(post.age_text, visit.seen_at)
            if post.post_id is not None:
                own = held.cards.get((visit.study_id, post.post_id))
                age = settle(age, (own, posts.get(post.post_id)))
                if age is not None:
                    posts[post.post_id] = age
            ages.append(age)
        settled[index] = dataclasses.replace(visit, ages=tuple(ages))
    return [settled[index] for index in range(len(visits))]


def signatures(
    con: duckdb.DuckDBPyConnection, pages: Iterable[LoadItem]
) -> dict[str, tuple[str, str]]:
    """Fetched URL -> the content hash now stored for the study the page was read into and the
    parser version that read it: what the frontier judges a study page's visit by
    (`schedule.Signature`). Pages that are not studies are absent."""
    by_url = {
        item.fetched_url: study_id
        for item in pages
        if item.fetched_url and item.page.page_kind == "study"
        if (study_id := item.page.study_id or study_id_from_url(canonicalize(item.fetched_url)))
    }
    rows = con.execute(
        "SELECT study_id, content_hash, parser_version FROM studies"
        " WHERE study_id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(set(by_url.values()))],
    ).fetchall()
    hashes = {study_id: (digest, version) for study_id, digest, version in rows}
    return {url: hashes[sid] for url, sid in by_url.items() if sid in hashes}


@dataclass(frozen=True, slots=True)
class _Stored:
    content_hash: str
    last_seen_at: datetime
    last_seen_run_id: int | None
    text: tuple[str | None, ...]  # what search indexes: title, tldr, summary


def _stored_versions(con: duckdb.DuckDBPyConnection, study_ids: list[str]) -> dict[str, _Stored]:
    rows = con.execute(
        "SELECT study_id, content_hash, last_seen_at, last_seen_run_id, title, tldr, summary"
        " FROM studies WHERE study_id IN (SELECT unnest(?::VARCHAR[]))",
        [study_ids],
    ).fetchall()
    return {
        row[0]: _Stored(
            content_hash=row[1], last_seen_at=row[2], last_seen_run_id=row[3], text=tuple(row[4:])
        )
        for row in rows
    }


def _searched_text(record: StudyPage) -> tuple[str | None, ...]:
    return (record.title, record.tldr, record.summary)


def _keep_last_good(
    con: duckdb.DuckDBPyConnection,
    latest: dict[str, Candidate],
    stored: Mapping[str, _Stored],
    fields: Collection[str],
) -> dict[str, Candidate]:
    """Fill empty protected fields of each new record from the stored one."""
    previous = read_studies(con, [sid for sid in latest if sid in stored])
    merged = {
        study_id: _with_protected(candidate, previous.get(study_id), fields)
        for study_id, candidate in latest.items()
    }
    return _with_kept_ages(con, merged)


def _with_kept_ages(
    con: duckdb.DuckDBPyConnection, latest: dict[str, Candidate]
) -> dict[str, Candidate]:
    """Post cards kept from the stored record keep their stored posting-time estimates too."""
    kept = {sid: c for sid, c in latest.items() if len(c.ages) != len(c.record.community_posts)}
    if not kept:
        return latest
    post_ids = {p.post_id for c in kept.values() for p in c.record.community_posts if p.post_id}
    cards = read_post_ages(con, kept, post_ids).cards
    return latest | {
        sid: dataclasses.replace(
            c,
            ages=tuple(cards.get((sid, p.post_id or "")) for p in c.record.community_posts),
        )
        for sid, c in kept.items()
    }


def _with_protected(
    candidate: Candidate, old: StudyPage | None, fields: Collection[str]
) -> Candidate:
    if old is None:
        return candidate
    return dataclasses.replace(candidate, record=merge_protected(candidate.record, old, fields))


def _classify(
    candidates: Iterable[Candidate],
    stored: Mapping[str, _Stored],
    *,
    run_id: int | None = None,
    reparse: bool = False,
) -> tuple[list[Candidate], list[Candidate], list[Candidate], list[Candidate]]:
    """Split into new, changed, unchanged and stale (older than what is stored)."""
    new, changed, unchanged, stale = [], [], [], []
    for candidate in candidates:
        held = stored.get(candidate.study_id)
        if held is None:
            new.append(candidate)
        elif not reparse and _older(
            (run_id, candidate.seen_at), (held.last_seen_run_id, held.last_seen_at)
        ):
            stale.append(candidate)
        elif candidate.content_hash != held.content_hash:
            changed.append(candidate)
        else:
            unchanged.append(candidate)
    return new, changed, unchanged, stale


# --- the order of visits -----------------------------------------------------------------------
# Visits are ordered by their run first (run ids come from a sequence, so a later run is later
# whatever the clock says) and by their time within a run or where a run is unknown. A visit of
# a run beats a stored one of no run: rows without a run id were loaded outside any crawl run.
# The frontier records every visit it is given, so the loader must take every visit of the
# current run that is not older than what it holds: both sides then agree.
def _older(visit: tuple[int | None, datetime], held: tuple[int | None, datetime]) -> bool:
    """Whether `visit` (run id, time) came before `held` in crawl order."""
    (run, at), (held_run, held_at) = visit, held
    if run is not None and held_run is None:
        return False
    if run is not None and held_run is not None and run != held_run:
        return run < held_run
    return at < held_at


def _not_older_sql(run: str, at: str, held_run: str, held_at: str) -> str:
    """SQL for `not _older((run, at), (held_run, held_at))`."""
    return (
        f"(CASE WHEN {run} IS NOT NULL AND {held_run} IS NULL THEN true"
        f" WHEN {run} IS NOT NULL AND {run} <> {held_run} THEN {run} > {held_run}"
        f" ELSE {at} >= {held_at} END)"
    )


# After the upsert of a crawl's batch: the staged studies are this run's visits, none older than
# what was stored, so they are the latest visits even where the clock stood behind the stored
# `last_seen_at`; a removal they come after is lifted.
_STAGED_AFTER_REMOVAL = _not_older_sql(
    "$run_id", "s.last_seen_at", "studies.removed_run_id", "studies.removed_at"
)
_TAKE_VISITS = f"""
UPDATE studies SET
    last_seen_at = s.last_seen_at,
    last_seen_run_id = $run_id,
    removed_at = CASE WHEN {_STAGED_AFTER_REMOVAL} THEN NULL ELSE studies.removed_at END,
    removed_run_id = CASE WHEN {_STAGED_AFTER_REMOVAL} THEN NULL ELSE studies.removed_run_id END
FROM stage_studies s WHERE studies.study_id = s.study_id
"""


# --- writing: staged Arrow → tables ------------------------------------------------------------
def _as_text(table: str, column: str) -> str:
    """A text-history column as history keeps it: a month as "YYYY-MM", like Contract 1."""
    return f"strftime({table}.{column}, '%Y-%m')" if column == "published" else f"{table}.{column}"


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
_TEXT_HISTORY_VALUES = ",\n    ".join(
    f"('{name}', {_as_text('s', name)}, {_as_text('n', name)})" for name in TEXT_HISTORY_FIELDS
)
_APPEND_TEXT_HISTORY = f"""
INSERT INTO study_text_history
SELECT n.study_id, f.field, f.old_value, f.new_value, n.last_seen_at, ?
FROM stage_studies n JOIN studies s ON s.study_id = n.study_id AND s.content_hash <> n.content_hash,
LATERAL (VALUES
    {_TEXT_HISTORY_VALUES}
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
# Newer cards win for values they show; an older card only fills what is missing.
_UPSERT_POSTS = f"""
INSERT INTO community_posts BY NAME SELECT * FROM stage_posts
ON CONFLICT (post_id) DO UPDATE SET
    {
    ", ".join(
        f"{name} = CASE WHEN excluded.last_seen_at >= community_posts.last_seen_at"
        f" THEN coalesce(excluded.{name}, community_posts.{name})"
        f" ELSE coalesce(community_posts.{name}, excluded.{name}) END"
        for name in POST_TEXT_COLUMNS
    )
},
    {
    ", ".join(
        f"{name} = CASE WHEN excluded.posted_at_estimate IS NOT NULL"
        " AND (community_posts.posted_at_estimate IS NULL"
        " OR excluded.last_seen_at >= community_posts.last_seen_at)"
        f" THEN excluded.{name} ELSE community_posts.{name} END"
        for name in ("posted_at_estimate", "posted_at_precision")
    )
},
    first_seen_at = least(community_posts.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(community_posts.last_seen_at, excluded.last_seen_at)
"""
# A replay rewrites the measured values under the same key (a reparse may correct them); the
# run that first saw the visit stays recorded.
_UPSERT_STUDY_OBSERVATIONS = f"""
INSERT INTO study_observations BY NAME SELECT * FROM stage_study_observations
ON CONFLICT (study_id, observed_at) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in STUDY_MEASURES)}
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
def _batch_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction for the batch; a database error rolls it all back and is a LoadError."""
    with transaction(con):
        try:
            yield
        except duckdb.Error as exc:
            raise LoadError(f"batch not loaded: {first_line(exc)}") from exc


# --- visits without a new record ---------------------------------------------------------------
_SEEN_AFTER_REMOVAL = _not_older_sql("$run_id", "$at", "removed_run_id", "removed_at")
_SEEN_AFTER_LAST = _not_older_sql("$run_id", "$at", "last_seen_run_id", "last_seen_at")
_TOUCH_STUDIES = f"""
UPDATE studies SET
    last_seen_at = CASE WHEN {_SEEN_AFTER_LAST} THEN $at ELSE last_seen_at END,
    last_seen_run_id = CASE WHEN {_SEEN_AFTER_LAST}
        THEN coalesce($run_id, last_seen_run_id) ELSE last_seen_run_id END,
    removed_at = CASE WHEN {_SEEN_AFTER_REMOVAL} THEN NULL ELSE removed_at END,
    removed_run_id = CASE WHEN {_SEEN_AFTER_REMOVAL} THEN NULL ELSE removed_run_id END
WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))
"""
_CARRY_STUDY_OBSERVATIONS = f"""
INSERT INTO study_observations BY NAME
SELECT study_id, $at AS observed_at, {", ".join(STUDY_MEASURES)},
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
    require_aware(at, "at")
    ids = _study_ids(study_ids_or_urls)
    params = {"at": at.astimezone(UTC), "ids": ids}
    with _batch_transaction(con):
        touched = affected_rows(con.execute(_TOUCH_STUDIES, {**params, "run_id": run_id}))
        con.execute(_CARRY_STUDY_OBSERVATIONS, {**params, "run_id": run_id})
        con.execute(_CARRY_POST_OBSERVATIONS, {**params, "run_id": run_id})
        con.execute(_TOUCH_POSTS, params)
    return touched


def mark_removed(
    con: duckdb.DuckDBPyConnection,
    study_ids_or_urls: Iterable[str],
    at: datetime,
    *,
    run_id: int | None = None,
) -> int:
    """Set `removed_at` of studies whose page answered 404/410. Returns how many were newly marked.

    Rows are never deleted. A study already marked keeps its first removal time; one seen after
    the removal (in crawl order: a later run, or later in the same run) is left alone.
    """
    require_aware(at, "at")
    cursor = con.execute(
        "UPDATE studies SET removed_at = $at, removed_run_id = $run_id"
        " WHERE study_id IN (SELECT unnest($ids::VARCHAR[]))"
        f" AND removed_at IS NULL AND {_SEEN_AFTER_LAST}",
        {"at": at.astimezone(UTC), "ids": _study_ids(study_ids_or_urls), "run_id": run_id},
    )
    return affected_rows(cursor)


def _study_ids(values: Iterable[str]) -> list[str]:
    """Study ids, given ids or study page URLs (a URL without an id is ignored)."""
    ids = []
    for value in values:
        study_id = study_id_from_url(canonicalize(value)) if "/" in value else value
        if study_id:
            ids.append(study_id)
    return ids
