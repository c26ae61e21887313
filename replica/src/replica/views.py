"""From world state to views: what each page of the replica shows right now.

Views are frozen and compare by value, so `Replica` can tell an unchanged page from a changed one
after `advance` by comparing the old view with the new one.
"""

from __future__ import annotations

import zlib

from replica import prose, vocab
from replica.markup.text import entry_meta
from replica.model import (
    Block,
    CardView,
    EntryLook,
    EntryView,
    HrefStyle,
    LinkView,
    PageView,
    PlainView,
    Post,
    SectionView,
    Study,
    StudyView,
)
from replica.world import World
from scraper.records import SectionKey

IMAGE_PATH = "/images/research/{id}.webp"
SEARCH_PAGE_SIZE = 10
SEARCH_PAGES = 3
HOME_LINKS = 20


def venue_cased(venue: str, case: int) -> str:
    """The same venue as different pages spell it (`Dermatologic Therapy` / `therapy`)."""
    if case == 1:
        first, _, rest = venue.partition(" ")
        return f"{first} {rest.lower()}".strip()
    if case == 2:
        return " ".join(prose.cap(w) for w in venue.split(" "))
    return venue


def alias_title(title: str) -> str:
    """The short-slug page shows the title with a small difference (dash or last-word case)."""
    if "–" in title:
        return title.replace("–", "-")
    head, _, last = title.rpartition(" ")
    return f"{head} {last.lower()}" if head and last[:1].isupper() else f"{title} (Review)"


def study_view(world: World, study: Study, *, alias: bool = False) -> StudyView:
    path = study.alias_path if alias and study.alias_path else study.path
    dated = study.date_line != "none"
    case = (study.venue_case + 1) % 3 if alias else study.venue_case
    return StudyView(
        path=path,
        study_id=study.study_id,
        title=alias_title(study.title) if alias else study.title,
        published=(study.year, study.month) if dated else None,
        venue=venue_cased(study.venue, case) if study.date_line == "full" else None,
        venue_space=study.top_gen == "new",
        authors=study.authors,
        image_src=IMAGE_PATH.format(id=study.study_id) if study.has_image else None,
        tldr=study.tldr,
        tldr_inline=study.tldr_inline,
        summary=study.summary,
        links=_links(world, study),
        sections=tuple(_section(world, study, key) for key in study.sections),
    )


def _links(world: World, study: Study) -> tuple[LinkView, ...]:
    links: list[LinkView] = []
    if study.discuss and study.discussion_post is not None:
        links.append(LinkView("discuss", "", world.posts[study.discussion_post].path))
    if study.view == "host":
        links.append(LinkView("view", study.host, study.source_href))
    elif study.view == "empty_href":
        links.append(LinkView("view", "", study.source_href))
    elif study.view == "empty_nohref":
        links.append(LinkView("view", "", None))
    if study.view_first:
        links.reverse()
    return tuple(links)


def _section(world: World, study: Study, key: SectionKey) -> SectionView:
    spec = study.sections[key]
    entries: tuple[EntryView, ...] = ()
    cards: tuple[CardView, ...] = ()
    if key == "community_posts":
        cards = tuple(card_view(world, world.posts[i]) for i in spec.items)
    else:
        entries = tuple(entry_view(world, study, key, i) for i in spec.items)
    return SectionView(
        key=key,
        heading=spec.heading,
        form=spec.form,
        total=len(spec.items) + spec.hidden,
        entries=entries,
        cards=cards,
    )


def entry_look(world: World, study: Study, key: SectionKey, target: int) -> EntryLook:
    """Which parts an entry shows: fixed per (page, target), so reshuffles do not change it."""
    forced = study.looks.get((key, target))
    if forced is not None:
        return forced
    h = zlib.crc32(f"{world.seed}:{study.study_id}:{key}:{target}".encode())
    h2 = zlib.crc32(f"{target}:{study.index}".encode())
    citations, date, venue, tldr = ((h >> shift) % 100 for shift in (0, 8, 16, 24))
    style: HrefStyle = "relative"
    if h2 % 100 < 6:
        style = "absolute"
    elif h2 % 100 < 12:
        style = "tracking"
    return EntryLook(
        citations=citations < 75,
        date=date < 80,
        venue=venue < 65,
        tldr=tldr < 70,
        glitch=(h2 >> 8) % 100 < 3,
        href_style=style,
    )


