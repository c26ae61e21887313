"""Crawl settings: every default in one place, each with the reason it has that value.

The defaults are for the live site and deliberately gentle (one request per second, two at a
time). Tests and the replica demo pass faster values explicitly. Nothing here reads the
environment: the CLI and the flows build a `CrawlConfig` from their own options and hand it down.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args
from urllib.parse import urlsplit

from scraper.urls import DEFAULT_PORTS, DEFAULT_SITE, host_spellings

PROJECT_NAME = "tressless-research-scraper"
PROJECT_VERSION = "0.1"
# Where a site operator can read what this crawler is and how to reach whoever runs it. A deployment
# should point this at a page it controls (`CrawlConfig(contact_url=...)`).
CONTACT_URL = "https://example.org/tressless-research-scraper"


SEED_KEYWORDS = (
    "finasteride",
    "dutasteride",
    "minoxidil",
    "alopecia-areata",
    "androgenetic-alopecia",
    "female-pattern-hair-loss",
    "telogen-effluvium",
    "prp",
    "tofacitinib",
    "ketoconazole",
)


# How due pages are ordered (`scraper.frontier.Frontier.due`): "change-rate" spends a budget on
# what most likely changed (never fetched first, then by estimated probability of change);
# "due-order" takes the longest-overdue first, whatever they are (the plain policy, for comparison).
PriorityPolicy = Literal["change-rate", "due-order"]
PRIORITY_POLICIES: tuple[PriorityPolicy, ...] = get_args(PriorityPolicy)


def wall_clock() -> datetime:
    """The crawl's default clock: now, in UTC."""
    return datetime.now(UTC)


