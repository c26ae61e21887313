"""Ground truth: the `StudyPage` record a correct parser reads off a replica page.

It is computed from the same view the markups render, so it is exactly what the page shows.
URLs are absolute against the replica's base URL (`Replica.base_url`, which `ReplicaServer` sets
to `http://127.0.0.1:<port>` while it serves); `parser_version` is "" and `warnings` is ().
"""

from __future__ import annotations

import functools
from urllib.parse import urljoin

from replica import vocab
from replica.model import (
    CardView,
    EntryView,
    PlainView,
    SectionView,
    StudyView,
    YearMonth,
)
from scraper.records import CommunityPost, ResearchEntry, Section, SectionKey, StudyPage
from scraper.urls import canonicalize


@functools.lru_cache(maxsize=1 << 16)
def absolute(base_url: str, path: str) -> str:
    # Cached: a study is listed on many pages, and a 10,000-study world's truth canonicalises
    # ~150,000 links, most of them the same few thousand.
    return canonicalize(path, base_url)


def published(value: YearMonth | None) -> str | None:
    return f"{value[0]:04d}-{value[1]:02d}" if value else None


def study_truth(view: StudyView, base_url: str) -> StudyPage:
    discuss = next((link for link in view.links if link.kind == "discuss"), None)
    source = next((link for link in view.links if link.kind == "view"), None)
    return StudyPage(
        url=absolute(base_url, view.path),
        study_id=view.study_id,
        page_kind="study",
        title=view.title,
        published=published(view.published),
        venue=view.venue,
        authors=view.authors,
        image_url=urljoin(base_url, view.image_src) if view.image_src else None,
        tldr=view.tldr,
        summary=view.summary,
        discussion_url=absolute(base_url, discuss.href) if discuss and discuss.href else None,
        source_url=source.href if source else None,
        source_host=(source.host or None) if source else None,
        sections={s.key: section_truth(s) for s in view.sections},
        cited_research=_entries(view, "cited_research", base_url),
        related_research=_entries(view, "related_research", base_url),
        community_posts=tuple(
            card_truth(card, base_url) for s in view.sections for card in s.cards
        ),
    )


def section_truth(section: SectionView) -> Section:
    """Heading and count line as the parse JSON holds them (`1000+` → 1000, `NoResults` → 0)."""
    shown: int | None = section.shown
    total: int | None
    total_text: str | None
    if section.form == "none":
        shown = total = total_text = None
    elif section.form == "plus":
        total, total_text = vocab.LOWER_BOUND_TOTAL, vocab.LOWER_BOUND_TOKEN
    elif section.form == "blank":
        total = total_text = None
    elif section.form == "noresults":
        total, total_text = 0, vocab.NO_RESULTS_TOKEN
    else:
        total, total_text = section.total, str(section.total)
    return Section(heading=section.heading, shown=shown, total=total, total_text=total_text)


def _entries(view: StudyView, key: SectionKey, base_url: str) -> tuple[ResearchEntry, ...]:
    return tuple(
        entry_truth(entry, base_url) for s in view.sections if s.key == key for entry in s.entries
    )


def entry_truth(entry: EntryView, base_url: str) -> ResearchEntry:
    return ResearchEntry(
        url=absolute(base_url, entry.path),
        study_id=entry.study_id,
        title=entry.title,
        citations=entry.citations,
        published=published(entry.published),
        venue=entry.venue,
        tldr=entry.tldr,
    )


def card_truth(card: CardView, base_url: str) -> CommunityPost:
    return CommunityPost(
        url=absolute(base_url, card.path),
        post_id=card.post_id,
        title=card.title,
        category=card.category,
        upvotes=card.upvotes,
        age_text=card.age_text,
        summary=card.summary,
    )


def plain_truth(view: PlainView, base_url: str) -> StudyPage:
    """Pages that are not studies: only their kind and URL (`search`, `learn`, `other`, `error`)."""
    return StudyPage(url=absolute(base_url, view.path), page_kind=view.kind)
