"""`LiveSite`: a served live-profile replica and its ground truth, for freshness benchmarks.

    from replica.livesite import LiveSite

    with LiveSite(studies=5000, seed=7, validators="none") as site:
        crawl(site.base_url)              # http://127.0.0.1:<port>
        site.advance(1)                   # one simulated day passes
        site.pass_time(3600)              # an hour passes (changes happen at their instants)
        site.pace(10.0)                   # from now on each request takes 10 simulated seconds
        site.now                          # the simulated instant (datetime, UTC)
        site.truth()                      # {study URL: StudyPage} a correct parser reads now
        site.removed()                    # study URLs that answer 404/410 now
        site.changing()                   # ids of the studies that ever change
        site.appeared_at(url)             # when a study first appeared (simulated)

URLs are canonical (`scraper.urls.canonicalize`) against `base_url`, as the crawler stores them;
a study with a second editorial slug has both URLs in `truth()`. Ages in the records ("3 weeks
ago") are read at `now`: a crawler that estimates instants from them should use `now` as the time
of its visit, not the wall clock, which does not follow `advance`. The `StudyPage` records have
`parser_version` "" and no warnings; compare a parsed record after clearing those two.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from urllib.parse import urlsplit

from replica.live import Validators
from replica.server import ReplicaServer
from replica.site import Advanced, Replica
from scraper.records import StudyPage
from scraper.urls import canonicalize


class LiveSite:
    """A live-profile `Replica` served on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        studies: int = 5000,
        seed: int = 7,
        *,
        validators: Validators = "none",
        port: int = 0,
        change_rates: float = 1.0,
    ) -> None:
        """`change_rates` multiplies every changing study's rate of change (a busier site)."""
        self.replica = Replica(
            studies, seed, profile="live", validators=validators, change_rates=change_rates
        )
        self.server = ReplicaServer(self.replica, port=port)

    def __enter__(self) -> LiveSite:
        self.server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def now(self) -> datetime:
        return self.replica.now

    def advance(self, days: int = 1) -> Advanced:
        return self.replica.advance(days)

    def pass_time(self, seconds: int) -> Advanced:
        """Let `seconds` pass within or across days; changes happen at their instants."""
        return self.replica.pass_time(seconds)

    def pace(self, seconds_per_request: float | None) -> None:
        """Make every request take this much simulated time (None: the clock stands still
        between `advance` and `pass_time` calls), as a crawl at the polite rate spends the day."""
        self.replica.pace_s = seconds_per_request

    def truth(self) -> dict[str, StudyPage]:
        records = (self.replica.truth(path) for path in self.replica.study_paths())
        return {record.url: record for record in records if record is not None and record.url}

    def changing(self) -> frozenset[str]:
        """Ids of the studies that change after publication (a change rate above 0): the
        minority on which crawl policies differ, since every policy keeps the others fresh."""
        world = self.replica.live_world
        return frozenset(s.study_id for s in world.studies if world.rates[s.index] > 0)

    def removed(self) -> frozenset[str]:
        return frozenset(self._url(path) for path in self.replica.removed_paths())

    def appeared_at(self, url: str) -> datetime | None:
        """None for a URL that is no study of this site."""
        return self.replica.appeared_at(urlsplit(url).path)

    def _url(self, path: str) -> str:
        return canonicalize(path, self.replica.base_url)
