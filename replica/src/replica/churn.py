"""The live profile's world: how a study page changes over simulated days, at its own rate.

`LiveWorld` is a `World` whose `advance` plays the live site's change process one simulated day
at a time, each day from `random.Random(f"{seed}/live/{day}")`, so `advance(7)` and seven
`advance(1)` give the same history, and the same seed the same site. What it does per day:

- every study has a change rate drawn once (`rates`): most have none (a study page is final once
  published), a minority a heavy-tailed Pareto rate, so a few change every day or two;
- a study whose day comes up shows one change a reader can see: a section's total grows, its
  cited list gains an entry, a listed study's citation count grows, a listed post's upvotes move,
  or (rarely) its summary or title is edited;
- new studies appear (a share of the live ones), listed in the sitemaps and linked from two
  existing studies; a few studies are removed (404 or 410).

`touched` collects the studies whose page must be rendered anew; `site.Replica` takes it on each
refresh and keeps every other study page's view (re-aged to the day). That is how the live site's
server-side renderer behaves: a page picks up its neighbours' new titles and counts when it is
regenerated, not whenever a neighbour changes, so most pages stay unchanged for weeks.
"""

from __future__ import annotations

import math
import random
import zlib

from replica import prose, vocab
from replica.model import SectionSpec, Study
from replica.world import MAX_UPVOTES, Changes, World, weighted

ACTIVE_SHARE = 0.2  # studies that ever change after publication
RATE_SCALE = 0.05  # changes per day of a typical active study (Pareto's minimum)
RATE_SHAPE = 1.2  # Pareto shape: a heavy tail of studies that change almost daily
MAX_RATE = 1.5  # changes per day, at most
NEW_STUDIES_PER_DAY = 0.003  # as a share of live studies
REMOVALS_PER_DAY = 0.0005  # as a share of live studies
INITIAL_AGE_DAYS = 700  # studies of the first day appeared up to this long before it
_EVENTS = (
    ("total", 30),
    ("cited", 15),
    ("citations", 20),
    ("upvotes", 25),
    ("summary", 7),
    ("title", 3),
)


class LiveWorld(World):
    """A world whose studies change at heterogeneous rates (see the module docstring)."""

    def __init__(self, pages: int, seed: int) -> None:
        super().__init__(pages, seed)
        rng = random.Random(f"{seed}/live")
        self.rates: list[float] = [_draw_rate(rng, study) for study in self.studies]
        self.appeared: list[int] = [
            -1 - zlib.crc32(study.study_id.encode()) % INITIAL_AGE_DAYS for study in self.studies
        ]
        self.touched: set[int] = set(range(len(self.studies)))
        # Off: days pass (ages tick, the noise goes on) and nothing a reader sees changes.
        self.changing = True

    def take_touched(self) -> set[int]:
        """The studies whose page changed since the last call (all of them the first time)."""
        touched, self.touched = self.touched, set()
        return touched

    def advance(self, days: int) -> Changes:
        self.steps += 1
        added: list[int] = []
        removed: list[int] = []
        for _ in range(days):
            self.day += 1
            if not self.changing:
                continue
            rng = random.Random(f"{self.seed}/live/{self.day}")
            self._churn(rng)
            added += self._publish(rng)
            removed += self._remove(rng)
        return Changes(tuple(added), tuple(removed), (), ())

    # --- one day ------------------------------------------------------------------------------
    def _churn(self, rng: random.Random) -> None:
        for study in self.studies:
            rate = self.rates[study.index]
            if rate and study.removed_status is None and rng.random() < 1 - math.exp(-rate):
                self._change(rng, study, weighted(rng, _EVENTS))
                self.touched.add(study.index)

    def _change(self, rng: random.Random, study: Study, event: str) -> None:
        cards = study.sections.get("community_posts")
        listed = [
            target
            for key in ("cited_research", "related_research")
            for target in getattr(study.sections.get(key), "items", ())
        ]
        if event == "cited" and "cited_research" in study.sections:
            self._cite(rng, study, study.sections["cited_research"])
        elif event == "citations" and listed:
            self.studies[rng.choice(listed)].citations += rng.randint(1, 6)
        elif event == "upvotes" and cards is not None and cards.items:
            post = self.posts[rng.choice(cards.items)]
            if post.upvotes is not None:
                post.upvotes = min(MAX_UPVOTES, post.upvotes + rng.randint(1, 12))
        elif event == "summary":
            study.summary = prose.make_summary(rng)
        elif event == "title":
            study.title = prose.make_title(rng)  # the slug stays: the site keys pages by id
        elif study.sections:
            spec = study.sections[rng.choice(list(study.sections))]
            spec.hidden += rng.randint(1, 5)

    def _cite(self, rng: random.Random, study: Study, spec: SectionSpec) -> None:
        target = rng.randrange(len(self.studies))
        live = self.studies[target].removed_status is None
        if live and target != study.index and target not in spec.items:
            spec.items.append(target)

    def _publish(self, rng: random.Random) -> list[int]:
        live = [s for s in self.live_studies() if not s.protected]
        added: list[int] = []
        for _ in range(_stochastic_round(rng, len(live) * NEW_STUDIES_PER_DAY)):
            study = self._draft_study(rng, len(self.studies), len(self.studies))
            self.studies.append(study)
            self.rates.append(_draw_rate(rng, study))
            self.appeared.append(self.day)
            self.touched.add(study.index)
            added.append(study.index)
            for referrer in rng.sample(live, min(len(live), 2)):
                spec = referrer.sections.get("related_research")
                if spec is None:
                    spec = SectionSpec(vocab.NEW_HEADINGS["related_research"][0], "num", [])
                    referrer.sections["related_research"] = spec
                spec.items.insert(0, study.index)
                self.touched.add(referrer.index)
        return added

    def _remove(self, rng: random.Random) -> list[int]:
        candidates = [s for s in self.live_studies() if not s.protected]
        count = min(len(candidates) - 1, _stochastic_round(rng, len(candidates) * REMOVALS_PER_DAY))
        removed = rng.sample(candidates, max(0, count))
        for study in removed:
            study.removed_status = 404 if rng.random() < 0.5 else 410
        return [s.index for s in removed]


def _draw_rate(rng: random.Random, study: Study) -> float:
    """Changes per day: 0 for most studies (and for forced variants, so they keep their form)."""
    if study.protected or rng.random() >= ACTIVE_SHARE:
        return 0.0
    return min(MAX_RATE, RATE_SCALE * rng.paretovariate(RATE_SHAPE))


def _stochastic_round(rng: random.Random, expected: float) -> int:
    """`expected` rounded down or up at random, so small worlds still see rare events."""
    whole = int(expected)
    return whole + (rng.random() < expected - whole)
