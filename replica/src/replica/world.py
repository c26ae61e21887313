"""The replica's world: studies, community posts and learn articles, and how time changes them.

`World(pages, seed)` draws everything from one `random.Random(seed)` in a fixed order, so the same
arguments give the same world, byte for byte. The first studies carry *forced variants*
(`variants.py`) so that every form the site shows appears at least once in any world of 40 or
more pages; the rest are drawn at roughly the frequencies seen on the real site.

`advance(days)` draws from `random.Random(f"{seed}/advance/{step}")`: the same sequence of calls
gives the same history. It changes the world the way the real site changes (site-anatomy.md,
"What changes between visits"); forced-variant studies keep their layout so the variants survive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TypeVar

from replica import prose, vocab
from replica.model import (
    CountForm,
    DateLine,
    Generation,
    Post,
    SectionSpec,
    Study,
    ViewLink,
)
from replica.variants import apply_forced_variants
from scraper.records import SectionKey

MIN_POSTS = 24  # a world always has enough community posts to fill a few cards
POST_ID_LENGTH = 6
ARTICLE_ID_LENGTH = 5
ARTICLES_PER_TOPIC = 3
MAX_UPVOTES = 458  # highest count seen on a card
# Per-30-day probabilities of the changes `advance` makes (scaled by the days that pass).
UPVOTE_RATE = 0.6  # a post younger than a year gains votes
CITATION_RATE = 0.03  # a study is cited more often (its entries elsewhere show the new count)
CITED_GROWTH_RATE = 0.08  # a study's cited list gains an entry
RESHUFFLE_RATE = 0.12  # a related list reshuffles
NEW_STUDY_RATE = 0.03  # new studies, as a share of live ones
REMOVAL_RATE = 0.01  # removed studies, as a share of live ones
SWITCH_RATE = 0.04  # a page switches layout generation

_GEN_WEIGHTS = (("old", 30), ("new", 45), ("mixed", 25))
_DATE_LINE_WEIGHTS: tuple[tuple[DateLine, int], ...] = (("none", 50), ("full", 38), ("date", 12))
# (discuss link, view link) per generation of the link line.
_LINK_WEIGHTS: dict[Generation, tuple[tuple[tuple[bool, ViewLink | None], int], ...]] = {
    "new": (
        ((True, None), 70),
        ((True, "host"), 16),
        ((False, None), 7),
        ((False, "empty_href"), 7),
    ),
    "old": (
        ((False, "host"), 62),
        ((False, "empty_href"), 10),
        ((False, "empty_nohref"), 8),
        ((False, None), 12),
        ((True, "host"), 8),
    ),
}
_FORM_WEIGHTS: dict[Generation, tuple[tuple[CountForm, int], ...]] = {
    "new": (("num", 68), ("plus", 5), ("blank", 7), ("noresults", 5), ("none", 15)),
    "old": (("none", 55), ("num", 28), ("blank", 10), ("noresults", 7)),
}
_PART_NAMES = ("top", "links", "cited_research", "community_posts", "related_research", "counts")


T = TypeVar("T")


def weighted(rng: random.Random, pairs: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


@dataclass(slots=True)
class Article:
    """A learn article (`/learn/<topic>/<slug>-<id5>`): prose that links to studies."""

    topic: str
    article_id: str
    slug: str
    title: str
    paragraphs: tuple[str, ...]
    studies: list[int]

    @property
    def path(self) -> str:
        return f"/learn/{self.topic}/{self.slug}-{self.article_id}"


@dataclass(frozen=True, slots=True)
class Changes:
    """What one `advance` did (study indices)."""

    added: tuple[int, ...]
    removed: tuple[int, ...]
    moved: tuple[int, ...]
    switched: tuple[int, ...]


class World:
    def __init__(self, pages: int, seed: int) -> None:
        self.seed = seed
        self.day = 0
        self.second = 0  # of the day: only the live profile's clock moves within a day
        self.steps = 0
        self.initial_pages = pages
        self.studies: list[Study] = []
        self.posts: list[Post] = []
        self.articles: list[Article] = []
        self.community_posts = (
            0  # posts[:community_posts] are forum threads; later ones discussions
        )
        self._study_ids: set[str] = set()
        self._post_ids: set[str] = set()
        self._post_bodies: dict[int, tuple[str, ...]] = {}
        rng = random.Random(seed)
        self._make_posts(rng, max(MIN_POSTS, pages // 2))
        for index in range(pages):
            self.studies.append(self._draft_study(rng, index, pages))
        self._link_ring()
        apply_forced_variants(self, rng)
        self._make_articles(rng)

    # --- lookup -------------------------------------------------------------------------------
    def live_studies(self) -> list[Study]:
        return [s for s in self.studies if s.removed_status is None]

    def retitle(self, study: Study, title: str, *, residue: bool = False) -> None:
        study.title = title
        study.slug = prose.slugify(title, residue=residue)

    def replace_id(self, study: Study, new_id: str) -> None:
        self._study_ids.discard(study.study_id)
        self._study_ids.add(new_id)
        study.study_id = new_id

    def id_taken(self, study_id: str) -> bool:
        return study_id in self._study_ids

    # --- posts --------------------------------------------------------------------------------
    def _make_posts(self, rng: random.Random, count: int) -> None:
        for _ in range(count):
            self._new_post(rng, prose.make_post_title(rng), created_day=-_post_age(rng))
        self.community_posts = len(self.posts)

    def _new_post(self, rng: random.Random, title: str, created_day: int) -> Post:
        post = Post(
            index=len(self.posts),
            post_id=prose.make_token(rng, POST_ID_LENGTH, self._post_ids),
            slug=prose.slugify(title, limit=80),
            title=title,
            category=rng.choice(vocab.CATEGORIES) if rng.random() < 0.93 else None,
            upvotes=min(MAX_UPVOTES, 1 + int(rng.paretovariate(1.1) * 2))
            if rng.random() < 0.93
            else None,
            created_day=created_day,
            summary=prose.make_post_summary(rng) if rng.random() < 0.65 else None,
        )
        self.posts.append(post)
        return post

    def post_body(self, post: Post) -> tuple[str, ...]:
        """A post's paragraphs, drawn from the post's own seed on first use."""
        body = self._post_bodies.get(post.index)
        if body is None:
            rng = random.Random(f"{self.seed}/post/{post.post_id}")
            body = self._post_bodies[post.index] = prose.make_paragraphs(rng, rng.randint(1, 3))
        return body

    def discussion_post(self, rng: random.Random, study: Study) -> int:
        """The community thread a study's Discuss link points to (created on first need)."""
        if study.discussion_post is None:
            title = f"Discussion: {prose.clip_words(study.title, 90)}"
            post = self._new_post(rng, title, created_day=self.day - rng.randint(0, 900))
            post.category = "Research/Science"
            post.studies.append(study.index)
            study.discussion_post = post.index
        return study.discussion_post

    # --- studies ------------------------------------------------------------------------------
    def _draft_study(self, rng: random.Random, index: int, population: int) -> Study:
        """One study at the site's usual frequencies; `population` bounds the link targets."""
        gen = weighted(rng, _GEN_WEIGHTS)
        parts: dict[str, Generation] = {
            name: rng.choice(("old", "new")) if gen == "mixed" else gen  # type: ignore[misc]
            for name in _PART_NAMES
        }
        title = prose.make_title(rng)
        if rng.random() < 0.04:
            title = vocab.RESEARCH_HIGHLIGHTS + title
        study = self._draft_core(rng, index, title)
        study.top_gen = parts["top"]
        self.style_links(rng, study, parts["links"])
        self._draft_sections(rng, study, parts, population)
        return study

    def _draft_core(self, rng: random.Random, index: int, title: str) -> Study:
        host = rng.choice(list(vocab.HOSTS))
        return Study(
            index=index,
            study_id=prose.make_id(rng, self._study_ids),
            slug=prose.slugify(title, residue=rng.random() < 0.5),
            title=title,
            year=rng.randint(vocab.FIRST_YEAR, vocab.LAST_YEAR),
            month=rng.randint(1, 12),
            venue=rng.choice(vocab.VENUES),
            venue_case=weighted(rng, ((0, 70), (1, 20), (2, 10))),
            authors=prose.make_authors(rng),
            tldr=prose.make_tldr(rng) if rng.random() < 0.98 else None,
            summary=prose.make_summary(rng),
            citations=int(rng.expovariate(1 / 30)),
            has_image=rng.random() < 0.8,
            date_line=weighted(rng, _DATE_LINE_WEIGHTS),
            top_gen="new",
            tldr_inline=rng.random() < 0.3,
            discuss=False,
            view=None,
            view_first=rng.random() < 0.5,
            host=host,
            source_href=vocab.HOSTS[host].format(
                a=rng.randint(10000, 99999), b=rng.randint(10, 99), c=rng.randint(1000, 9999)
            ),
        )

    def style_links(self, rng: random.Random, study: Study, gen: Generation) -> None:
        study.discuss, study.view = weighted(rng, _LINK_WEIGHTS[gen])
        if study.discuss:
            self.discussion_post(rng, study)

    def _draft_sections(
        self, rng: random.Random, study: Study, parts: dict[str, Generation], population: int
    ) -> None:
        others = population - 1
        cited = _draw_count(rng, 0.85, (0, 20)) if others else None
        posts = _draw_count(rng, 0.8, (0, 30)) if parts["community_posts"] == "new" else None
        related = _draw_count(rng, 0.85, (1, 10)) if others else None
        wanted: dict[SectionKey, int | None] = {
            "cited_research": cited,
            "community_posts": posts,
            "related_research": related,
        }
        for key, count in wanted.items():
            if count is None:
                continue
            if key == "community_posts":
                listed = rng.sample(range(self.community_posts), min(count, vocab.MAX_CARDS_SHOWN))
                hidden = count - len(listed)
            else:
                listed = _sample_others(rng, population, study.index, min(count, others))
                hidden = 0 if rng.random() < 0.6 else rng.randint(1, 900)
            study.sections[key] = SectionSpec(None, "num", listed, hidden)
            self.style_section(rng, study, key, parts[key], parts["counts"])
        for post in study.sections.get("community_posts", SectionSpec(None, "num", [])).items:
            self.posts[post].studies.append(study.index)
        if rng.random() < 0.05:
            drop_one_heading(rng, study)

    def style_section(
        self, rng: random.Random, study: Study, key: SectionKey, gen: Generation, counts: Generation
    ) -> None:
        spec = study.sections[key]
        headings = vocab.NEW_HEADINGS if gen == "new" else vocab.OLD_HEADINGS
        spec.heading = headings[key][0] if rng.random() < 0.7 else rng.choice(headings[key])
        spec.form = weighted(rng, _FORM_WEIGHTS[counts]) if spec.items else "num"
        if not spec.items and rng.random() < 0.3:
            spec.form = "none"

    def restyle(self, rng: random.Random, study: Study, gen: Generation) -> None:
        """Switch a whole page to one layout generation (the site redesigns pages over time)."""
        study.top_gen = gen
        self.style_links(rng, study, gen)
        if gen == "old":
            self._detach_posts(study)
        elif "community_posts" not in study.sections:
            listed = rng.sample(range(self.community_posts), rng.randint(1, vocab.MAX_CARDS_SHOWN))
            study.sections["community_posts"] = SectionSpec(None, "num", listed)
            for post in listed:
                self.posts[post].studies.append(study.index)
        study.sections = {k: study.sections[k] for k in _SECTION_ORDER if k in study.sections}
        for key in study.sections:
            self.style_section(rng, study, key, gen, gen)

    def _detach_posts(self, study: Study) -> None:
        spec = study.sections.pop("community_posts", None)
        for post in spec.items if spec else ():
            self.posts[post].studies.remove(study.index)

    def _link_ring(self) -> None:
        """Study i links to study i+1, so a crawl from any study reaches every other by links."""
        count = len(self.studies)
        if count < 2:
            return
        for study in self.studies:
            target = (study.index + 1) % count
            spec = study.sections.get("cited_research") or study.sections.get("related_research")
            if spec is None:
                spec = SectionSpec(vocab.NEW_HEADINGS["related_research"][0], "num", [])
                study.sections["related_research"] = spec
            if target not in spec.items:
                spec.items.insert(0, target)

    # --- learn articles -----------------------------------------------------------------------
    def _make_articles(self, rng: random.Random) -> None:
        ids: set[str] = set()
        count = len(self.studies)
        for topic in vocab.LEARN_TOPICS:
            for _ in range(ARTICLES_PER_TOPIC):
                title = prose.make_post_title(rng).rstrip("?")
                self.articles.append(
                    Article(
                        topic=topic,
                        article_id=prose.make_token(rng, ARTICLE_ID_LENGTH, ids),
                        slug=prose.slugify(title, limit=70),
                        title=title,
                        paragraphs=prose.make_paragraphs(rng, rng.randint(2, 4)),
                        studies=rng.sample(range(count), min(count, 4)),
                    )
                )

    # --- time ---------------------------------------------------------------------------------
    def advance(self, days: int) -> Changes:
        self.steps += 1
        self.day += days
        rng = random.Random(f"{self.seed}/advance/{self.steps}")
        scale = days / 30
        self._grow_upvotes(rng, scale)
        self._grow_citations(rng, scale)
        self._grow_cited_lists(rng, scale)
        self._reshuffle_related(rng, scale)
        added = self._add_studies(rng, scale)
        removed = self._remove_studies(rng, scale)
        moved = self._move_study(rng)
        switched = self._switch_generations(rng, scale)
        return Changes(tuple(added), tuple(removed), tuple(moved), tuple(switched))

    def _mutable(self) -> list[Study]:
        """Live studies whose layout time may change (forced variants stay put when possible)."""
        live = [s for s in self.live_studies() if s.alias_slug is None]
        free = [s for s in live if not s.protected]
        return free or live

    def _grow_upvotes(self, rng: random.Random, scale: float) -> None:
        for post in self.posts:
            young = self.day - post.created_day < 365
            if post.upvotes is not None and young and rng.random() < UPVOTE_RATE * scale:
                post.upvotes = min(MAX_UPVOTES, post.upvotes + rng.randint(1, 12))

    def _grow_citations(self, rng: random.Random, scale: float) -> None:
        for study in self.studies:
            if rng.random() < CITATION_RATE * scale:
                study.citations += rng.randint(1, 6)

    def _grow_cited_lists(self, rng: random.Random, scale: float) -> None:
        count = len(self.studies)
        for study in self._mutable():
            spec = study.sections.get("cited_research")
            if spec is None or count < 3 or rng.random() >= CITED_GROWTH_RATE * scale:
                continue
            target = rng.randrange(count)
            if target != study.index and target not in spec.items:
                spec.items.append(target)
                if spec.form not in {"num", "none"}:
                    spec.form = "num"

    def _reshuffle_related(self, rng: random.Random, scale: float) -> None:
        for study in self._mutable():
            spec = study.sections.get("related_research")
            if spec is not None and len(spec.items) > 1 and rng.random() < RESHUFFLE_RATE * scale:
                rng.shuffle(spec.items)
                spec.hidden += rng.randint(0, 3) if spec.hidden else 0

    def _add_studies(self, rng: random.Random, scale: float) -> list[int]:
        live = self._mutable()
        added: list[int] = []
        for _ in range(max(1, round(len(live) * NEW_STUDY_RATE * scale))):
            study = self._draft_study(rng, len(self.studies), len(self.studies))
            self.studies.append(study)
            added.append(study.index)
            self.link_new_study(rng, study, live)
        return added

    def link_new_study(self, rng: random.Random, study: Study, live: list[Study]) -> list[Study]:
        """List a new study first among the related research of two of `live`; returns them."""
        referrers = rng.sample(live, min(len(live), 2))
        for referrer in referrers:
            spec = referrer.sections.get("related_research")
            if spec is None:
                spec = SectionSpec(vocab.NEW_HEADINGS["related_research"][0], "num", [])
                referrer.sections["related_research"] = spec
            spec.items.insert(0, study.index)
        return referrers

    def _remove_studies(self, rng: random.Random, scale: float) -> list[int]:
        candidates = self._mutable()
        count = min(len(candidates) - 1, max(1, round(len(candidates) * REMOVAL_RATE * scale)))
        removed = rng.sample(candidates, max(0, count))
        for study in removed:
            study.removed_status = 404 if rng.random() < 0.5 else 410
        return [s.index for s in removed]

    def _move_study(self, rng: random.Random) -> list[int]:
        """One study moves to a new slug (same id); its old path redirects (301)."""
        candidates = self._mutable()
        if not candidates:
            return []
        study = rng.choice(candidates)
        words = study.slug.split("-")
        new_slug = "-".join([*words[: rng.randint(2, 6)], str(study.year)])
        if new_slug == study.slug or new_slug in study.old_slugs:
            return []
        study.old_slugs.append(study.slug)
        study.slug = new_slug
        return [study.index]

    def _switch_generations(self, rng: random.Random, scale: float) -> list[int]:
        switched = []
        for study in self._mutable():
            if rng.random() < SWITCH_RATE * scale:
                self.restyle(rng, study, "new" if study.top_gen == "old" else "old")
                switched.append(study.index)
        return switched


