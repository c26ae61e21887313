"""Study page bytes -> `StudyPage`: a pure function built on what a reader sees.

The page is first read the way a person reads it (`scraper.page_text`): the visible text as lines,
each line knowing which of its words are links and where they point. Every field is then found by
landmarks (`scraper.landmarks`) and document order: the title, the `Month YYYY in “ Venue` line,
the names line, `TLDR`, the `→` links here; section headings, count lines and list entries
anchored on their links in `scraper.sections`. Class names and nesting depth are never used, so a
new markup that shows the same page parses the same.

Nothing here raises on bad input: a field that is not found is None plus a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scraper import landmarks as lm
from scraper.listing import parse_listing
from scraper.page_text import (
    Document,
    Line,
    absolute,
    as_written,
    clean_venue,
    published_month,
    read_document,
)
from scraper.records import ListingPage, LoadItem, PageKind, StudyPage
from scraper.sections import (
    SectionDraft,
    heading_key,
    post_list,
    research_list,
    section_record,
    split_sections,
)
from scraper.urls import page_kind_from_url, study_id_from_url

if TYPE_CHECKING:  # types only: parsing stays free of the HTTP stack
    from collections.abc import Iterable
    from datetime import datetime

    from scraper.responses import FetchResult

PARSER_VERSION = "1.1.0"

# HTML parsers spend time proportional to the depth of open block containers on each new one
# (the "close a p element" scope check), so a hostile page of 400,000 nested <div>s costs minutes.
# These elements always need an end tag, so counting their tags gives their depth cheaply; real
# study pages nest them a few dozen deep.
_BLOCK_CONTAINER_TAG = re.compile(
    rb"<(/?)(?:div|section|article|ul|ol|dl|blockquote|main|nav|aside|header|footer|figure|form"
    rb"|fieldset|details|menu|address|center)\b",
    re.IGNORECASE,
)
MAX_BLOCK_DEPTH = 1000


# --- Page layout: title, header, sections ---------------------------------------------------
@dataclass(slots=True)
class Layout:
    title: str | None
    header: list[Line]
    sections: list[SectionDraft]


def _is_landmark(line: Line) -> bool:
    text = line.text
    return bool(
        lm.DATE_LINE.match(text)
        or lm.TLDR_LABEL.match(text)
        or heading_key(text)
        or lm.COUNT_LINE.match(text)
    )


def _title_candidates(document: Document) -> list[str]:
    names = [document.og_title, document.title_tag, document.headline]
    candidates: list[str] = []
    for name in filter(None, names):
        candidates += [name, lm.TITLE_SITE_SUFFIX.sub("", name)]
    return [c for c in candidates if c]


def _find_title(document: Document) -> tuple[str | None, int]:
    """The study title and the index of its line (-1 when it is not a line of the page)."""
    lines = document.lines
    first_landmark = next((i for i, line in enumerate(lines) if _is_landmark(line)), len(lines))
    candidates = set(_title_candidates(document))
    h1s = [h for h in document.h1 if h]
    wanted = [h for h in h1s if not candidates or h in candidates or _contains(candidates, h)]
    wanted += sorted(candidates, key=len, reverse=True)
    for title in wanted:
        indexes = [i for i, line in enumerate(lines[:first_landmark]) if line.text == title]
        if indexes:
            return title, indexes[-1]
    if h1s:
        index = next((i for i, line in enumerate(lines) if line.text == h1s[0]), -1)
        return h1s[0], index
    date_index = next((i for i, ln in enumerate(lines) if lm.DATE_LINE.match(ln.text)), None)
    if date_index:
        return lines[date_index - 1].text, date_index - 1
    return None, -1


def _contains(candidates: set[str], text: str) -> bool:
    return any(text in candidate for candidate in candidates)


def _layout(document: Document) -> Layout:
    title, title_index = _find_title(document)
    header, sections = split_sections(document.lines[title_index + 1 :])
    return Layout(title=title, header=header, sections=sections)


# --- Header fields ------------------------------------------------------------------------------
@dataclass(slots=True)
class Header:
    published: str | None = None
    venue: str | None = None
    authors: tuple[str, ...] = ()
    tldr: str | None = None
    summary: str | None = None


def _looks_like_names(text: str) -> bool:
    """A names line is short comma-separated tokens; prose has long clauses and ends a sentence."""
    names = text.split(lm.AUTHOR_SEPARATOR)
    short_tokens = all(
        0 < len(name) <= lm.MAX_AUTHOR_LENGTH and len(name.split()) <= lm.MAX_WORDS_PER_AUTHOR
        for name in names
    )
    # `Fischer T.` may end a names line; a sentence's last clause is longer than an initial.
    ends_like_prose = text.endswith((".", "!", "?")) and len(names[-1].split()) > 3
    return short_tokens and not ends_like_prose


def _is_link_line(line: Line) -> bool:
    links = line.links()
    return bool(links) and all(
        lm.DISCUSS_LINK.match(link.text) or lm.VIEW_ON_LINK.match(link.text) for link in links
    )


def _is_aside(line: Line) -> bool:
    """A header line that holds no field: the image's alt text, the link line, site furniture."""
    return (
        line.text == lm.IMAGE_ALT or _is_link_line(line) or bool(lm.FURNITURE_LINE.match(line.text))
    )