def entry_view(world: World, study: Study, key: SectionKey, target: int) -> EntryView:
    other = world.studies[target]
    look = entry_look(world, study, key, target)
    return EntryView(
        href_style=look.href_style,
        path=other.path,
        study_id=other.study_id,
        title=other.title,
        citations=other.citations if look.citations else None,
        published=(other.year, other.month) if look.date else None,
        venue=venue_cased(other.venue, other.venue_case) if look.venue else None,
        tldr=other.tldr if look.tldr else None,
        glitch=look.glitch,
    )


def card_view(world: World, post: Post) -> CardView:
    return CardView(
        path=post.path,
        post_id=post.post_id,
        title=post.title,
        category=post.category,
        upvotes=post.upvotes,
        age_text=prose.age_text(world.day - post.created_day),
        summary=post.summary,
    )


# --- Pages that are not studies ---------------------------------------------------------------
def _study_links(world: World, indices: list[int]) -> Block:
    return Block(
        "links", links=tuple((world.studies[i].title, world.studies[i].path) for i in indices)
    )


def post_view(world: World, post: Post) -> PlainView:
    card = card_view(world, post)
    meta = " · ".join(
        part
        for part in (
            card.category,
            f"{card.upvotes} upvotes" if card.upvotes else None,
            card.age_text,
        )
        if part
    )
    blocks = [Block("p", meta), *(Block("p", text) for text in world.post_body(post))]
    if post.studies:
        blocks += [Block("h2", "Studies mentioned"), _study_links(world, post.studies[:8])]
    return PlainView(post.path, "other", post.title, tuple(blocks))


def _matches(world: World, keyword: str) -> list[int]:
    """Live studies a search for `keyword` lists: title matches first, then a stable filler."""
    word = keyword.replace("-", " ")
    live = world.live_studies()
    hits = [s.index for s in live if word in s.title.lower()]
    if len(hits) < SEARCH_PAGE_SIZE:
        rest = sorted(
            (s for s in live if s.index not in hits),
            key=lambda s: zlib.crc32(f"{keyword}{s.study_id}".encode()),
        )
        hits += [s.index for s in rest[: SEARCH_PAGE_SIZE * SEARCH_PAGES - len(hits)]]
    return hits


def search_view(world: World, keyword: str, page: int | None) -> PlainView:
    hits = _matches(world, keyword)
    if page is None:
        path, shown = f"/search/{keyword}", hits[:20]
    else:
        path = f"/search/research/{keyword}/{page}"
        shown = hits[(page - 1) * SEARCH_PAGE_SIZE : page * SEARCH_PAGE_SIZE]
    pager = []
    if page is not None and page > 1:
        pager.append(("Previous page", f"/search/research/{keyword}/{page - 1}"))
    if page is not None and page < SEARCH_PAGES:
        pager.append(("Next page", f"/search/research/{keyword}/{page + 1}"))
    listed = (_study_links(world, shown),) if page is None else _listing_entries(world, shown)
    blocks = (
        Block("p", f"{len(hits)} studies found for “{keyword.replace('-', ' ')}”."),
        *listed,
        Block("links", links=tuple(pager)),
    )
    return PlainView(path, "search", f"Search results: {keyword.replace('-', ' ')}", blocks)


