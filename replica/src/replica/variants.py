"""Forced variants: the first studies of every world show each form the site is known to show.

Drawing at real frequencies alone would leave rare forms (`14 / NoResults`, an empty host, a
missing heading) out of small worlds, and then tests and the quality gate would not see them.
`FORCED_VARIANTS[i]` is applied to study `i` for every `i < pages`, so a world of 40 or more pages
has all of them (exact counts such as `4 / 4` and a plain "View this study on <host>" link come
with the generation variants). Each one sets only what it names and leaves the rest as drawn.
Forced studies are `protected`: `advance` changes their numbers but not their layout.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

from replica import prose, vocab
from replica.model import CountForm, EntryLook, SectionSpec, Study
from scraper.records import SectionKey

if TYPE_CHECKING:
    from replica.world import World

Variant = Callable[["World", Study, random.Random], None]

_OLD_8_YEARS = -(8 * 365 + 20)  # created so long ago that its age text stays "8 years ago"


def _others(world: World, study: Study, count: int) -> list[int]:
    """`count` other studies, starting with the ring successor so the page keeps its link."""
    total = len(world.studies)
    chosen = [(study.index + step) % total for step in range(1, total)]
    return chosen[:count]


def _set(
    world: World,
    study: Study,
    key: SectionKey,
    *,
    form: CountForm = "num",
    count: int = 3,
    hidden: int = 0,
    heading: str | None = "",
) -> SectionSpec:
    """Put section `key` on the page with `count` items; heading "" means the newer heading."""
    if key == "community_posts":
        items = list(range(min(count, world.community_posts)))
    else:
        items = _others(world, study, count)
    previous = study.sections.get(key)
    if previous is not None and key == "community_posts":
        for post in previous.items:
            world.posts[post].studies.remove(study.index)
    if key == "community_posts":
        for post in items:
            world.posts[post].studies.append(study.index)
    text = vocab.NEW_HEADINGS[key][0] if heading == "" else heading
    spec = SectionSpec(text, form, items, hidden)
    study.sections[key] = spec
    order: tuple[SectionKey, ...] = ("cited_research", "community_posts", "related_research")
    study.sections = {k: study.sections[k] for k in order if k in study.sections}
    return spec


def _drop(study: Study, *keys: SectionKey) -> None:
    for key in keys:
        study.sections.pop(key, None)


def _new_page(world: World, study: Study, rng: random.Random) -> None:
    world.restyle(rng, study, "new")
    study.date_line = "full"
    study.discuss, study.view = True, None
    world.discussion_post(rng, study)
    _set(world, study, "cited_research", count=4)
    _set(world, study, "community_posts", count=5)
    _set(world, study, "related_research", count=3)


def _old_page(world: World, study: Study, rng: random.Random) -> None:
    world.restyle(rng, study, "old")
    study.date_line = "full"
    study.discuss, study.view = False, "host"
    _set(world, study, "cited_research", form="none", count=5, heading="Cited in this study")
    _set(world, study, "related_research", form="none", count=4, heading="Related")


def _mixed_page(world: World, study: Study, rng: random.Random) -> None:
    world.restyle(rng, study, "old")
    study.date_line = "full"
    study.discuss, study.view = True, "host"
    study.view_first = False
    world.discussion_post(rng, study)
    _set(world, study, "cited_research", count=3)
    _set(world, study, "community_posts", count=2)
    _set(world, study, "related_research", form="blank", count=2, heading="Related")


def _count(form: CountForm, key: SectionKey, count: int, hidden: int = 0) -> Variant:
    def apply(world: World, study: Study, rng: random.Random) -> None:
        _set(world, study, key, form=form, count=count, hidden=hidden)

    return apply


def _zero(world: World, study: Study, rng: random.Random) -> None:
    _set(world, study, "cited_research", count=0)
    _set(world, study, "related_research", count=2)


def _links(discuss: bool, view: str | None, view_first: bool = True) -> Variant:
    def apply(world: World, study: Study, rng: random.Random) -> None:
        study.discuss, study.view = discuss, view  # type: ignore[assignment]
        study.view_first = view_first
        if discuss:
            world.discussion_post(rng, study)

    return apply


def _missing_heading(key: SectionKey) -> Variant:
    def apply(world: World, study: Study, rng: random.Random) -> None:
        for other, spec in study.sections.items():  # one missing heading per page, no more
            spec.heading = spec.heading or vocab.NEW_HEADINGS[other][0]
        _set(
            world, study, "cited_research", count=3, heading=None if key == "cited_research" else ""
        )
        if key == "community_posts":
            _set(world, study, key, count=3, heading=None)
        if key == "related_research":
            _drop(study, "community_posts")
            _set(world, study, key, count=2, heading=None)

    return apply


def _glitch(world: World, study: Study, rng: random.Random) -> None:
    spec = _set(world, study, "cited_research", count=4)
    for target in spec.items[1:3]:
        study.looks["cited_research", target] = EntryLook(True, True, True, True, True, "relative")


def _odd_cards(world: World, study: Study, rng: random.Random) -> None:
    """Cards without a category, without upvotes, with `1 upvotes`, and neither of the two."""
    no_category, no_upvotes, one_vote, bare = world.posts[:4]
    no_category.category = None
    no_upvotes.upvotes = None
    one_vote.upvotes, one_vote.created_day, one_vote.category = 1, _OLD_8_YEARS, "Chat"
    bare.category = bare.upvotes = None
    no_category.summary = None
    one_vote.summary = prose.make_post_summary(rng)
    _set(world, study, "community_posts", count=5, hidden=12)


def _authors(kind: str, count: int) -> Variant:
    def apply(world: World, study: Study, rng: random.Random) -> None:
        special = tuple(prose.author_name(rng, kind) for _ in range(min(count, 3)))
        rest = prose.make_authors(rng, max(0, count - len(special)))
        names = list(dict.fromkeys(special + rest))
        while len(names) < count:
            names.append(f"{prose.author_name(rng, 'plain')} {len(names)}")
        study.authors = tuple(names[:count])

    return apply


def _mixed_authors(world: World, study: Study, rng: random.Random) -> None:
    study.authors = (
        prose.author_name(rng, "hyphenated"),
        "J.C. " + rng.choice(vocab.LAST_NAMES),
        rng.choice(vocab.LAST_NAMES) + " Tw",
        prose.author_name(rng, "accented"),
    )


def _decomposed_authors(world: World, study: Study, rng: random.Random) -> None:
    name = unicodedata.normalize("NFD", "Renée Núñez‐Gómez")
    study.authors = (prose.author_name(rng, "plain"), name, prose.author_name(rng, "decomposed"))


def _title(make: Callable[[random.Random], str], residue: bool = False) -> Variant:
    def apply(world: World, study: Study, rng: random.Random) -> None:
        world.retitle(study, make(rng), residue=residue)

    return apply


def _highlights(rng: random.Random) -> str:
    return vocab.RESEARCH_HIGHLIGHTS + prose.make_title(rng)


def _vitamin(rng: random.Random) -> str:
    return f"Vitamin D2 Status and {prose.title_case(rng.choice(vocab.CONDITIONS))}"


def _fda(rng: random.Random) -> str:
    return f"FDA-Approved {prose.title_case(rng.choice(vocab.DRUGS))} for Hair Loss – A Review"


def _top(date_line: str, venue: str | None = None, gen: str = "new", case: int = 0) -> Variant:
    def apply(world: World, study: Study, rng: random.Random) -> None:
        study.date_line = date_line  # type: ignore[assignment]
        study.top_gen = gen  # type: ignore[assignment]
        study.venue_case = case
        if venue is not None:
            study.venue = venue

    return apply


def _bare_top(world: World, study: Study, rng: random.Random) -> None:
    study.has_image = False
    study.tldr = None


def _tldr_inline(world: World, study: Study, rng: random.Random) -> None:
    study.tldr_inline = True
    study.tldr = study.tldr or prose.make_tldr(rng)


def _similar(world: World, study: Study, rng: random.Random) -> None:
    _set(world, study, "related_research", count=4, heading="Similar Research")


def _alias(world: World, study: Study, rng: random.Random) -> None:
    """The same id under a second, short editorial slug (site-anatomy.md, URLs and ids)."""
    words = [w for w in study.slug.split("-") if w not in {"and", "of", "in", "for", "the", "a"}]
    short = "-".join(words[:4]) or "study"
    study.alias_slug = short if short != study.slug else f"{short}-review"
    study.date_line = "full"


def _case_twin(world: World, study: Study, rng: random.Random) -> None:
    """An id that differs from another study's id only in letter case (ids are case-sensitive)."""
    for other in world.studies[: study.index]:
        twin = other.study_id.swapcase()
        if twin != other.study_id and not world.id_taken(twin):
            world.replace_id(study, twin)
            return


