"""Study page bytes -> `StudyPage`: a pure function built on what a reader sees.

The page is first read the way a person reads it: `_read_lines` walks the DOM once and yields
the visible text as lines (a block element starts a new line, inline elements flow together, so
text split across spans reads whole), each line knowing which of its words are links and where
they point. Every field is then found by landmarks (`scraper.landmarks`) and document order: the
title, the `Month YYYY in “ Venue` line, the names line, `TLDR`, the `→` links, section headings
and count lines, and list entries anchored on their links. Class names and nesting depth are never
used, so a new markup that shows the same page parses the same.

Nothing here raises on bad input: a field that is not found is None plus a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import landmarks as lm
from scraper.records import (
    CommunityPost,
    LoadItem,
    PageKind,
    ResearchEntry,
    Section,
    SectionKey,
    StudyPage,
)
from scraper.urls import canonicalize, page_kind_from_url, post_id_from_url, study_id_from_url

if TYPE_CHECKING:  # types only: parsing stays free of the HTTP stack
    from collections.abc import Iterable
    from datetime import datetime

    from scraper.fetch import FetchResult

PARSER_VERSION = "1.0.0"

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
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
_UNSAFE_SCHEMES = ("javascript:", "data:", "mailto:", "tel:", "about:")


# --- Reading the page -----------------------------------------------------------------------
@dataclass(slots=True)
class Segment:
    """A run of text, where it sits in the DOM, and the link it belongs to, if any."""

    text: str
    href: str | None
    path: tuple[int, ...] = ()  # ids of the open elements, body first
    link_path: tuple[int, ...] = ()  # `path` of the enclosing <a> itself (empty when none)


@dataclass(slots=True)
class Link:
    href: str
    text: str
    path: tuple[int, ...] = ()  # the <a> element's path: where the entry it titles lives


@dataclass(slots=True)
class Line:
    """One line of visible text, in document order."""

    segments: list[Segment] = field(default_factory=list)
    text: str = ""

    def links(self) -> list[Link]:
        """Links in this line, consecutive segments of one href merged."""
        merged: list[Link] = []
        previous: str | None = None
        for segment in self.segments:
            if segment.href is None:
                previous = None
                continue
            if segment.href == previous:
                merged[-1].text += segment.text  # raw: `Telogen ` + `Effluvium` keeps its space
            else:
                merged.append(Link(segment.href, segment.text, segment.link_path))
            previous = segment.href
        for link in merged:
            link.text = _normalise(link.text)
        return [link for link in merged if link.text]

    @property
    def path(self) -> tuple[int, ...]:
        return self.segments[0].path if self.segments else ()

    def text_outside(self, link: Link) -> tuple[str, str]:
        """The line's text before and after the first run of `link`'s href."""
        before, after, state = [], [], "before"
        for segment in self.segments:
            inside = segment.href == link.href
            if state == "before" and inside:
                state = "inside"
            elif state == "inside" and not inside:
                state = "after"
            if state == "before":
                before.append(segment.text)
            elif state == "after":
                after.append(segment.text)
        return _normalise("".join(before)), _normalise("".join(after))


@dataclass(slots=True)
class Image:
    alt: str
    src: str | None


@dataclass(slots=True)
class Document:
    lines: list[Line]
    images: list[Image]
    title_tag: str | None = None
    og_title: str | None = None
    canonical: str | None = None
    og_url: str | None = None
    headline: str | None = None  # from JSON-LD structured data
    h1: list[str] = field(default_factory=list)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _decode(html: bytes) -> str:
    """Bytes to text: the declared charset when it is one we know, else UTF-8, never failing."""
    match = _CHARSET.search(html[:4096])
    encoding = match.group(1).decode("ascii", "replace") if match else "utf-8"
    try:
        return html.decode(encoding, errors="replace")
    except LookupError:
        return html.decode("utf-8", errors="replace")


def _is_hidden(node: LexborNode) -> bool:
    attributes = node.attributes
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    return bool(_HIDDEN_STYLE.search(attributes.get("style") or ""))


def _read_document(html: bytes) -> Document:
    tree = LexborHTMLParser(_decode(html).replace("\x00", ""))
    document = Document(lines=[], images=[])
    _read_head(tree, document)
    if tree.body is not None:
        _read_lines(tree.body, document)
    return document


def _read_head(tree: LexborHTMLParser, document: Document) -> None:
    title = tree.css_first("title")
    document.title_tag = _normalise(title.text()) if title is not None else None
    for meta in tree.css("meta[property], meta[name]"):
        key = (meta.attributes.get("property") or meta.attributes.get("name") or "").lower()
        content = _normalise(meta.attributes.get("content") or "")
        if key == "og:title" and content:
            document.og_title = content
        elif key == "og:url" and content:
            document.og_url = content
    for link in tree.css("link[rel]"):
        if (link.attributes.get("rel") or "").lower() == "canonical":
            document.canonical = link.attributes.get("href")
    for script in tree.css('script[type="application/ld+json"]'):
        document.headline = document.headline or _json_ld_headline(script.text())


def _json_ld_headline(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            headline = item.get("headline") or item.get("name")
            if isinstance(headline, str) and headline.strip():
                return _normalise(headline)
    return None


def _read_lines(body: LexborNode, document: Document) -> None:
    """Walk the body once (iteratively: hostile pages nest deeply) and cut it into lines."""
    reader = _LineReader(document)
    # Each stack item is (node, entering); leaving a node closes its line or its link.
    stack: list[tuple[LexborNode, bool]] = [(body, True)]
    while stack:
        node, entering = stack.pop()
        if not entering:
            reader.leave(node.tag or "")
        elif reader.enter(node):
            stack.append((node, False))
            stack.extend((child, True) for child in reversed(list(_children(node))))
    reader.flush()


class _LineReader:
    """The state of the walk: the line being filled, the open links and headings."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.current = Line()
        self.hrefs: list[tuple[str | None, tuple[int, ...]]] = [(None, ())]
        self.path: tuple[int, ...] = ()
        self.heading_depth = 0
        self.heading_text: list[str] = []

    def flush(self) -> None:
        self.current.text = _normalise("".join(s.text for s in self.current.segments))
        if self.current.text:
            self.document.lines.append(self.current)
        self.current = Line()

    def enter(self, node: LexborNode) -> bool:
        """Take in `node`; True when its children are to be read."""
        tag = node.tag or ""
        if tag == "-text":
            self._text(node.text_content or "")
            return False
        if not node.is_element_node or tag in lm.INVISIBLE_TAGS or tag in lm.CHROME_TAGS:
            return False
        if _is_hidden(node):
            return False
        if tag == "img":
            alt = _normalise(node.attributes.get("alt") or "")
            self.document.images.append(Image(alt, node.attributes.get("src")))
            return False
        if tag in lm.BLOCK_TAGS:
            self.flush()
        self.path = (*self.path, node.mem_id)
        if tag == "a":
            self.hrefs.append((node.attributes.get("href"), self.path))
        if tag in lm.HEADING_TAGS:
            self.heading_depth += 1
        return True

    def leave(self, tag: str) -> None:
        self.path = self.path[:-1]
        if tag == "a":
            self.hrefs.pop()
        if tag in lm.HEADING_TAGS:
            self.heading_depth -= 1
            if tag == "h1":
                self.document.h1.append(_normalise("".join(self.heading_text)))
                self.heading_text.clear()
        if tag in lm.BLOCK_TAGS:
            self.flush()

    def _text(self, text: str) -> None:
        href, link_path = self.hrefs[-1]
        self.current.segments.append(Segment(text, href, self.path, link_path))
        if self.heading_depth:
            self.heading_text.append(text)


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.first_child
    while child is not None:
        yield child
        child = child.next