def _read_header(lines: list[Line]) -> Header:
    header = Header()
    rest = [line for line in lines if not _is_aside(line)]
    index = 0
    if index < len(rest) and (date := lm.DATE_LINE.match(rest[index].text)):
        header.published, header.venue = published_month(date), clean_venue(date["venue"])
        index += 1
    if index < len(rest) and (venue := lm.VENUE_LINE.match(rest[index].text)):
        header.venue = header.venue or clean_venue(venue["venue"])
        index += 1
    candidate, used = _names_text(rest, index)
    if candidate and not lm.TLDR_LABEL.match(candidate) and _looks_like_names(candidate):
        header.authors = tuple(n.strip() for n in candidate.split(lm.AUTHOR_SEPARATOR))
        index += used
    header.tldr, index = _read_tldr(rest, index)
    summary = rest[index] if index < len(rest) else None
    header.summary = summary.text if summary is not None and _is_prose(summary) else None
    return header


def _is_prose(line: Line) -> bool:
    """A summary is prose: a line made mostly of links (a footer's `Privacy · Terms`) or a site
    widget's heading is the page's furniture, and the summary is then missing, not that."""
    linked = sum(len(link.text) for link in line.links())
    return linked * 2 <= len(line.text) and not lm.FURNITURE_HEADING.match(line.text)


def _names_text(lines: list[Line], start: int) -> tuple[str, int]:
    """The names line from `start`, and how many lines it takes: names in block elements (one
    `<li>` each) read one line per name, each but the last ending with the `,` separator."""
    taken: list[str] = []
    for line in lines[start:]:
        taken.append(line.text)
        if not line.text.endswith(","):
            break
    return " ".join(taken), len(taken)


def _read_tldr(lines: list[Line], start: int) -> tuple[str | None, int]:
    """The TLDR sentence (label removed) and the index of the line after it."""
    for index in range(start, len(lines)):
        label = lm.TLDR_LABEL.match(lines[index].text)
        if not label:
            continue
        sentence = lines[index].text[label.end() :].strip()
        if sentence:
            return sentence, index + 1
        if index + 1 < len(lines):
            return lines[index + 1].text, index + 2
        return None, index + 1
    return None, start


def _link_line(document: Document, base: str | None) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for line in document.lines:
        for link in line.links():
            if "discussion_url" not in found and lm.DISCUSS_LINK.match(link.text):
                found["discussion_url"] = absolute(link.href, base)
            view = lm.VIEW_ON_LINK.match(link.text)
            if view and "source_url" not in found:
                found["source_url"] = as_written(link.href, base)
                found["source_host"] = view["host"] or None
    # A `View this study on →` anchor without an href is not a link and lands here.
    if "source_host" not in found:
        for line in document.lines:
            view = lm.VIEW_ON_LINK.match(line.text)
            if view:
                found["source_url"], found["source_host"] = None, view["host"] or None
                break
    return found


def _image_url(document: Document, base: str | None) -> str | None:
    for image in document.images:
        if image.alt.lower() == lm.IMAGE_ALT.lower() and image.src:
            return absolute(image.src, base)
    return None


# --- The page -----------------------------------------------------------------------------------
def _page_url(url: str | None, document: Document) -> str | None:
    for candidate in (url, document.canonical, document.og_url):
        resolved = absolute(candidate, url or candidate)
        if resolved and urlsplit(resolved).scheme in ("http", "https"):
            return resolved
    return None


def _page_kind(url: str | None, document: Document, layout: Layout) -> PageKind:
    by_url = page_kind_from_url(url)
    if by_url == "listing":  # read by `scraper.listing`, not as a study
        return "listing"
    if by_url in ("search", "learn"):
        return "search" if by_url == "search" else "learn"
    if by_url == "study" and layout.title and not lm.ERROR_TITLE.search(layout.title):
        return "study"  # a minimal page (title, authors, summary) is a study all the same
    looks_like_study = bool(
        layout.sections
        or any(_is_landmark(line) for line in layout.header)
        or any(image.alt == lm.IMAGE_ALT for image in document.images)
    )
    if looks_like_study:
        return "study"
    title = " ".join(filter(None, [document.title_tag, *document.h1]))
    return "error" if lm.ERROR_TITLE.search(title) else "other"


