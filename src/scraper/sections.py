"""The page's sections: their headings and count lines, and the entries of their lists.

After the title and the header, a study page is a run of sections (cited research, related
community posts, related research), each a heading, a count line (`6 / 1000+ results`) and a list.
`split_sections` cuts the lines after the title into the header and the sections, naming a list
whose heading is missing from what it holds and the fixed section order. Entries are anchored on
their title links and scoped to their own element (`_split_entries`), so page furniture after the
last entry is never read as part of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from scraper import landmarks as lm
from scraper.page_text import (
    Line,
    Link,
    absolute,
    clean_venue,
    normalise,
    published_month,
    rendered,
)
from scraper.records import CommunityPost, ResearchEntry, Section, SectionKey
from scraper.urls import post_id_from_url, study_id_from_url


@dataclass(slots=True)
class SectionDraft:
    """A section as cut from the lines: its key (once known), heading, count line and lines."""

    key: SectionKey | None
    heading: str | None
    count: re.Match[str] | None = None
    lines: list[Line] = field(default_factory=list)
    markers: list[tuple[int, ...]] = field(default_factory=list)  # heading and count line paths
    furniture: bool = False  # a site widget's list (`Trending on Tressless`), not a section


def heading_key(text: str) -> tuple[SectionKey, str] | None:
    """The section a heading line opens, and the heading as shown; None for any other line."""
    heading = lm.JOIN_BUTTON.sub("", text).strip()
    key = lm.SECTION_HEADINGS.get(heading.lower())
    return (key, heading) if key else None


def split_sections(lines: list[Line]) -> tuple[list[Line], list[SectionDraft]]:
    """The lines after the title: the header's (up to the first section), and the sections."""
    header: list[Line] = []
    sections: list[SectionDraft] = []
    for line in lines:
        found = heading_key(line.text)
        count = lm.COUNT_LINE.match(line.text)
        if found:
            sections.append(SectionDraft(key=found[0], heading=found[1], markers=[line.path]))
        elif sections and lm.FURNITURE_HEADING.match(line.text):
            sections.append(SectionDraft(key=None, heading=None, furniture=True))
        elif _is_join_button(line, sections) or _in_widget(sections, count):
            continue
        elif count and sections and _takes_count(sections[-1]):
            sections[-1].count = count
            sections[-1].markers.append(line.path)
        elif count:
            sections.append(SectionDraft(key=None, heading=None, count=count, markers=[line.path]))
        elif sections:
            sections[-1].lines.append(line)
        else:
            header.append(line)
    return header, _resolve_keys([s for s in sections if not s.furniture])


def _in_widget(sections: list[SectionDraft], count: re.Match[str] | None) -> bool:
    """A line of a site widget's list; a count line there starts a section of its own."""
    return bool(sections) and sections[-1].furniture and count is None


def _takes_count(section: SectionDraft) -> bool:
    """A section just opened by its heading takes the count line that follows it."""
    return not section.furniture and section.count is None and not section.lines


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


def _study_links(line: Line) -> list[Link]:
    return [link for link in line.links() if _study_id(link.href)]


def _post_links(line: Line) -> list[Link]:
    links = []
    for link in line.links():
        if link.text.lower() in lm.NON_POST_LINK_TEXTS or _study_id(link.href):
            continue
        before, _ = line.text_outside(link)
        if before.lower() == "in":  # a linked category in the meta line, not a post
            continue
        links.append(link)
    return links


def _study_id(href: str) -> str | None:
    """The study id a link's raw href points to; None also for an href that is no URL at all."""
    try:
        return study_id_from_url(href)
    except ValueError:  # urlsplit refuses some hrefs, e.g. `a://[` (an unclosed IPv6 host)
        return None


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
    depths = _shared_depths(markers, len(starts))
    entries = []
    for number, (index, link) in enumerate(starts):
        end = starts[number + 1][0] if number + 1 < len(starts) else len(section.lines)
        following = section.lines[index + 1 : end]
        scope = _entry_scope(link, depths[number], following)
        _, after = section.lines[index].text_outside(link)
        texts = [after] if after else []
        texts += [line.text for line in following if line.path[: len(scope)] == scope]
        entries.append((link, [t.replace(lm.GLITCH, "").strip() for t in texts]))
    return entries


def _shared_depths(paths: list[tuple[int, ...]], count: int) -> list[int]:
    """For each of the first `count` paths, the longest prefix it shares with any other of
    `paths` (another object: the same tuple object is the same marker).

    Sorted, a path shares no more with one further away than with the ones in between, so its
    nearest other on either side is the one that shares most: a sort and two comparisons per
    path instead of comparing every entry with every other (a list of 10,000 entries took a
    minute that way).
    """
    order = sorted(range(len(paths)), key=paths.__getitem__)
    rank = {index: position for position, index in enumerate(order)}
    depths = []
    for index in range(count):
        path = paths[index]
        neighbours = (
            _nearest_other(paths, order, rank[index], path, -1),
            _nearest_other(paths, order, rank[index], path, +1),
        )
        depths.append(
            max((_common_prefix(path, n) for n in neighbours if n is not None), default=0)
        )
    return depths


def _nearest_other(
    paths: list[tuple[int, ...]], order: list[int], position: int, path: tuple[int, ...], step: int
) -> tuple[int, ...] | None:
    """The first path from `position` in sorted `order`, going `step`, that is not `path` itself."""
    position += step
    while 0 <= position < len(order):
        candidate = paths[order[position]]
        if candidate is not path:
            return candidate
        position += step
    return None


def _entry_scope(link: Link, shared: int, lines: list[Line]) -> tuple[int, ...]:
    """The path of the element that holds one entry: the outermost ancestor of its title link
    that holds no other entry, heading or count line (`shared`: the longest prefix its path
    shares with theirs). When that is the link itself and the entry's text is not inside it (a
    bare title link), the entry lives in the link's parent."""
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
    url = absolute(link.href, base)
    return ResearchEntry(
        url=url,
        study_id=study_id_from_url(url),
        title=link.text.replace(lm.GLITCH, "").strip() or None,
        citations=int(meta["citations"].replace(",", "")) if meta and meta["citations"] else None,
        published=published_month(meta) if meta and meta["month"] else None,
        venue=clean_venue(meta["venue"]) if meta else None,
        tldr=tldr,
    )


def _community_post(link: Link, details: list[str], base: str | None) -> CommunityPost:
    lines = [d for d in details if d.lower() != lm.COMMUNITY_BADGE]
    text = "\n".join(lines)
    meta = lm.POST_META.match(text)
    remainder = text[meta.end() :] if meta else text
    summary = next((ln.strip() for ln in remainder.split("\n") if ln.strip()), None)
    title = lm.COMMUNITY_BADGE_PREFIX.sub("", link.text)  # the badge rendered inside the link
    url = absolute(link.href, base)
    return CommunityPost(
        url=url,
        post_id=post_id_from_url(url),
        title=title or None,
        category=rendered(meta["category"]) if meta else None,
        upvotes=int(meta["upvotes"]) if meta and meta["upvotes"] else None,
        age_text=normalise(meta["age"]) if meta and meta["age"] else None,
        summary=summary,
    )


def section_record(draft: SectionDraft) -> Section:
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


def research_list(draft: SectionDraft | None, base: str | None) -> tuple[ResearchEntry, ...]:
    if draft is None:
        return ()
    entries = _split_entries(draft, _study_links)
    return tuple(_research_entry(link, details, base) for link, details in entries)


def post_list(draft: SectionDraft | None, base: str | None) -> tuple[CommunityPost, ...]:
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