# --- Page layout: title, header, sections ---------------------------------------------------
@dataclass(slots=True)
class SectionDraft:
    key: SectionKey | None
    heading: str | None
    count: re.Match[str] | None = None
    lines: list[Line] = field(default_factory=list)
    markers: list[tuple[int, ...]] = field(default_factory=list)  # heading and count line paths


@dataclass(slots=True)
class Layout:
    title: str | None
    header: list[Line]
    sections: list[SectionDraft]


def _heading_key(text: str) -> tuple[SectionKey, str] | None:
    heading = lm.JOIN_BUTTON.sub("", text).strip()
    key = lm.SECTION_HEADINGS.get(heading.lower())
    return (key, heading) if key else None


def _is_landmark(line: Line) -> bool:
    text = line.text
    return bool(
        lm.DATE_LINE.match(text)
        or lm.TLDR_LABEL.match(text)
        or _heading_key(text)
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
    header: list[Line] = []
    sections: list[SectionDraft] = []
    for line in document.lines[title_index + 1 :]:
        found = _heading_key(line.text)
        count = lm.COUNT_LINE.match(line.text)
        if found:
            sections.append(SectionDraft(key=found[0], heading=found[1], markers=[line.path]))
        elif _is_join_button(line, sections):
            continue
        elif count and sections and sections[-1].count is None and not sections[-1].lines:
            sections[-1].count = count
            sections[-1].markers.append(line.path)
        elif count:
            sections.append(SectionDraft(key=None, heading=None, count=count, markers=[line.path]))
        elif sections:
            sections[-1].lines.append(line)
        else:
            header.append(line)
    return Layout(title=title, header=header, sections=_resolve_keys(sections))


def _is_join_button(line: Line, sections: list[SectionDraft]) -> bool:
    """The `Join` button after the community heading, when it renders on a line of its own."""
    return line.text == "Join" and bool(sections) and not sections[-1].lines


def _resolve_keys(sections: list[SectionDraft]) -> list[SectionDraft]:
    """Name the lists whose heading is missing, from what they hold and the fixed section order."""
    previous = -1
    for section in sections:
        if section.key is None:
            holds_research = any(_study_links(line) for line in section.lines)
            kinds = list(lm.SECTION_ORDER[previous + 1 :])
            if holds_research:
                kinds = [k for k in kinds if k != "community_posts"]
            elif any(line.links() for line in section.lines):
                kinds = [k for k in kinds if k == "community_posts"]
            section.key = kinds[0] if kinds else None
        if section.key is not None:
            previous = lm.SECTION_ORDER.index(section.key)
    return [s for s in sections if s.key is not None]


# --- Header fields ------------------------------------------------------------------------------
@dataclass(slots=True)
class Header:
    published: str | None = None
    venue: str | None = None
    authors: tuple[str, ...] = ()
    tldr: str | None = None
    summary: str | None = None


def _published(match: re.Match[str]) -> str:
    month = lm.MONTHS.index(match["month"].lower()) + 1
    return f"{match['year']}-{month:02d}"


def _clean_venue(venue: str | None) -> str | None:
    venue = _normalise((venue or "").strip("“”\"' "))
    return venue or None


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


def _read_header(lines: list[Line]) -> Header:
    header = Header()
    rest = [line for line in lines if line.text != lm.IMAGE_ALT and not _is_link_line(line)]
    index = 0
    if index < len(rest) and (date := lm.DATE_LINE.match(rest[index].text)):
        header.published, header.venue = _published(date), _clean_venue(date["venue"])
        index += 1
    if index < len(rest) and (venue := lm.VENUE_LINE.match(rest[index].text)):
        header.venue = header.venue or _clean_venue(venue["venue"])
        index += 1
    candidate = rest[index].text if index < len(rest) else ""
    if candidate and not lm.TLDR_LABEL.match(candidate) and _looks_like_names(candidate):
        header.authors = tuple(n.strip() for n in candidate.split(lm.AUTHOR_SEPARATOR))
        index += 1
    header.tldr, index = _read_tldr(rest, index)
    header.summary = rest[index].text if index < len(rest) else None
    return header


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
                found["discussion_url"] = _absolute(link.href, base)
            view = lm.VIEW_ON_LINK.match(link.text)
            if view and "source_url" not in found:
                found["source_url"] = _absolute(link.href, base)
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
            return _absolute(image.src, base)
    return None


def _absolute(href: str | None, base: str | None) -> str | None:
    if not href or not href.strip() or href.strip().lower().startswith(_UNSAFE_SCHEMES):
        return None
    try:
        return canonicalize(href, base) if base else href.strip()
    except ValueError:
        return None


# --- Section entries --------------------------------------------------------------------------
def _study_links(line: Line) -> list[Link]:
    return [link for link in line.links() if study_id_from_url(link.href)]


def _post_links(line: Line) -> list[Link]:
    links = []
    for link in line.links():
        if link.text.lower() in lm.NON_POST_LINK_TEXTS or study_id_from_url(link.href):
            continue
        before, _ = line.text_outside(link)
        if before.lower() == "in":  # a linked category in the meta line, not a post
            continue
        links.append(link)
    return links


def _split_entries(
    section: SectionDraft, anchors: Callable[[Line], list[Link]]
) -> list[tuple[Link, list[str]]]:
    """Cut a section into entries, each starting at its title link: (title link, text after it).

    An entry's text is what follows its title up to the next title, and only inside the entry's
    own element (see `_entry_scope`), so page furniture after the last entry is never read as
    its TLDR.
    """
    if section.count is not None and int(section.count["shown"]) == 0:
        return []  # `0 / 0 results — no results`: whatever links follow belong to the page
    starts: list[tuple[int, Link]] = []
    container: tuple[int, ...] | None = None  # the section's element, once an entry shows it
    for index, line in enumerate(section.lines):
        new = [ln for ln in anchors(line) if not starts or ln.href != starts[-1][1].href]
        if container is not None:  # links outside the section's element are page furniture
            new = [ln for ln in new if ln.path[: len(container)] == container]
        if new:
            starts.append((index, new[0]))
            if container is None and section.markers:
                shared = min(_common_prefix(new[0].path, m) for m in section.markers)
                container = new[0].path[:shared]
    markers = [link.path for _, link in starts] + section.markers
    entries = []
    for number, (index, link) in enumerate(starts):
        end = starts[number + 1][0] if number + 1 < len(starts) else len(section.lines)
        following = section.lines[index + 1 : end]
        scope = _entry_scope(link, [m for m in markers if m is not link.path], following)
        _, after = section.lines[index].text_outside(link)
        texts = [after] if after else []
        texts += [line.text for line in following if line.path[: len(scope)] == scope]
        entries.append((link, [t.replace(lm.GLITCH, "").strip() for t in texts]))
    return entries


def _entry_scope(link: Link, others: list[tuple[int, ...]], lines: list[Line]) -> tuple[int, ...]:
    """The path of the element that holds one entry: the outermost ancestor of its title link
    that holds no other entry, heading or count line. When that is the link itself and the
    entry's text is not inside it (a bare title link), the entry lives in the link's parent."""
    shared = max((_common_prefix(link.path, other) for other in others), default=0)
    depth = min(shared, len(link.path) - 1)
    scope = link.path[: depth + 1]
    wraps_text = bool(lines) and lines[0].path[: len(scope)] == scope
    if scope == link.path and not wraps_text:
        return link.path[:-1]
    return scope


def _common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _research_entry(link: Link, details: list[str], base: str | None) -> ResearchEntry:
    text = "\n".join(details)
    meta = lm.ENTRY_META.match(text)
    remainder = text[meta.end() :] if meta else text
    tldr = next((ln.strip(" ,;·") for ln in remainder.split("\n") if ln.strip(" ,;·")), None)
    url = _absolute(link.href, base)
    return ResearchEntry(
        url=url,
        study_id=study_id_from_url(url),
        title=link.text.replace(lm.GLITCH, "").strip() or None,
        citations=int(meta["citations"].replace(",", "")) if meta and meta["citations"] else None,
        published=_published(meta) if meta and meta["month"] else None,
        venue=_clean_venue(meta["venue"]) if meta else None,
        tldr=tldr,
    )


def _community_post(link: Link, details: list[str], base: str | None) -> CommunityPost:
    lines = [d for d in details if d.lower() != lm.COMMUNITY_BADGE]
    text = "\n".join(lines)
    meta = lm.POST_META.match(text)
    remainder = text[meta.end() :] if meta else text
    summary = next((ln.strip() for ln in remainder.split("\n") if ln.strip()), None)
    title = link.text
    if title.startswith(lm.COMMUNITY_BADGE + " "):  # the badge rendered inside the link
        title = title[len(lm.COMMUNITY_BADGE) + 1 :]
    url = _absolute(link.href, base)
    return CommunityPost(
        url=url,
        post_id=post_id_from_url(url),
        title=title or None,
        category=meta["category"].strip() if meta and meta["category"] else None,
        upvotes=int(meta["upvotes"]) if meta and meta["upvotes"] else None,
        age_text=_normalise(meta["age"]) if meta and meta["age"] else None,
        summary=summary,
    )


def _section_record(draft: SectionDraft) -> Section:
    count = draft.count
    if count is None:
        return Section(heading=draft.heading)
    total_text = count["total"] or count["none"]
    if count["none"]:
        total: int | None = 0
    elif count["total"]:
        total = int(count["total"].rstrip("+"))
    else:
        total = None
    return Section(
        heading=draft.heading, shown=int(count["shown"]), total=total, total_text=total_text
    )


# --- The page -----------------------------------------------------------------------------------
def _page_url(url: str | None, document: Document) -> str | None:
    for candidate in (url, document.canonical, document.og_url):
        absolute = _absolute(candidate, url or candidate)
        if absolute and urlsplit(absolute).scheme in ("http", "https"):
            return absolute
    return None


def _page_kind(url: str | None, document: Document, layout: Layout) -> PageKind:
    by_url = page_kind_from_url(url)
    if by_url in ("search", "learn"):
        return "search" if by_url == "search" else "learn"
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
    document = _read_document(html)
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
        sections={key: _section_record(draft) for key, draft in sections.items()},
        cited_research=_research_list(sections.get("cited_research"), page_url),
        related_research=_research_list(sections.get("related_research"), page_url),
        community_posts=_post_list(sections.get("community_posts"), page_url),
        parser_version=PARSER_VERSION,
    )
    return replace(page, warnings=_warnings(page))