def _listing_entries(world: World, indices: list[int]) -> tuple[Block, ...]:
    """A research listing's entries: the title link, `N citations, Month YYYY in “Venue”`, then
    the TLDR, as the live site's listings show them."""
    blocks: list[Block] = []
    for index in indices:
        study = world.studies[index]
        entry = EntryView(
            href_style="relative",
            path=study.path,
            study_id=study.study_id,
            title=study.title,
            citations=study.citations,
            published=(study.year, study.month),
            venue=venue_cased(study.venue, study.venue_case),
            tldr=study.tldr,
            glitch=False,
        )
        blocks.append(Block("links", links=((study.title, study.path),)))
        blocks.append(Block("p", entry_meta(entry) or ""))
        if study.tldr:
            blocks.append(Block("p", study.tldr))
    return tuple(blocks)


def learn_hub_view(world: World, topic: str) -> PlainView:
    articles = [a for a in world.articles if a.topic == topic]
    blocks = (
        Block(
            "p", f"Guides about {topic.replace('-', ' ')}, written from the research we summarise."
        ),
        Block("links", links=tuple((a.title, a.path) for a in articles)),
    )
    return PlainView(f"/learn/{topic}", "learn", f"Learn about {topic.replace('-', ' ')}", blocks)


def learn_article_view(world: World, position: int) -> PlainView:
    article = world.articles[position]
    links = list(_study_links(world, article.studies).links)
    aliased = [s for s in world.studies if s.alias_path]
    if position == 0 and aliased:
        links.append((alias_title(aliased[0].title), aliased[0].alias_path or ""))
    blocks = (
        *(Block("p", text) for text in article.paragraphs),
        Block("h2", "Research mentioned in this guide"),
        Block("links", links=tuple(links)),
    )
    return PlainView(article.path, "learn", article.title, blocks)


def home_view(world: World) -> PlainView:
    newest = [s.index for s in reversed(world.live_studies())][:HOME_LINKS]
    blocks = (
        Block("p", "Plain-language summaries of hair loss research, and what the community says."),
        Block("h2", "Learn"),
        Block(
            "links",
            links=tuple((t.replace("-", " ").title(), f"/learn/{t}") for t in vocab.LEARN_TOPICS),
        ),
        Block("h2", "Browse research"),
        Block("links", links=tuple((k, f"/search/{k}") for k in vocab.SEARCH_KEYWORDS)),
        Block("h2", "Latest research"),
        _study_links(world, newest),
    )
    return PlainView("/", "other", "Hair loss research, summarised", blocks)


def community_view(world: World) -> PlainView:
    newest = sorted(world.posts, key=lambda p: (-p.created_day, p.index))[:HOME_LINKS]
    blocks = (
        Block("p", "Recent threads from the community."),
        Block("links", links=tuple((p.title, p.path) for p in newest)),
    )
    return PlainView("/community", "other", "Community", blocks)


def error_view(path: str, status: int) -> PlainView:
    if status == 410:
        title, text = "410 – This study is gone", "The study was removed from the site."
    else:
        title, text = "404 – Page not found", "There is no page at this address."
    blocks = (Block("p", text), Block("links", links=(("Back to the home page", "/"),)))
    return PlainView(path, "error", title, blocks, status=status)


def page_views(world: World) -> dict[str, PageView]:
    """Every HTML page the replica serves with status 200, by path."""
    views: dict[str, PageView] = {}
    for study in world.live_studies():
        views[study.path] = study_view(world, study)
        if study.alias_path:
            views[study.alias_path] = study_view(world, study, alias=True)
    views.update(plain_views(world))
    return views


def plain_views(world: World) -> dict[str, PageView]:
    """Every page that is not a study: posts, listings, learn pages, by path."""
    views: dict[str, PageView] = {}
    for post in world.posts:
        views[post.path] = post_view(world, post)
    for plain in _listing_views(world):
        views[plain.path] = plain
    return views


def _listing_views(world: World) -> list[PlainView]:
    listings = [home_view(world), community_view(world)]
    for keyword in vocab.SEARCH_KEYWORDS:
        listings.append(search_view(world, keyword, None))
        listings += [search_view(world, keyword, n) for n in range(1, SEARCH_PAGES + 1)]
    listings += [learn_hub_view(world, topic) for topic in vocab.LEARN_TOPICS]
    listings += [learn_article_view(world, i) for i in range(len(world.articles))]
    return listings
