"""Typed, frozen records: the only thing that crosses from parse to load.

A `StudyPage` is what one fetched page says, nothing more. Its JSON form is Contract 1 of
../shared/architecture.md (`scraper parse`); `to_json` / `from_json` are exact inverses, so a record
survives a round trip through JSON Lines, Parquet staging files or the warehouse unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

PageKind = Literal["study", "search", "learn", "error", "other"]
SectionKey = Literal["cited_research", "community_posts", "related_research"]
SECTION_KEYS: tuple[SectionKey, ...] = ("cited_research", "community_posts", "related_research")


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """A section's heading and its count line (`6 / 1000+ results`)."""

    heading: str | None = None
    shown: int | None = None
    total: int | None = None
    total_text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResearchEntry:
    """One entry of the cited or related research lists."""

    url: str | None = None
    study_id: str | None = None
    title: str | None = None
    citations: int | None = None
    published: str | None = None  # "YYYY-MM"
    venue: str | None = None
    tldr: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommunityPost:
    """One community post card under Related Community Posts."""

    url: str | None = None
    post_id: str | None = None
    title: str | None = None
    category: str | None = None
    upvotes: int | None = None
    age_text: str | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyPage:
    """Everything one study page shows. Missing parts are None (or empty) plus a warning."""

    url: str | None = None
    study_id: str | None = None
    page_kind: PageKind = "study"
    title: str | None = None
    published: str | None = None  # "YYYY-MM"
    venue: str | None = None
    authors: tuple[str, ...] = ()
    image_url: str | None = None
    tldr: str | None = None
    summary: str | None = None
    discussion_url: str | None = None
    source_url: str | None = None
    source_host: str | None = None
    sections: dict[SectionKey, Section] = field(default_factory=dict)
    cited_research: tuple[ResearchEntry, ...] = ()
    related_research: tuple[ResearchEntry, ...] = ()
    community_posts: tuple[CommunityPost, ...] = ()
    parser_version: str = ""
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The Contract 1 object (plain JSON types only)."""
        return {
            "url": self.url,
            "study_id": self.study_id,
            "page_kind": self.page_kind,
            "title": self.title,
            "published": self.published,
            "venue": self.venue,
            "authors": list(self.authors),
            "image_url": self.image_url,
            "tldr": self.tldr,
            "summary": self.summary,
            "discussion_url": self.discussion_url,
            "source_url": self.source_url,
            "source_host": self.source_host,
            "sections": {key: _section_json(s) for key, s in self.sections.items()},
            "cited_research": [_entry_json(e) for e in self.cited_research],
            "related_research": [_entry_json(e) for e in self.related_research],
            "community_posts": [_post_json(p) for p in self.community_posts],
            "parser_version": self.parser_version,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudyPage:
        """Inverse of `to_json`."""
        return cls(
            url=data["url"],
            study_id=data["study_id"],
            page_kind=data.get("page_kind", "study"),
            title=data["title"],
            published=data["published"],
            venue=data["venue"],
            authors=tuple(data["authors"]),
            image_url=data["image_url"],
            tldr=data["tldr"],
            summary=data["summary"],
            discussion_url=data["discussion_url"],
            source_url=data["source_url"],
            source_host=data["source_host"],
            sections={key: Section(**s) for key, s in data["sections"].items()},
            cited_research=tuple(ResearchEntry(**e) for e in data["cited_research"]),
            related_research=tuple(ResearchEntry(**e) for e in data["related_research"]),
            community_posts=tuple(CommunityPost(**p) for p in data["community_posts"]),
            parser_version=data["parser_version"],
            warnings=tuple(data["warnings"]),
        )


def _section_json(section: Section) -> dict[str, Any]:
    return {
        "heading": section.heading,
        "shown": section.shown,
        "total": section.total,
        "total_text": section.total_text,
    }


def _entry_json(entry: ResearchEntry) -> dict[str, Any]:
    return {
        "url": entry.url,
        "study_id": entry.study_id,
        "title": entry.title,
        "citations": entry.citations,
        "published": entry.published,
        "venue": entry.venue,
        "tldr": entry.tldr,
    }


def _post_json(post: CommunityPost) -> dict[str, Any]:
    return {
        "url": post.url,
        "post_id": post.post_id,
        "title": post.title,
        "category": post.category,
        "upvotes": post.upvotes,
        "age_text": post.age_text,
        "summary": post.summary,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadItem:
    """One parsed page and where and when it was fetched."""

    page: StudyPage
    fetched_url: str | None = None  # used as the study URL when the page names none
    fetched_at: datetime | None = None  # timezone-aware; default: the batch's observed_at
