"""The page as a reader sees it: visible text cut into lines, each line knowing its links.

`read_document` walks the DOM once and yields the visible text as lines (a block element starts a
new line, inline elements flow together, so text split across spans reads whole), each line
knowing which of its words are links and where they point; the head's names of the page (title,
og:title, canonical URL, JSON-LD headline) and its images come along. Hidden and visually hidden
elements and scripts are skipped; `nav`, `header`, `aside` and `footer` are read like any element
(a study's own links may sit there: furniture is told by what it says, in `scraper.sections` and
`scraper.parse`). Zero-width characters and the client's noise tokens (`undefined`, `NaN`) standing
alone in a text node are dropped. Also here: the few readers of values as the page writes them,
shared by every field (a link made absolute and safe, a month, a venue without its quote marks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import landmarks as lm
from scraper.urls import canonicalize

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_UNSAFE_SCHEMES = ("javascript:", "data:", "mailto:", "tel:", "about:")


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
            link.text = normalise(link.text)
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
        return normalise("".join(before)), normalise("".join(after))


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


def normalise(text: str) -> str:
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
    # `aria-hidden` hides from screen readers only: a reader still sees the text (arrows, `, `).
    attributes = node.attributes
    if "hidden" in attributes:
        return True
    classes = (attributes.get("class") or "").split()
    if lm.VISUALLY_HIDDEN_CLASSES.intersection(classes):
        return True
    return bool(_HIDDEN_STYLE.search(attributes.get("style") or ""))


def read_document(html: bytes) -> Document:
    tree = LexborHTMLParser(_decode(html).replace("\x00", ""))
    document = Document(lines=[], images=[])
    _read_head(tree, document)
    if tree.body is not None:
        _read_lines(tree.body, document)
    return document


def _read_head(tree: LexborHTMLParser, document: Document) -> None:
    title = tree.css_first("title")
    document.title_tag = normalise(title.text()) if title is not None else None
    for meta in tree.css("meta[property], meta[name]"):
        key = (meta.attributes.get("property") or meta.attributes.get("name") or "").lower()
        content = normalise(meta.attributes.get("content") or "")
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
                return normalise(headline)
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
        self.current.text = normalise("".join(s.text for s in self.current.segments))
        if self.current.text:
            self.document.lines.append(self.current)
        self.current = Line()

    def enter(self, node: LexborNode) -> bool:
        """Take in `node`; True when its children are to be read."""
        tag = node.tag or ""
        if tag == "-text":
            self._text(node.text_content or "")
            return False
        if not node.is_element_node or tag in lm.INVISIBLE_TAGS:
            return False
        if _is_hidden(node):
            return False
        if tag == "img":
            alt = normalise(node.attributes.get("alt") or "")
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
                self.document.h1.append(normalise("".join(self.heading_text)))
                self.heading_text.clear()
        if tag in lm.BLOCK_TAGS:
            self.flush()

    def _text(self, text: str) -> None:
        text = lm.ZERO_WIDTH.sub("", text)
        if text.strip() in lm.CLIENT_NOISE_TOKENS:
            return
        href, link_path = self.hrefs[-1]
        self.current.segments.append(Segment(text, href, self.path, link_path))
        if self.heading_depth:
            self.heading_text.append(text)


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.first_child
    while child is not None:
        yield child
        child = child.next


# --- Values as the page writes them -------------------------------------------------------------
def published_month(match: re.Match[str]) -> str:
    """ "YYYY-MM" of a landmark match holding a month name and a year."""
    month = lm.MONTHS.index(match["month"].lower()) + 1
    return f"{match['year']}-{month:02d}"


def clean_venue(venue: str | None) -> str | None:
    """The venue as shown, without the quote marks around it; None when nothing is left."""
    venue = normalise((venue or "").strip("“”\"' "))
    return venue if venue and venue not in lm.CLIENT_NOISE_TOKENS else None


def rendered(text: str | None) -> str | None:
    """A name as shown, or None when the client left a noise token (`undefined`) in its place."""
    text = normalise(text or "")
    return text if text and text not in lm.CLIENT_NOISE_TOKENS else None


def absolute(href: str | None, base: str | None) -> str | None:
    """A link of the page as a canonical absolute URL; None for an empty, unsafe or bad one."""
    if not href or not href.strip() or href.strip().lower().startswith(_UNSAFE_SCHEMES):
        return None
    try:
        return canonicalize(href, base) if base else href.strip()
    except ValueError:
        return None


def as_written(href: str | None, base: str | None) -> str | None:
    """A link to another site, absolute and safe but spelled as the page gives it: the site's
    URL rules (`canonicalize` drops a trailing `/`) are for our own pages, not a publisher's."""
    if absolute(href, base) is None or href is None:
        return None
    return urljoin(base, href.strip()) if base else href.strip()