def _research_list(draft: SectionDraft | None, base: str | None) -> tuple[ResearchEntry, ...]:
    if draft is None:
        return ()
    entries = _split_entries(draft, _study_links)
    return tuple(_research_entry(link, details, base) for link, details in entries)


def _post_list(draft: SectionDraft | None, base: str | None) -> tuple[CommunityPost, ...]:
    if draft is None:
        return ()
    entries = _split_entries(draft, _post_links)
    posts = (_community_post(link, details, base) for link, details in entries)
    return tuple(post for post in posts if _is_post_card(post))


def _is_post_card(post: CommunityPost) -> bool:
    """A card shows a post link or a `in <Category> N upvotes <age>` line; a page's own links
    after an empty community section (`Privacy`, `Minoxidil guide`) show neither."""
    meta = (post.category, post.upvotes, post.age_text)
    return post.post_id is not None or any(value is not None for value in meta)


_EXPECTED = ("url", "study_id", "title", "published", "venue", "tldr", "summary")


def _warnings(page: StudyPage) -> tuple[str, ...]:
    warnings = [f"{name} not found" for name in _EXPECTED if getattr(page, name) is None]
    if not page.authors:
        warnings.append("authors not found")
    if page.image_url is None:
        warnings.append("image_url not found")
    for key in ("cited_research", "related_research", "community_posts"):
        section = page.sections.get(key)
        shown = section.shown if section else None
        found = len(getattr(page, key))
        if shown is not None and shown != found:
            warnings.append(f"{key}: count line shows {shown}, found {found}")
    return tuple(warnings)


# --- Fetched pages -> what the loader takes -----------------------------------------------------
def parse_fetched(body: bytes, url: str, fetched_at: datetime | None = None) -> LoadItem:
    """A page fetched from `url` at `fetched_at`, parsed, with where and when it was fetched: the
    one way a body becomes a `LoadItem`, whether it was just fetched or read from the archive."""
    return LoadItem(page=parse_study(body, url), fetched_url=url, fetched_at=fetched_at)


def parse_result(result: FetchResult) -> LoadItem | None:
    """The parsed page of one fetch, or None when it brought no new body."""
    if not result.changed or result.body is None:
        return None
    return parse_fetched(result.body, result.final_url, result.fetched_at)


def parse_results(results: Iterable[FetchResult]) -> list[LoadItem]:
    """Parse what is new. Unchanged pages, failures and refusals cost nothing."""
    return [item for result in results if (item := parse_result(result)) is not None]