def parse_study(html: bytes, url: str | None = None) -> StudyPage:
    """Parse one study page. Never raises; what is missing is None plus a warning."""
    try:
        return _parse(html, url)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        # The parser's own tests fuzz it to zero exceptions; this keeps a batch alive regardless
        # and records the reason instead of losing the page.
        return StudyPage(
            url=url,
            parser_version=PARSER_VERSION,
            page_kind="other",
            warnings=(f"parser failed: {type(exc).__name__}: {exc}",),
        )


def _block_depth(html: bytes) -> int:
    """The deepest nesting of block containers, counted from their tags without parsing."""
    depth = deepest = 0
    for closing in _BLOCK_CONTAINER_TAG.findall(html):
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def _parse(html: bytes, url: str | None) -> StudyPage:
    depth = _block_depth(html)
    if depth > MAX_BLOCK_DEPTH:
        return StudyPage(
            url=url,
            page_kind="other",
            parser_version=PARSER_VERSION,
            warnings=(f"not parsed: block elements nest {depth} deep (limit {MAX_BLOCK_DEPTH})",),
        )
    document = read_document(html)
    page_url = _page_url(url, document)
    layout = _layout(document)
    kind = _page_kind(page_url, document, layout)
    if kind != "study":
        return StudyPage(
            url=page_url,
            page_kind=kind,
            title=layout.title,
            parser_version=PARSER_VERSION,
            warnings=(f"not a study page: {kind}",),
        )
    header = _read_header(layout.header)
    links = _link_line(document, page_url)
    sections = {d.key: d for d in layout.sections if d.key}
    page = StudyPage(
        url=page_url,
        study_id=study_id_from_url(page_url),
        title=layout.title,
        published=header.published,
        venue=header.venue,
        authors=header.authors,
        image_url=_image_url(document, page_url),
        tldr=header.tldr,
        summary=header.summary,
        discussion_url=links.get("discussion_url"),
        source_url=links.get("source_url"),
        source_host=links.get("source_host"),
        sections={key: section_record(draft) for key, draft in sections.items()},
        cited_research=research_list(sections.get("cited_research"), page_url),
        related_research=research_list(sections.get("related_research"), page_url),
        community_posts=post_list(sections.get("community_posts"), page_url),
        parser_version=PARSER_VERSION,
    )
    return replace(page, warnings=_warnings(page))


_EXPECTED = ("url", "study_id", "title", "published", "venue", "tldr", "summary")


def _warnings(page: StudyPage) -> tuple[str, ...]:
    warnings = [f"{name} not found" for name in _EXPECTED if getattr(page, name) is None]
    if not page.authors:
        warnings.append("authors not found")
    if page.image_url is None:
        warnings.append("image_url not found")
    if page.source_url is not None and page.source_host is None:
        # `View this study on →` with its host text empty: the host is not shown, so not guessed.
        warnings.append("source_host not shown on the View link")
    for key in ("cited_research", "related_research", "community_posts"):
        section = page.sections.get(key)
        shown = section.shown if section else None
        found = len(getattr(page, key))
        if shown is not None and shown != found:
            warnings.append(f"{key}: count line shows {shown}, found {found}")
    return tuple(warnings)


# --- Fetched pages -> what the loader takes -----------------------------------------------------
def parse_page(html: bytes, url: str | None = None) -> StudyPage | ListingPage:
    """A study page's record, or a research listing's when the URL (or the canonical URL the
    page names) is a listing's. Never raises."""
    page = parse_study(html, url)
    if page.page_kind != "listing":
        return page
    return parse_listing(html, page.url)


def parse_fetched(body: bytes, url: str, fetched_at: datetime | None = None) -> LoadItem:
    """A page fetched from `url` at `fetched_at`, parsed, with where and when it was fetched: the
    one way a body becomes a `LoadItem`, whether it was just fetched or read from the archive."""
    parsed = parse_page(body, url)
    if isinstance(parsed, ListingPage):
        return LoadItem(
            page=parsed.as_study_page(), fetched_url=url, fetched_at=fetched_at, listing=parsed
        )
    return LoadItem(page=parsed, fetched_url=url, fetched_at=fetched_at)


def parse_result(result: FetchResult) -> LoadItem | None:
    """The parsed page of one fetch, or None when it brought no new body."""
    if not result.changed or result.body is None:
        return None
    return parse_fetched(result.body, result.final_url, result.fetched_at)


def parse_results(results: Iterable[FetchResult]) -> list[LoadItem]:
    """Parse what is new. Unchanged pages, failures and refusals cost nothing."""
    return [item for result in results if (item := parse_result(result)) is not None]
