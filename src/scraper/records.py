"""Typed, frozen records: the only thing that crosses from parse to load.

A `StudyPage` is what one fetched page says, nothing more. Its JSON form is Contract 1, the
public record that `scraper parse` prints; `to_json` / `from_json` are exact inverses, so a record
survives a round trip through JSON Lines, Parquet staging files or the warehouse unchanged. Both
follow the dataclass fields in their order, so a new field needs no second list.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args, get_origin, get_type_hints

PageKind = Literal["study", "listing", "search", "learn", "error", "other"]
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
        plain: dict[str, Any] = _to_plain(self)
        return plain

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudyPage:
        """Inverse of `to_json`. A key that is absent takes the field's default."""
        record: StudyPage = _from_plain(cls, data)
        return record


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingEntry:
    """One study as a research listing shows it: `N citations, Month YYYY in “Venue” TLDR`."""

    position: int  # 0-based order on the listing page
    url: str | None = None
    study_id: str | None = None
    title: str | None = None
    citations: int | None = None
    published: str | None = None  # "YYYY-MM"
    venue: str | None = None
    tldr: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingPage:
    """One page of a research listing (`/search/research/<keyword>/<page>`): its entries and the
    page after it. Its JSON form is what `scraper parse` prints for a listing page."""

    url: str | None = None
    page_kind: PageKind = "listing"
    keyword: str | None = None
    page_number: int | None = None
    entries: tuple[ListingEntry, ...] = ()
    next_url: str | None = None  # the pager's next page; None on the last page
    parser_version: str = ""
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        plain: dict[str, Any] = _to_plain(self)
        return plain

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ListingPage:
        record: ListingPage = _from_plain(cls, data)
        return record

    def as_study_page(self) -> StudyPage:
        """The stand-in the study pipeline (drift, study loads) sees: not a study, so it is
        skipped there, while the listing itself travels beside it in `LoadItem.listing`."""
        return StudyPage(
            url=self.url,
            page_kind="listing",
            parser_version=self.parser_version,
            warnings=("not a study page: listing",),
        )


def _to_plain(value: Any) -> Any:
    """Records as JSON objects (keys in field order), tuples as arrays, the rest as it is.

    Not `dataclasses.asdict`: it keeps tuples as tuples, and the Contract 1 object is plain JSON.
    """
    if isinstance(value, _RECORD_TYPES):
        items = ((name, getattr(value, name)) for name in _FIELD_NAMES[type(value)])
        # scalars are most values: passing them as they are keeps this near a hand-written copy
        return {name: v if type(v) in _SCALARS else _to_plain(v) for name, v in items}
    if isinstance(value, tuple | list):
        return [_to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    return value


def _from_plain(kind: Any, value: Any) -> Any:
    """A JSON value as the annotated type `kind`: records from objects, tuples from arrays.

    Not pydantic's TypeAdapter (which Prefect installs): it validates and coerces, while a record
    read back must be exactly the one written, and it would be one more direct dependency.
    """
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return kind(
            **{
                name: value[name] if nested is None else _from_plain(nested, value[name])
                for name, nested in _field_types(kind)
                if name in value
            }
        )
    origin, args = get_origin(kind), get_args(kind)
    if origin is tuple:
        return tuple(_from_plain(args[0], item) for item in value)
    if origin is dict:
        return {key: _from_plain(args[1], item) for key, item in value.items()}
    return value


@functools.cache
def _field_types(kind: type) -> tuple[tuple[str, Any], ...]:
    """A record type's fields in order, each with its annotation when `_from_plain` has to
    convert it (records, tuples, dicts) and None when JSON holds it as it is (str, int, None)."""
    hints = get_type_hints(kind)
    return tuple((f.name, _nested(hints[f.name])) for f in dataclasses.fields(kind))


def _nested(kind: Any) -> Any:
    is_record = isinstance(kind, type) and dataclasses.is_dataclass(kind)
    return kind if is_record or get_origin(kind) in (tuple, dict) else None


_SCALARS = frozenset({str, int, float, bool, type(None)})
# The records inside a `StudyPage`'s JSON form, and their field names in order.
_RECORD_TYPES = (StudyPage, Section, ResearchEntry, CommunityPost, ListingPage, ListingEntry)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in _RECORD_TYPES
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadItem:
    """One parsed page and where and when it was fetched."""

    page: StudyPage
    fetched_url: str | None = None  # used as the study URL when the page names none
    fetched_at: datetime | None = None  # timezone-aware; default: the batch's observed_at
    listing: ListingPage | None = None  # set when the page is a research listing
