"""Visible text shared by every markup: what a reader sees is identical whatever the HTML.

Each markup decides tags, nesting and class names; the strings themselves come from here, so the
three markups cannot drift apart in what they show.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from replica import vocab
from replica.model import CardView, EntryView, LinkView, SectionView, StudyView, YearMonth

TRACKING_QUERY = "?utm_source=replica&utm_medium=related"  # dropped by URL canonicalisation
NAV_LINKS = (
    ("Tressless", "/"),
    ("Research", "/search/research/finasteride/1"),
    ("Learn", "/learn/hair-loss"),
    ("Community", "/community"),
)
FOOTER_LINKS = (
    ("Finasteride studies", "/search/finasteride"),
    ("Minoxidil guide", "/learn/minoxidil"),
)
FOOTER_TEXT = "© 2025 Tressless replica · synthetic pages for testing"
TITLE_SUFFIX = f" | {vocab.SITE_NAME}"
JOIN_HREF = "/community"


@dataclass(frozen=True, slots=True)
class Context:
    """What a markup needs besides the view: where the site lives."""

    base_url: str

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def hashed(salt: str, name: str) -> str:
    """A CSS-modules style class name: stable, meaningless to a reader."""
    return "_" + hashlib.blake2b(f"{salt}:{name}".encode(), digest_size=3).hexdigest()


def month_year(value: YearMonth) -> str:
    year, month = value
    return f"{vocab.MONTHS[month - 1]} {year}"


def venue_phrase(venue: str, space: bool) -> str:
    """`in “ Venue` (newer pages) or `in “Venue` (older); never closed at the top of a page."""
    return f"in {vocab.OPEN_QUOTE}{' ' if space else ''}{venue}"


def date_line(view: StudyView) -> tuple[str, str | None] | None:
    """(date, venue phrase) of the line under the title, or None when the page has no such line."""
    if view.published is None:
        return None
    venue = venue_phrase(view.venue, view.venue_space) if view.venue else None
    return month_year(view.published), venue


def count_text(section: SectionView) -> str | None:
    """`14 / 14 results`, `6 / 1000+ results`, `9 / results`, `14 / NoResults`; None: no line."""
    shown = section.shown
    if section.form == "none":
        return None
    if section.form == "plus":
        return f"{shown} / {vocab.LOWER_BOUND_TOKEN} results"
    if section.form == "blank":
        return f"{shown} / results"
    if section.form == "noresults":
        return f"{shown} / {vocab.NO_RESULTS_TOKEN}"
    return f"{shown} / {section.total} results"


def no_results(section: SectionView) -> bool:
    """`0 / 0 results` is followed by `— no results`."""
    return section.form == "num" and section.shown == 0 and section.total == 0


def entry_meta(entry: EntryView) -> str | None:
    """`12 citations, July 2013 in “Venue”` with any part missing; closed quote here."""
    when = month_year(entry.published) if entry.published else None
    where = f"in {vocab.OPEN_QUOTE}{entry.venue}{vocab.CLOSE_QUOTE}" if entry.venue else None
    place = " ".join(part for part in (when, where) if part)
    count = f"{entry.citations} citations" if entry.citations is not None else None
    return ", ".join(part for part in (count, place) if part) or None


def card_meta(card: CardView, gap: str = "  ") -> str:
    """`in Chat  36 upvotes 1 month ago`; `1 upvotes` stays plural; category/upvotes optional."""
    votes = f"{card.upvotes} upvotes {card.age_text}" if card.upvotes is not None else card.age_text
    return f"in {card.category}{gap}{votes}" if card.category else votes


def link_label(link: LinkView) -> str:
    if link.kind == "discuss":
        return vocab.DISCUSS_TEXT
    return f"{vocab.VIEW_ON_TEXT} {link.host}" if link.host else vocab.VIEW_ON_TEXT


def entry_href(entry: EntryView, context: Context) -> str:
    if entry.href_style == "absolute":
        return context.url(entry.path)
    if entry.href_style == "tracking":
        return entry.path + TRACKING_QUERY
    return entry.path


def page_title(title: str) -> str:
    return f"{title}{TITLE_SUFFIX}"