def default_user_agent(contact_url: str = CONTACT_URL) -> str:
    """`<product>/<version> (+<contact>)`: the form robots.txt groups and server logs expect."""
    return f"{PROJECT_NAME}/{PROJECT_VERSION} (polite research crawler; +{contact_url})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlConfig:
    """How to crawl: site, politeness, guards, retries, batching and revisit policy."""

    # --- site -----------------------------------------------------------------------------------
    base_url: str = DEFAULT_SITE  # the site's root; robots.txt and the sitemap index hang off it
    # Hosts we may fetch. Empty means "the host of base_url and its www. twin": links elsewhere are
    # recorded with a reason, never followed.
    allowed_hosts: tuple[str, ...] = ()
    seed_urls: tuple[
        str, ...
    ] = ()  # extra start URLs besides the sitemaps (absolute or site paths)
    follow_community_posts: bool = False  # community post pages are not studies: opt-in
    # Keywords whose research listings (`/search/research/<keyword>/1`, then page after page)
    # are seeded: the way in when the site publishes no usable sitemap. The defaults are the
    # treatments and conditions the live site's listings and post categories are about.
    seed_keywords: tuple[str, ...] = SEED_KEYWORDS
    # Whether those listings are seeded: None = only when sitemap discovery brought no study
    # (robots.txt names no sitemap, /sitemap.xml is missing or broken); True = every discovery.
    seed_listings: bool | None = None
    # Pages of one keyword's listing followed at most: a pager that never ends stops here.
    max_listing_pages: int = 100
    use_sitemaps: bool = True  # robots.txt `Sitemap:` -> index -> sitemaps

    # --- identity -------------------------------------------------------------------------------
    user_agent: str = field(default_factory=default_user_agent)  # names us and a contact URL
    robots_agent: str = PROJECT_NAME  # the product token matched against robots.txt groups
    obey_robots: bool = True  # off only for loopback tests of the guard itself
    robots_ttl_s: float = 24 * 3600.0  # RFC 9309: a cached robots.txt is good for a day at most

    # --- politeness -----------------------------------------------------------------------------
    rate: float = 1.0  # requests per second per host, summed over all shards (see for_shard)
    concurrency: int = 2  # requests in flight per host; the rate still applies on top
    # Fetchers sharing the host's rate limit (set by `for_shard`): each one waits `shards` times
    # robots.txt's Crawl-delay, so together they keep to it.
    shards: int = 1
    # While a host answers 5xx/429 or times out, its interval is multiplied by up to this factor;
    # each success halves the factor again.
    max_slowdown: float = 8.0
    # A Retry-After longer than this is not waited for inside a crawl: the URL gives up with the
    # reason and its next visit is pushed past the requested time instead.
    max_retry_after_s: float = 300.0

    # --- timeouts (seconds) ---------------------------------------------------------------------
    connect_timeout_s: float = 10.0  # TCP + TLS handshake
    read_timeout_s: float = 30.0  # between two chunks of a response
    request_deadline_s: float = 60.0  # whole request: stops a server that trickles bytes forever
    pool_timeout_s: float = 30.0  # waiting for a free connection in our own pool

    # --- guards ---------------------------------------------------------------------------------
    max_body_bytes: int = 5 * 1024 * 1024  # study pages are ~50-300 KB; 5 MiB leaves headroom
    max_sitemap_bytes: int = 50 * 1024 * 1024  # the sitemaps.org limit for one (unzipped) sitemap
    max_sitemaps: int = 1000  # sitemap files followed per discovery, index nesting included
    max_redirects: int = 5  # hops, each checked against allowed_hosts and robots.txt
    max_url_length: int = 2048  # longer "URLs" are junk from broken markup, not pages

    # --- retries --------------------------------------------------------------------------------
    max_attempts: int = 3  # per URL per visit: the first request + 2 retries
    retry_statuses: tuple[int, ...] = (408, 429, 500, 502, 503, 504)  # transient; other 4xx never
    backoff_initial_s: float = 1.0  # first retry waits about this long (before jitter)
    backoff_max_s: float = 60.0  # cap of one exponential wait
    backoff_jitter_s: float = 1.0  # random 0..jitter added so retries of many URLs do not align

    # --- batching and crawl state ---------------------------------------------------------------
    batch_size: int = 50  # URLs per unit of work (one Prefect task, one transaction)
    # A URL claimed by a batch and never recorded (a lost shard, a process that died while another
    # run went on) becomes due again after this; a new run gives back every older claim anyway.
    claim_timeout: timedelta = timedelta(hours=1)

    # --- revisit policy -------------------------------------------------------------------------
    revisit_initial: timedelta = timedelta(days=1)  # interval after a page's first fetch
    revisit_min: timedelta = timedelta(hours=6)  # a page that changes every visit: 4 times a day
    revisit_max: timedelta = timedelta(days=30)  # a page that never changes: monthly
    revisit_shrink: float = 0.5  # interval factor when a visit found a change
    revisit_grow: float = 1.5  # interval factor when a visit found nothing new
    failure_backoff: timedelta = timedelta(hours=1)  # next try after a failed visit, doubling
    priority: PriorityPolicy = "change-rate"  # the order due pages are fetched in
    # A run with a budget or deadline and nothing due spends what is left on pages not due yet,
    # likeliest changed first (`Frontier.likely_changed`); off, it fetches only what is due.
    spend_ahead: bool = True
    # What a run with a request budget has left after those (every page above its floor fetched)
    # goes to the pages read longest ago, among those unread for at least this long
    # (`Frontier.long_unread`): when the budget covers it, no page waits longer for a visit than a
    # daily revisit of everything would make it wait. A budget, not a deadline alone: a budget is
    # requests the user gave to spend, whereas `--until 8h` bounds a run's length and would
    # otherwise re-read the whole site at the polite rate for 8 hours. A page that never changes
    # is still touched now and then (a new study listed on it); under the floors alone it waited
    # out its 30-day interval while a third of the budget went unspent, and over six simulated
    # weeks a daily revisit of everything overtook the crawler (bench/RESULTS.md). None: the
    # floors alone, and a quiet site is read less and less.
    sweep_after: timedelta | None = timedelta(days=1)
    # How long a run with a deadline and nothing to claim waits before it looks again (if
    # something falls due before the deadline): what falls due meanwhile is fetched as one batch,
    # at most this late -- little against revisit intervals of 6 hours and more. It is time set
    # against the site's changes, not a count of requests: a simulation whose requests take
    # longer keeps it (bench/freshness.py says why).
    due_wait: timedelta = timedelta(minutes=5)

    # --- budget (scraper.budget) ----------------------------------------------------------------
    # HTTP requests a run may make (robots.txt, sitemaps, pages, retries, redirects); None: no
    # limit. At the default rate a day holds 86,400 requests; the hourly deployment sets 3,300 a
    # run.
    max_requests: int | None = None
    deadline: datetime | None = None  # no batch is claimed after this instant (aware); None: none

    # --- clock ----------------------------------------------------------------------------------
    # What "now" is for the crawl: visit times, due dates, age estimates, run rows. A simulation of
    # days on a replica (bench/freshness.py) passes the replica's clock, so that intervals and
    # ages follow its simulated time; durations and politeness keep the monotonic clock.
    clock: Callable[[], datetime] = field(default=wall_clock, repr=False, compare=False)
    # How the crawl waits `seconds` of that clock: a run with a deadline waits for pages falling
    # due before it (`CrawlSession`); a simulation passes its own time instead of sleeping.
    sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    # --- archive --------------------------------------------------------------------------------
    warc_max_bytes: int = 256 * 1024 * 1024  # rotate WARC files at about this size
    warc_prefix: str = "crawl"  # WARC file names: <prefix>-<UTC time>-<pid>-<seq>.warc.gz

    def __post_init__(self) -> None:
        # nan compares false with everything and inf means no spacing at all: both refused here,
        # for the flows' parameters and the Python API as for the CLI.
        if not math.isfinite(self.rate) or self.rate <= 0:
            raise ValueError(f"rate must be positive and finite, not {self.rate}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.shards < 1:
            raise ValueError(f"shards must be at least 1, not {self.shards}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.max_listing_pages < 1:
            raise ValueError(f"max_listing_pages must be at least 1, not {self.max_listing_pages}")
        if self.max_requests is not None and self.max_requests < 1:
            raise ValueError(f"max_requests must be at least 1, not {self.max_requests}")
        if self.sweep_after is not None and self.sweep_after <= timedelta(0):
            raise ValueError(f"sweep_after must be positive or None, not {self.sweep_after}")
        if self.due_wait <= timedelta(0):
            raise ValueError(f"due_wait must be positive, not {self.due_wait}")
        if self.deadline is not None and self.deadline.tzinfo is None:
            raise ValueError("deadline must be an aware datetime")
        if self.priority not in PRIORITY_POLICIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITY_POLICIES)}")
        if not urlsplit(self.base_url).hostname:
            raise ValueError(f"base_url has no host: {self.base_url!r}")

    @property
    def spends_ahead(self) -> bool:
        """Whether a run reads pages not due yet once nothing is due: the likeliest changed, with
        a budget or a deadline (`spend_ahead`)."""
        budgeted = self.max_requests is not None or self.deadline is not None
        return self.spend_ahead and budgeted

    @property
    def sweeps(self) -> bool:
        """Whether such a run then reads the pages unread `sweep_after` or more: with a request
        budget to spend."""
        return self.spends_ahead and self.sweep_after is not None and self.max_requests is not None

    @property
    def hosts(self) -> frozenset[str]:
        """The hosts we may fetch (lower case, without port)."""
        return _hosts(self.base_url, self.allowed_hosts)

    def allows_port(self, scheme: str, port: int | None) -> bool:
        """Whether `scheme://<allowed host>:port` is the site's own server, not another service
        on the same host (a link to `http://127.0.0.1:6379/` from a site on 127.0.0.1:8080)."""
        base = urlsplit(self.base_url)
        own = base.port or DEFAULT_PORTS.get(base.scheme)
        effective = port or DEFAULT_PORTS.get(scheme)
        if effective == own:
            return True
        # On the default ports, http:// and https:// of one host are the same site: it links to
        # its own pages both ways.
        on_defaults = base.port in (None, DEFAULT_PORTS.get(base.scheme))
        return on_defaults and effective == DEFAULT_PORTS.get(scheme)

    def with_options(self, **changes: object) -> CrawlConfig:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def for_shard(self, shards: int) -> CrawlConfig:
        """The settings of one of `shards` parallel fetchers: the host's rate limit is split, never
        multiplied, so all shards together stay within `rate` and `concurrency`."""
        if shards < 1:
            raise ValueError(f"shards must be at least 1, not {shards}")
        if shards > self.concurrency:
            raise ValueError(
                f"cannot split {self.concurrency} requests in flight over {shards} fetchers"
            )
        return replace(
            self,
            rate=self.rate / shards,
            concurrency=self.concurrency // shards,
            shards=self.shards * shards,
        )


@functools.lru_cache(maxsize=8)
def _hosts(base_url: str, allowed_hosts: tuple[str, ...]) -> frozenset[str]:
    """`CrawlConfig.hosts`, cached: it is asked for every request and every link."""
    if allowed_hosts:
        return frozenset(host.lower() for host in allowed_hosts)
    return host_spellings(urlsplit(base_url).hostname or "")
