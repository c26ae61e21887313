"""The live profile's world: how a study page changes over simulated time, at its own rate.

`LiveWorld` is a `World` whose clock moves by the second (`advance_seconds`; `advance(days)` is
whole days of it). Changes happen at instants within a day, as on the live site, where a crawl at
1 request a second lasts most of the day and a page fetched in the morning may change by the
evening. Each day's agenda -- what changes when -- is drawn when the day begins, from
`random.Random(f"{seed}/live/{day}")`, and every event draws what it does from its own seed, so
the world at an instant is the same however the clock got there: `advance(7)`, seven
`advance(1)` and 604,800 `advance_seconds(1)` give the same history, and the same seed the same
site. What a day holds:

- every study has a change rate drawn once (`rates`): most have none (a study page is final once
  published), a minority a heavy-tailed Pareto rate, so a few change every day or two; a study's
  changes come as a Poisson process at its rate (a fast one may change twice in a day);
  `change_rates` multiplies them all, for a busier site (the same studies change, more often);
- a change is one thing a reader can see: a section's total grows, its cited list gains an entry,
  a listed study's citation count grows, a listed post's upvotes move, or (rarely) its summary or
  title is edited;
- new studies appear (a share of the live ones), listed in the sitemaps and linked from two
  existing studies; a few studies are removed (404 or 410).

`touched` collects the studies whose page must be rendered anew; `site.Replica` takes it on each
refresh and keeps every other study page's view (re-aged to the day). That is how the live site's
server-side renderer behaves: a page picks up its neighbours' new titles and counts when it is
regenerated, not whenever a neighbour changes, so most pages stay unchanged for weeks.
"""

from __future__ import annotations

import random
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

from replica import prose
from replica.model import SectionSpec, Study
from replica.world import MAX_UPVOTES, Changes, World, weighted

ACTIVE_SHARE = 0.2  # studies that ever change after publication
RATE_SCALE = 0.05  # changes per day of a typical active study (Pareto's minimum)
RATE_SHAPE = 1.2  # Pareto shape: a heavy tail of studies that change almost daily
MAX_RATE = 1.5  # changes per day, at most
NEW_STUDIES_PER_DAY = 0.003  # as a share of live studies
REMOVALS_PER_DAY = 0.0005  # as a share of live studies
INITIAL_AGE_DAYS = 700  # studies of the first day appeared up to this long before it
DAY_S = 86_400
_EVENTS = (
    ("total", 30),
    ("cited", 15),
    ("citations", 20),
    ("upvotes", 25),
    ("summary", 7),
    ("title", 3),
)


@dataclass(frozen=True, slots=True, order=True)
class Event:
    """One thing that happens at an instant of a day: its own seed draws what it does."""

    second: int  # of the day
    kind: Literal["change", "publish", "remove"]
    study: int  # the changing study's index (-1 for the others)
    seed: int


_RARE_EVENTS: tuple[tuple[Literal["publish", "remove"], float], ...] = (
    ("publish", NEW_STUDIES_PER_DAY),
    ("remove", REMOVALS_PER_DAY),
)


class Watcher(Protocol):
    """What follows the world's clock (`site.Replica`: its pages)."""

    def event_happened(self, event: Event, studies: list[int]) -> None: ...

    def day_began(self) -> None: ...