def _entry_looks(world: World, study: Study, rng: random.Random) -> None:
    """Entries with every part, with none, and with absolute and tracking-query links."""
    spec = _set(world, study, "cited_research", count=4)
    bare, full, absolute, tracking = spec.items
    study.looks["cited_research", bare] = EntryLook(False, False, False, False, False, "relative")
    study.looks["cited_research", full] = EntryLook(True, True, True, True, False, "relative")
    study.looks["cited_research", absolute] = EntryLook(True, False, True, False, False, "absolute")
    study.looks["cited_research", tracking] = EntryLook(False, True, False, True, False, "tracking")


FORCED_VARIANTS: tuple[tuple[str, Variant], ...] = (
    ("new_generation", _new_page),
    ("old_generation", _old_page),
    ("mixed_generation", _mixed_page),
    ("count_more", _count("num", "related_research", 6, hidden=598)),
    ("count_lower_bound", _count("plus", "related_research", 6)),
    ("count_blank_total", _count("blank", "cited_research", 9)),
    ("count_noresults", _count("noresults", "cited_research", 14)),
    ("count_zero", _zero),
    ("count_one", _count("num", "related_research", 1)),
    ("link_discuss_only", _links(True, None)),
    ("link_empty_host_href", _links(False, "empty_href")),
    ("link_empty_host_nohref", _links(False, "empty_nohref")),
    ("link_both_view_first", _links(True, "host", view_first=True)),
    ("link_both_discuss_first", _links(True, "host", view_first=False)),
    ("link_none", _links(False, None)),
    ("missing_cited_heading", _missing_heading("cited_research")),
    ("missing_community_heading", _missing_heading("community_posts")),
    ("missing_related_heading", _missing_heading("related_research")),
    ("glitch", _glitch),
    ("odd_cards", _odd_cards),
    ("authors_cyrillic", _authors("cyrillic", 3)),
    ("authors_decomposed", _decomposed_authors),
    ("authors_hyphen_initials", _mixed_authors),
    ("authors_33", _authors("plain", 33)),
    ("authors_1", _authors("accented", 1)),
    ("title_highlights", _title(_highlights)),
    ("title_longest", _title(prose.long_title)),
    ("title_shortest", _title(lambda rng: "Alopecia Today")),
    ("slug_sub_residue", _title(_vitamin, residue=True)),
    ("slug_scp_residue", _title(_fda, residue=True)),
    ("venue_pubmed", _top("full", "PubMed", "new")),
    ("venue_old_lowercase", _top("full", None, "old", case=1)),
    ("date_only", _top("date")),
    ("no_date_line", _top("none")),
    ("no_image_no_tldr", _bare_top),
    ("tldr_inline", _tldr_inline),
    ("similar_research", _similar),
    ("two_slugs", _alias),
    ("case_twin_id", _case_twin),
    ("entry_looks", _entry_looks),
)


def apply_forced_variants(world: World, rng: random.Random) -> None:
    for study, (_name, variant) in zip(world.studies, FORCED_VARIANTS, strict=False):
        variant(world, study, rng)
        study.protected = True
