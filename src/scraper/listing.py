"""Research listing bytes -> `ListingPage`: a pure function, like the study parser.

A listing page (`/search/research/<keyword>/<page>`) shows studies one after another, each as
its title linking to the study's page, then `N citations, Month YYYY in “Venue”` and a one-line
TLDR (every part optional, on one line or several), then a pager. It is read the way the study
parser reads a page (`scraper.page_text`: visible lines, each knowing its links): an entry starts
at a line with a link to a study page and owns the plain lines after it; a line of other links
(the pager, site furniture) ends it. The next page is the link, anywhere on the page, to the same
keyword's following page, whatever its text says.

Nothing here raises on bad input: what is missing is None, and a page without entries says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser

from scraper import landmarks as lm
from scraper.page_text import Document, Line, absolute, clean_venue, normalise, read_document
from scraper.records import ListingEntry, ListingPage
from scraper.urls import listing_position, study_id_from_url

LISTING_PARSER_VERSION = "1.0.0"
# Pager texts that mean "the page after this one", for a page whose own number is unknown.
# Buttons and menu words that stand between entries: site furniture, never part of an entry.
FURNITURE_TEXT = re.compile(
    r"^(?:join|log\s*in|sign\s*(?:in|up)|load more|show more|subscribe|share|save)$", re.IGNORECASE
)
NEXT_TEXT = re.compile(r"^(?:next(?:\s+page)?|older|more)\b|^[›»→]$", re.IGNORECASE)


@dataclass(slots=True)
class _Draft:
    url: str
    title: str
    details: list[str] = field(default_factory=list)


def parse_listing(html: bytes, url: str | None = None) -> ListingPage:
    """Parse one research listing page. Never raises."""
    try:
        return _parse(html, url)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        return ListingPage(
            url=url,
            parser_version=LISTING_PARSER_VERSION,
            warnings=(f"parser failed: {type(exc).__name__}: {exc}",),
        )


def _parse(html: bytes, url: str | None) -> ListingPage:
    document = read_document(html)
    base = _page_url(url, document)
    drafts = _drafts(document.lines, base)
    position = listing_position(base)
    entries = tuple(_entry(index, draft) for index, draft in enumerate(drafts))
    return ListingPage(
        url=base,
        keyword=position[0] if position else None,
        page_number=position[1] if position else None,
        entries=entries,
        next_url=_next_url(_anchors(html), base, position),
        parser_version=LISTING_PARSER_VERSION,
        warnings=() if entries else ("entries not found",),
    )


def _page_url(url: str | None, document: Document) -> str | None:
    for candidate in (url, document.canonical, document.og_url):
        resolved = absolute(candidate, url or candidate)
        if resolved and resolved.startswith(("http://", "https://")):
            return resolved
    return None


def _drafts(lines: list[Line], base: str | None) -> list[_Draft]:
    """Entries in page order: each study link, with the plain lines that follow it."""
    drafts: list[_Draft] = []
    current: _Draft | None = None
    for line in lines:
        links = line.links()
        studies = [(link, href) for link in links if (href := _study_href(link.href, base))]
        if studies:
            for link, href in studies:
                current = _Draft(href, _clean(link.text))
                drafts.append(current)
            _, after = line.text_outside(studies[-1][0])
            if after:
                current.details.append(after)  # type: ignore[union-attr]
        elif links:
            current = None  # a pager or menu line: what follows belongs to no entry
        elif current is not None and line.text and not FURNITURE_TEXT.match(line.text):
            current.details.append(line.text)
    return drafts


def _study_href(href: str, base: str | None) -> str | None:
    resolved = absolute(href, base)
    return resolved if resolved and study_id_from_url(resolved) else None


def _clean(text: str) -> str:
    return normalise(text.replace(lm.GLITCH, " ")).strip()


def _entry(position: int, draft: _Draft) -> ListingEntry:
    text = _clean(" ".join(draft.details))
    meta = lm.ENTRY_META.match(text)
    citations = published = venue = None
    rest = text
    if meta:
        if meta["citations"]:
            citations = int(meta["citations"].replace(",", ""))
        if meta["month"] and meta["year"]:
            month = lm.MONTHS.index(meta["month"].lower()) + 1
            published = f"{meta['year']}-{month:02d}"
        venue = clean_venue(meta["venue"])
        rest = text[meta.end() :]
    rest = lm.TLDR_LABEL.sub("", rest.strip(" ,;·")).strip()
    return ListingEntry(
        position=position,
        url=draft.url,
        study_id=study_id_from_url(draft.url),
        title=draft.title or None,
        citations=citations,
        published=published,
        venue=venue,
        tldr=rest or None,
    )


def _anchors(html: bytes) -> list[tuple[str, str]]:
    """(href, text) of every link of the page. The pager is read from all of them, not from the
    visible lines: sites put it in a <nav>, which the reading of lines leaves out as furniture."""
    tree = LexborHTMLParser(html)
    return [
        (node.attributes.get("href") or "", normalise(node.text(deep=True)))
        for node in tree.css("a[href]")
    ]


def _next_url(
    anchors: list[tuple[str, str]], base: str | None, position: tuple[str, int] | None
) -> str | None:
    """The pager's link to the following page of the same listing, or None on the last page."""
    for raw, text in anchors:
        href = absolute(raw, base)
        target = listing_position(href)
        if href is None or target is None:
            continue
        if position is None and NEXT_TEXT.match(text):
            return href
        if position is not None and target == (position[0], position[1] + 1):
            return href
    return None