class LiveWorld(World):
    """A world whose studies change at heterogeneous rates (see the module docstring)."""

    def __init__(self, pages: int, seed: int, *, change_rates: float = 1.0) -> None:
        super().__init__(pages, seed)
        rng = random.Random(f"{seed}/live")
        # Multiplies every study's change rate (the same studies change, each that much more
        # often): how busy the changing minority is, for a bench to try a busier site.
        self.change_rates = change_rates
        self.rates: list[float] = [self._draw_rate(rng, study) for study in self.studies]
        self.appeared: list[float] = [  # days, fractional
            -1 - zlib.crc32(study.study_id.encode()) % INITIAL_AGE_DAYS for study in self.studies
        ]
        self.touched: set[int] = set(range(len(self.studies)))
        # Off: days pass (ages tick, the noise goes on) and nothing a reader sees changes.
        self.changing = True
        self._agenda: deque[Event] = self._draw_agenda()

    def _draw_rate(self, rng: random.Random, study: Study) -> float:
        return self.change_rates * _draw_rate(rng, study)

    def take_touched(self) -> set[int]:
        """The studies whose page changed since the last call (all of them the first time)."""
        touched, self.touched = self.touched, set()
        return touched

    def advance(self, days: int) -> Changes:
        return self.advance_seconds(days * DAY_S)

    def advance_seconds(self, seconds: int, watcher: Watcher | None = None) -> Changes:
        """Let `seconds` pass, every event of the agenda up to the new instant happening in order
        (a day's agenda is drawn as the day begins). `watcher` is told of each event once it has
        happened and of each new day once it has begun, so that what it derives from the world
        (the replica's rendered pages) is the same however the clock was stepped."""
        self.steps += 1
        target = self.day * DAY_S + self.second + seconds
        added: list[int] = []
        removed: list[int] = []
        while True:
            while self._agenda and self.day * DAY_S + self._agenda[0].second <= target:
                event = self._agenda.popleft()
                self.second = event.second
                happened = self._happen(event)
                if event.kind == "publish":
                    added += happened
                elif event.kind == "remove":
                    removed += happened
                if watcher is not None:
                    watcher.event_happened(event, happened)
            if (self.day + 1) * DAY_S > target:
                break
            self.day, self.second = self.day + 1, 0
            self._agenda = self._draw_agenda()
            if watcher is not None:
                watcher.day_began()
        self.second = target - self.day * DAY_S
        return Changes(tuple(added), tuple(removed), (), ())

    # --- one day ------------------------------------------------------------------------------
    def _draw_agenda(self) -> deque[Event]:
        """The current day's events in time order (none while changes are off)."""
        if not self.changing:
            return deque()
        rng = random.Random(f"{self.seed}/live/{self.day}")
        events: list[Event] = []
        for study in self.studies:
            rate = self.rates[study.index]
            at = rng.expovariate(rate) if rate and study.removed_status is None else 1.0
            while at < 1.0:  # a Poisson process at the study's rate, over one day
                events.append(Event(int(at * DAY_S), "change", study.index, rng.getrandbits(32)))
                at += rng.expovariate(rate)
        candidates = sum(not s.protected for s in self.live_studies())
        for kind, share in _RARE_EVENTS:
            for _ in range(_stochastic_round(rng, candidates * share)):
                events.append(Event(rng.randrange(DAY_S), kind, -1, rng.getrandbits(32)))
        return deque(sorted(events))

    def _happen(self, event: Event) -> list[int]:
        """Make `event` happen; returns the studies it published or removed."""
        if not self.changing:
            return []
        rng = random.Random(event.seed)
        if event.kind == "publish":
            return self._publish(rng, self.day + event.second / DAY_S)
        if event.kind == "remove":
            return self._remove(rng)
        study = self.studies[event.study]
        if study.removed_status is None:
            self._change(rng, study, weighted(rng, _EVENTS))
            self.touched.add(study.index)
        return []

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

    def _publish(self, rng: random.Random, appeared: float) -> list[int]:
        """A new study, linked from two existing ones; returns its index."""
        live = [s for s in self.live_studies() if not s.protected]
        study = self._draft_study(rng, len(self.studies), len(self.studies))
        self.studies.append(study)
        self.rates.append(self._draw_rate(rng, study))
        self.appeared.append(appeared)
        self.touched.add(study.index)
        self.touched.update(r.index for r in self.link_new_study(rng, study, live))
        return [study.index]

    def _remove(self, rng: random.Random) -> list[int]:
        """One study removed (404 or 410), never the last one; returns its index."""
        candidates = [s for s in self.live_studies() if not s.protected]
        if len(candidates) < 2:
            return []
        study = rng.choice(candidates)
        study.removed_status = 404 if rng.random() < 0.5 else 410
        return [study.index]


def _draw_rate(rng: random.Random, study: Study) -> float:
    """Changes per day: 0 for most studies (and for forced variants, so they keep their form)."""
    if study.protected or rng.random() >= ACTIVE_SHARE:
        return 0.0
    return min(MAX_RATE, RATE_SCALE * rng.paretovariate(RATE_SHAPE))


def _stochastic_round(rng: random.Random, expected: float) -> int:
    """`expected` rounded down or up at random, so small worlds still see rare events."""
    whole = int(expected)
    return whole + (rng.random() < expected - whole)
