"""The replica's two layers of data.

*World state* (`Study`, `Post`, `SectionSpec`) is mutable and lives in `world.py`: what the site's
database would hold, plus the page's presentation choices (generation, count-line form, which
heading is missing). *Views* (`StudyView`, `PlainView`, ...) are frozen snapshots of what one page
shows right now; the markups render a view and the ground truth is read off the same view, so the
two can never disagree. Two equal views render to identical bytes, which is how an unchanged page
keeps its ETag across `advance()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from scraper.records import SectionKey

Generation = Literal["old", "new"]
# How a section's count line reads: `num` = `N / T results` (T may equal N; `0 / 0 results` is
# followed by `— no results`), `plus` = `N / 1000+ results`, `blank` = `N / results`,
# `noresults` = `N / NoResults`, `none` = no count line at all.
CountForm = Literal["num", "plus", "blank", "noresults", "none"]
DateLine = Literal["full", "date", "none"]
# The "View this study on" link: with a host, with an empty host and a target, with neither.
ViewLink = Literal["host", "empty_href", "empty_nohref"]
PlainKind = Literal["search", "learn", "other", "error"]
HrefStyle = Literal["relative", "absolute", "tracking"]
YearMonth = tuple[int, int]


# --- Views: what one page shows -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EntryView:
    """A cited or related research entry as shown on a page."""

    href_style: HrefStyle  # how the page writes the link: relative, absolute, tracking query
    path: str  # the target's path (the ground truth's URL is its absolute form)
    study_id: str
    title: str
    citations: int | None
    published: YearMonth | None
    venue: str | None
    tldr: str | None
    glitch: bool  # `[object Object]` stands before this entry


@dataclass(frozen=True, slots=True)
class CardView:
    """A community post card."""

    path: str
    post_id: str
    title: str
    category: str | None
    upvotes: int | None
    age_text: str
    summary: str | None


@dataclass(frozen=True, slots=True)
class SectionView:
    key: SectionKey
    heading: str | None  # None: the heading is missing, the count line and list remain
    form: CountForm
    total: int  # the number a `num` count line shows
    entries: tuple[EntryView, ...] = ()
    cards: tuple[CardView, ...] = ()

    @property
    def shown(self) -> int:
        return len(self.entries) + len(self.cards)


@dataclass(frozen=True, slots=True)
class LinkView:
    kind: Literal["discuss", "view"]
    host: str  # "" for the discuss link and for "View this study on →"
    href: str | None  # None: an anchor without a target


@dataclass(frozen=True, slots=True)
class StudyView:
    path: str
    study_id: str
    title: str
    published: YearMonth | None
    venue: str | None
    venue_space: bool  # `in “ Venue` (newer) rather than `in “Venue` (older)
    authors: tuple[str, ...]
    image_src: str | None
    tldr: str | None
    tldr_inline: bool  # `TLDR` in the same text run as the sentence
    summary: str | None
    links: tuple[LinkView, ...]
    sections: tuple[SectionView, ...]


@dataclass(frozen=True, slots=True)
class Block:
    """A piece of a page that is not a study: a paragraph, a subheading or a list of links."""

    kind: Literal["p", "h2", "links"]
    text: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (text, href)


@dataclass(frozen=True, slots=True)
class PlainView:
    """Search listings, learn hubs and articles, community posts, home and error pages."""

    path: str
    kind: PlainKind
    title: str
    blocks: tuple[Block, ...]
    status: int = 200


PageView = StudyView | PlainView


# --- World state ----------------------------------------------------------------------------
@dataclass(slots=True)
class SectionSpec:
    """One section of a study page: who it lists and how its heading and count line read."""

    heading: str | None
    form: CountForm
    items: list[int]  # study indices (research) or post indices (community), in page order
    hidden: int = 0  # results the count line announces beyond those listed


@dataclass(slots=True)
class EntryLook:
    """Which parts of a research entry a page shows (fixed per page and target)."""

    citations: bool
    date: bool
    venue: bool
    tldr: bool
    glitch: bool
    href_style: HrefStyle


@dataclass(slots=True)
class Study:
    index: int
    study_id: str
    slug: str
    title: str
    year: int
    month: int
    venue: str
    venue_case: int  # 0 as written, 1 lower case after the first word, 2 every word capitalised
    authors: tuple[str, ...]
    tldr: str | None
    summary: str
    citations: int
    has_image: bool
    date_line: DateLine
    top_gen: Generation
    tldr_inline: bool
    discuss: bool
    view: ViewLink | None
    view_first: bool  # the View link comes before the Discuss link
    host: str
    source_href: str
    sections: dict[SectionKey, SectionSpec] = field(default_factory=dict)
    looks: dict[tuple[SectionKey, int], EntryLook] = field(default_factory=dict)
    discussion_post: int | None = None
    alias_slug: str | None = None  # a second, short editorial slug serving the same study
    old_slugs: list[str] = field(default_factory=list)  # earlier slugs, now redirecting
    removed_status: int | None = None  # 404 or 410 once the study is gone
    protected: bool = False  # a forced variant: time leaves its layout alone

    @property
    def path(self) -> str:
        return f"/research/{self.slug}-{self.study_id}"

    @property
    def alias_path(self) -> str | None:
        return f"/research/{self.alias_slug}-{self.study_id}" if self.alias_slug else None


@dataclass(slots=True)
class Post:
    index: int
    post_id: str
    slug: str
    title: str
    category: str | None
    upvotes: int | None
    created_day: int  # world day the post was written (negative: before the replica's day 0)
    summary: str | None
    studies: list[int] = field(default_factory=list)  # studies the post talks about

    @property
    def path(self) -> str:
        return f"/community/posts/{self.slug}-{self.post_id}"
