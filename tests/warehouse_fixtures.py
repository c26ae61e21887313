"""Shared helpers of the warehouse tests: small records, fixed instants, table dumps, strategies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hypothesis import strategies as st

from scraper import db
from scraper.records import SECTION_KEYS, CommunityPost, LoadItem, ResearchEntry, Section, StudyPage

SITE = "https://tressless.com"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def memory_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    db.migrate(con)
    return con


def study(
    study_id: str = "Pgny", slug: str = "tofacitinib-for-alopecia", **changes: Any
) -> StudyPage:
    """A complete, plausible study record; `changes` override fields."""
    fields: dict[str, Any] = {
        "url": f"{SITE}/research/{slug}-{study_id}",
        "study_id": study_id,
        "title": "Systemic Tofacitinib Treatment in Pediatric Patients with Alopecia Areata",
        "published": "2024-01",
        "venue": "Dermatologic therapy",
        "authors": ("Eda Öksüm Solak", "Murat Borlu"),
        "image_url": f"{SITE}/images/{study_id}.png",
        "tldr": "Tofacitinib regrew hair in most children with resistant alopecia areata.",
        "summary": "A retrospective review of pediatric patients treated with oral tofacitinib.",
        "discussion_url": f"{SITE}/community/posts/tofacitinib-{study_id}x",
        "source_url": None,
        "source_host": None,
        "sections": {
            "cited_research": Section(
                heading="Research cited in this study", shown=1, total=14, total_text="14"
            ),
            "community_posts": Section(
                heading="Related Community Posts", shown=1, total=5, total_text="5"
            ),
            "related_research": Section(heading="Related Research", shown=1, total=1),
        },
        "cited_research": (
            ResearchEntry(
                url=f"{SITE}/research/jak-inhibitors-02xX",
                study_id="02xX",
                title="JAK inhibitors in alopecia",
                citations=12,
                published="2013-07",
                venue="Journal of Investigative Dermatology",
                tldr="JAK inhibition reverses alopecia areata in mice.",
            ),
        ),
        "related_research": (
            ResearchEntry(url=f"{SITE}/research/baricitinib-vK5", study_id="vK5", title="Bari"),
        ),
        "community_posts": (
            CommunityPost(
                url=f"{SITE}/community/posts/tofa-kids-abc123",
                post_id="abc123",
                title="Tofa for kids?",
                category="Chat",
                upvotes=36,
                age_text="1 month ago",
                summary="Parents compare notes.",
            ),
        ),
        "parser_version": "test-1",
        "warnings": (),
    }
    fields.update(changes)
    return StudyPage(**fields)


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> object:
    """The one value a query returns."""
    row = con.execute(query).fetchone()
    assert row is not None
    return row[0]


def items(*pages: StudyPage, at: datetime | None = None) -> list[LoadItem]:
    return [LoadItem(page=page, fetched_url=page.url, fetched_at=at) for page in pages]


def user_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY table_name"
    ).fetchall()
    return [row[0] for row in rows]


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every user table's rows, sorted: two dumps are equal when nothing changed."""
    return {
        table: sorted(con.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
        for table in user_tables(con)
        if table != "schema_migrations"
    }


# --- hypothesis strategies over scraper.records -------------------------------------------------
_text = st.text(max_size=30)  # hypothesis leaves out surrogates, which UTF-8 cannot hold
_maybe_text = st.none() | _text
_maybe_count = st.none() | st.integers(min_value=0, max_value=10**9)
_month = st.builds(
    lambda year, month: f"{year:04d}-{month:02d}",
    st.integers(min_value=1990, max_value=2030),
    st.integers(min_value=1, max_value=12),
)
study_ids = st.from_regex(r"[A-Za-z0-9]{3,4}", fullmatch=True)
sections = st.builds(
    Section, heading=_maybe_text, shown=_maybe_count, total=_maybe_count, total_text=_maybe_text
)
entries = st.builds(
    ResearchEntry,
    url=_maybe_text,
    study_id=st.none() | study_ids,
    title=_maybe_text,
    citations=_maybe_count,
    published=st.none() | _month,
    venue=_maybe_text,
    tldr=_maybe_text,
)
posts = st.builds(
    CommunityPost,
    url=_maybe_text,
    post_id=st.none() | st.from_regex(r"[a-z0-9]{6}", fullmatch=True),
    title=_maybe_text,
    category=_maybe_text,
    upvotes=_maybe_count,
    age_text=_maybe_text,
    summary=_maybe_text,
)


def _tuples(strategy: st.SearchStrategy[Any], size: int = 4) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(strategy, max_size=size).map(tuple)


study_pages = st.builds(
    StudyPage,
    url=st.none() | study_ids.map(lambda sid: f"{SITE}/research/some-slug-{sid}"),
    study_id=study_ids,
    title=_maybe_text,
    published=st.none() | _month,
    venue=_maybe_text,
    authors=_tuples(st.text(min_size=1, max_size=20), 5),
    image_url=_maybe_text,
    tldr=_maybe_text,
    summary=st.none() | st.text(max_size=200),
    discussion_url=_maybe_text,
    source_url=_maybe_text,
    source_host=_maybe_text,
    sections=st.dictionaries(st.sampled_from(SECTION_KEYS), sections, max_size=3),
    cited_research=_tuples(entries),
    related_research=_tuples(entries),
    community_posts=_tuples(posts),
    parser_version=st.text(max_size=10),
    warnings=_tuples(_text, 3),
)