_SECTION_ORDER: tuple[SectionKey, ...] = ("cited_research", "community_posts", "related_research")


def drop_one_heading(rng: random.Random, study: Study) -> None:
    """Hide one heading where a reader can still tell which section it was (anatomy, §8).

    The cited heading may go only when cited is the first section; the others only when a section
    precedes them. The count line and at least one item stay, so the list still announces itself.
    """
    keys = [k for k in _SECTION_ORDER if k in study.sections]
    eligible = [
        key
        for position, key in enumerate(keys)
        if study.sections[key].form != "none"
        and study.sections[key].items
        and (position == 0 if key == "cited_research" else position > 0)
    ]
    if eligible:
        study.sections[rng.choice(eligible)].heading = None


def _draw_count(rng: random.Random, presence: float, bounds: tuple[int, int]) -> int | None:
    """How many entries a section lists, or None when the section is absent."""
    if rng.random() >= presence:
        return None
    low, high = bounds
    return min(high, low + int(rng.expovariate(1 / max(1, (high - low) / 3))))


def _sample_others(rng: random.Random, population: int, me: int, count: int) -> list[int]:
    chosen: list[int] = []
    while len(chosen) < count:
        candidate = rng.randrange(population)
        if candidate != me and candidate not in chosen:
            chosen.append(candidate)
    return chosen


def _post_age(rng: random.Random) -> int:
    """Days since a post was written: many recent ones, a long tail back to ~9 years."""
    return 1 + min(3300, int(rng.expovariate(1 / 900)))
