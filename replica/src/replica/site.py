"""`Replica`: the synthetic site as a pure object — paths, responses, ground truth, time.

    ReplicaError           bad arguments (pages < 1, unknown markup, bad base URL, days < 1)

No network here: `render(path)` answers like the server would (status, headers, body), and
`ReplicaServer` (server.py) only moves those answers over HTTP. Every HTML page keeps the bytes,
ETag and Last-Modified it had until its view changes, so a recrawl of an unchanged replica sees
304s, and after `advance` only the pages that really changed answer 200 to a conditional GET.
Last-Modified is the instant of the page's last revision, to the second, as a real server's: a
midnight in the kind profile (its world moves by whole days), the instant of the change in the
live profile (changes happen within a day), so If-Modified-Since alone never hides a change made
later the same day. Sitemap `<lastmod>`s give the date where that instant is a midnight and the
W3C datetime otherwise.
The live profile (`profile="live"`, see `live.py` and `churn.py`) instead adds per-request noise
to every HTML page, sends the validators chosen, and changes studies at per-study rates.

Choices worth knowing:
- Truth URLs are absolute against `base_url` (default `http://127.0.0.1`; `ReplicaServer` sets it
  to `http://127.0.0.1:<port>` when it starts).
- A study that moves to a new slug keeps its id; its old paths answer 301 to the new one.
- Removed studies answer 404 or 410 (about half each) with an error page.
- `truth(path)` returns the study record for study pages, a record with only `url` and
  `page_kind` ("search", "learn", "other" for home/community/post pages, "error" for 404/410
  pages) for other HTML pages, and None for robots.txt, sitemaps and redirects.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from replica import faults, feeds, live, redesign, truth
from replica.churn import Event, LiveWorld
from replica.faults import Fault, FaultPlan, FaultState, Served
from replica.markup import MARKUPS, Context, render_view
from replica.model import PageView, PlainView, Study, StudyView
from replica.views import error_view, page_views, study_view
from replica.world import Changes, World
from scraper.records import StudyPage

DEFAULT_BASE_URL = "http://127.0.0.1"
EPOCH = datetime(2025, 6, 2, tzinfo=UTC)  # the replica's day 0; Last-Modified counts from here
INITIAL_AGE_DAYS = 700  # pages start with a last change up to this many days before day 0
GZIP_MIN_BYTES = 512  # smaller bodies are not worth compressing
HTML_TYPE = "text/html; charset=utf-8"
# How the replica serves its sitemaps: as a real site does, not at all (robots.txt names none,
# /sitemap.xml is 404), or broken (robots.txt names none, /sitemap.xml is an HTML page).
SitemapMode = Literal["served", "missing", "broken"]
SITEMAP_MODES: tuple[SitemapMode, ...] = ("served", "missing", "broken")
_CONDITIONAL_HEADERS = frozenset({"if-none-match", "if-modified-since"})
XML_TYPE = "application/xml"


class ReplicaError(ValueError):
    """The replica was asked for something it cannot be (bad arguments)."""


Response = tuple[int, dict[str, str], bytes]


@dataclass(slots=True)
class _Page:
    view: PageView
    changed_at: datetime  # the instant of the page's last revision (UTC, whole seconds)
    markup: str


@dataclass(slots=True)
class _Body:
    """A rendered body with its validators; the gzipped form is made on first request."""

    data: bytes
    content_type: str
    changed_at: datetime  # Last-Modified: the instant the body's content last changed
    etag: str = ""
    compressed: bytes | None = None

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.blake2b(self.data, digest_size=12).hexdigest() + '"'

    def gzip(self) -> bytes:
        if self.compressed is None:
            self.compressed = gzip.compress(self.data, compresslevel=5, mtime=0)
        return self.compressed


@dataclass(slots=True)
class _Fault:
    prefix: str
    status: int
    retry_after: str | None
    remaining: int


@dataclass(frozen=True, slots=True)
class Advanced:
    """What `Replica.advance` changed (paths)."""

    day: int
    changed: tuple[str, ...]  # pages (any kind) whose bytes changed or that are new
    added: tuple[str, ...]  # new study paths
    removed: tuple[str, ...]  # study paths that now answer 404/410
    moved: dict[str, str] = field(default_factory=dict)  # old study path -> new path


def http_date(instant: datetime) -> str:
    """An HTTP date to the second (the kind profile's instants are midnights)."""
    return format_datetime(instant, usegmt=True)


def day_start(day: int) -> datetime:
    """Midnight of the replica's `day` (days since `EPOCH`; negative before it)."""
    return EPOCH + timedelta(days=day)


def _clean_path(path: str) -> str:
    """The routing key of a request path: no query, no fragment, no trailing slash."""
    path = path.split("#", 1)[0].split("?", 1)[0] or "/"
    return path.rstrip("/") or "/"


class Replica:
    """A deterministic synthetic copy of the research site (see the module docstring)."""

    def __init__(
        self,
        pages: int = 60,
        seed: int = 7,
        *,
        disallow: Sequence[str] = (),
        crawl_delay: float | None = None,
        base_url: str = DEFAULT_BASE_URL,
        faults: FaultPlan | None = None,
        profile: live.Profile = "kind",
        validators: live.Validators = "strong",
        sitemap: SitemapMode = "served",
        change_rates: float = 1.0,
    ) -> None:
        if pages < 1:
            raise ReplicaError(f"pages must be at least 1, got {pages}")
        if profile not in live.PROFILES:
            raise ReplicaError(
                f"unknown profile {profile!r}; choose from {', '.join(live.PROFILES)}"
            )
        if validators not in live.VALIDATORS:
            choices = ", ".join(live.VALIDATORS)
            raise ReplicaError(f"unknown validators {validators!r}; choose from {choices}")
        self.seed = seed
        self.disallow = tuple(disallow)
        self.crawl_delay = crawl_delay
        self.profile: live.Profile = profile
        self.validators: live.Validators = validators
        if sitemap not in SITEMAP_MODES:
            raise ReplicaError(
                f"sitemap must be one of {', '.join(SITEMAP_MODES)}, got {sitemap!r}"
            )
        self.sitemap: SitemapMode = sitemap
        # Whether sitemap entries give a <lastmod>: off, a crawler learns of changes only by
        # visiting (the live site need not give them, nor give them right).
        self.lastmods = True
        self._base_url = _valid_base(base_url)
        self._lock = threading.RLock()
        if not 0 < change_rates < math.inf:
            raise ReplicaError(f"change_rates must be positive, got {change_rates}")
        if change_rates != 1.0 and profile != "live":  # the kind world does not change by itself
            raise ReplicaError("change_rates needs the live profile")
        self._world = (
            LiveWorld(pages, seed, change_rates=change_rates)
            if profile == "live"
            else World(pages, seed)
        )
        self._requests = 0  # live profile: numbers each request's noise
        # Live profile: simulated seconds each request takes (the live crawl's politeness makes
        # a request a second), so the site changes while a crawl of it goes on. None: the clock
        # moves only by `advance` and `pass_time`.
        self.pace_s: float | None = None
        self._paced = 0.0  # seconds paced and not passed yet (less than one)
        self._rendered: list[str] = []  # paths rendered anew while time passes
        self._truths: dict[str, tuple[PageView, str, StudyPage]] = {}
        self._chunk = feeds.chunk_size(pages)
        self._pages: dict[str, _Page] = {}
        self._bodies: dict[tuple[str, str], tuple[PageView, _Body]] = {}
        self._feeds: dict[str, _Body] = {}
        self._faults: list[_Fault] = []
        self._index_by_path: dict[str, int] = {}  # study path -> study index
        self._gone: dict[str, int] = {}  # removed study path -> 404 or 410
        self._moved: dict[str, str] = {}  # old study path -> current path (301)
        self._broken_layout = False  # study pages render in `redesign` (drift tests)
        self._fault_state = FaultState(faults) if faults is not None else None
        self._refresh(initial=True)

    # --- configuration ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        with self._lock:
            self._base_url = _valid_base(value)
            self._bodies.clear()
            self._feeds.clear()

    @property
    def day(self) -> int:
        """Days since the replica's epoch (`advance` adds to it)."""
        return self._world.day

    @property
    def now(self) -> datetime:
        """The simulated instant: the replica's day (ages count from its start), and in the live
        profile the seconds of it that passed (`pass_time`, `pace_s`)."""
        return EPOCH + timedelta(days=self._world.day, seconds=self._world.second)

    @property
    def live_world(self) -> LiveWorld:
        """The live profile's world (its change rates are ground truth for benchmarks)."""
        if not isinstance(self._world, LiveWorld):
            raise ReplicaError("live_world needs the live profile")
        return self._world

    def appeared_at(self, path: str) -> datetime | None:
        """When the study at `path` first appeared (live profile; None for other paths)."""
        with self._lock:
            world = self._world
            if not isinstance(world, LiveWorld):
                raise ReplicaError("appeared_at needs the live profile")
            key = _clean_path(path)
            index = self._index_by_path.get(key)
            if index is None:
                index = next((s.index for s in world.studies if s.path == key), None)
            return None if index is None else EPOCH + timedelta(days=world.appeared[index])

    @property
    def markups(self) -> tuple[str, ...]:
        return MARKUPS

    @property
    def layout_broken(self) -> bool:
        return self._broken_layout

    def break_layout(self, broken: bool = True) -> None:
        """Render every study page in the redesigned layout (`redesign`), or back again.

        Either way each study page counts as changed now: new bytes, a new ETag, a new
        Last-Modified and sitemap `<lastmod>`, so a recrawl refetches it. The truth is unchanged.
        """
        with self._lock:
            if broken == self._broken_layout:
                return
            self._broken_layout = broken
            for page in self._pages.values():
                if isinstance(page.view, StudyView):
                    page.changed_at = self.now
            self._bodies.clear()
            self._feeds.clear()

    @property
    def faults(self) -> FaultPlan | None:
        return self._fault_state.plan if self._fault_state is not None else None

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Start misbehaving as `plan` says (request counters start again), or stop (None)."""
        with self._lock:
            self._fault_state = FaultState(plan) if plan is not None else None

    # --- paths --------------------------------------------------------------------------------
    def study_paths(self) -> list[str]:
        """Paths of live studies, both slugs of a study that has two."""
        with self._lock:
            paths = []
            for study in self._world.live_studies():
                paths.append(study.path)
                if study.alias_path:
                    paths.append(study.alias_path)
            return paths

    def removed_paths(self) -> list[str]:
        """Study paths that answer 404 or 410 now."""
        with self._lock:
            return list(self._gone)

    def redirects(self) -> dict[str, str]:
        """Old study paths (301) and where they point now."""
        with self._lock:
            return dict(self._moved)

    def page_paths(self) -> list[str]:
        """Every path that answers 200 with HTML: studies, posts, search, learn, home."""
        with self._lock:
            return list(self._pages)

    def markup_of(self, path: str) -> str | None:
        page = self._pages.get(_clean_path(path))
        return page.markup if page else None

    def view(self, path: str) -> PageView | None:
        """The view a 200 page is rendered from (tests use it to see presentation choices)."""
        with self._lock:
            page = self._pages.get(_clean_path(path))
            return page.view if page else None

    # --- truth --------------------------------------------------------------------------------
    def truth(self, path: str) -> StudyPage | None:
        """What the page at `path` shows now, as the record a parser should read."""
        with self._lock:
            key = _clean_path(path)
            page = self._pages.get(key)
            if page is not None:
                if isinstance(page.view, StudyView):
                    return self._study_truth(key, page.view)
                return truth.plain_truth(page.view, self._base_url)
            if self._is_feed(key) or key in self._moved:
                return None
            return truth.plain_truth(error_view(key, self._gone_status(key)), self._base_url)

    def _study_truth(self, path: str, view: StudyView) -> StudyPage:
        """The record of a study view, kept while the view and base URL stay: a benchmark reads
        every study's truth each simulated day, and most views last for weeks."""
        cached = self._truths.get(path)
        if cached is not None and cached[0] is view and cached[1] == self._base_url:
            return cached[2]
        record = truth.study_truth(view, self._base_url)
        self._truths[path] = (view, self._base_url, record)
        return record

    # --- responses ----------------------------------------------------------------------------
    def render(
        self, path: str, markup: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Status, headers and body for a GET of `path`, as the server would answer it.

        `markup` forces one of `MARKUPS` for HTML pages. Injected faults apply (and are used up);
        `headers` may carry If-None-Match / If-Modified-Since / Accept-Encoding.
        """
        if markup is not None and markup not in MARKUPS:
            raise ReplicaError(f"unknown markup {markup!r}; choose from {', '.join(MARKUPS)}")
        return self.respond("GET", path, headers or {}, markup=markup)

    def respond(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        *,
        markup: str | None = None,
    ) -> Response:
        return self.serve(method, path, headers, markup=markup).response

    def serve(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        *,
        markup: str | None = None,
    ) -> Served:
        """`respond`, plus what the server must do on the wire when the fault mode says so."""
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            if self.pace_s:
                self._pace(self.pace_s)
            injected = self._take_fault(path)
            if injected is not None:
                return Served(*injected)
            if self._fault_state is not None:
                hop = faults.loop_hop(path)
                if hop is not None:
                    return hop
                fault = self._fault_state.draw(_clean_path(path))
                if fault is not None:
                    plan = self._fault_state.plan
                    return self._faulty(method, path, lowered, markup, fault=fault, plan=plan)
            return Served(*self._answer(method, path, lowered, markup))

    def _answer(
        self, method: str, path: str, lowered: Mapping[str, str], markup: str | None
    ) -> Response:
        status, extra, body = self._route(_clean_path(path), markup)
        if body is None:
            return status, extra, b""
        if self.profile == "live" and body.content_type == HTML_TYPE:
            return self._live_answer(method, path, lowered, (status, extra, body))
        reply_headers = {
            "Content-Type": body.content_type,
            "ETag": body.etag,
            "Last-Modified": http_date(body.changed_at),
            "Cache-Control": "no-cache",
            "Vary": "Accept-Encoding",
            **extra,
        }
        if status == 200 and _not_modified(lowered, body):
            return 304, reply_headers, b""
        data = body.data
        compressible = body.content_type.startswith(("text/", XML_TYPE))
        if compressible and _wants_gzip(lowered) and len(data) >= GZIP_MIN_BYTES:
            data = body.gzip()
            reply_headers["Content-Encoding"] = "gzip"
        return status, reply_headers, b"" if method == "HEAD" else data

    def _live_answer(
        self,
        method: str,
        path: str,
        lowered: Mapping[str, str],
        routed: tuple[int, dict[str, str], _Body],
    ) -> Response:
        """A live-profile HTML answer: noisy bytes, the chosen validators, gzip per request."""
        status, extra, body = routed
        reply_headers = {
            "Content-Type": body.content_type,
            "Cache-Control": "private, no-cache",
            "Vary": "Accept-Encoding",
            **extra,
        }
        if self.validators == "strong":
            reply_headers["ETag"] = body.etag
            reply_headers["Last-Modified"] = http_date(body.changed_at)
            if status == 200 and _not_modified(lowered, body):
                return 304, reply_headers, b""
        self._requests += 1
        # The simulated clock moves a second per request within the day, not with the wall
        # clock, so the same requests give the same bytes (the replica is deterministic).
        elapsed = timedelta(seconds=self._requests % 86_400)
        noise = live.noise(self.seed, self._world.day, self._requests, self.now + elapsed)
        gzipped = _wants_gzip(lowered)
        data = live.decorate(body.data, self.seed, _clean_path(path), noise, gzipped=gzipped)
        if self.validators == "weak":
            reply_headers["ETag"] = live.weak_etag(data)
        if gzipped:
            reply_headers["Content-Encoding"] = "gzip"
        return status, reply_headers, b"" if method == "HEAD" else data

    def _faulty(
        self,
        method: str,
        path: str,
        lowered: Mapping[str, str],
        markup: str | None,
        *,
        fault: Fault,
        plan: FaultPlan,
    ) -> Served:
        page = self._pages.get(_clean_path(path))
        if fault.kind == "flux" and page is not None:
            return self._flux(page, markup, fault)
        if fault.kind in faults.BODY_KINDS:  # these need the whole page, whatever was asked
            lowered = {k: v for k, v in lowered.items() if k not in _CONDITIONAL_HEADERS}
        plain = Served(*self._answer(method, path, lowered, markup))
        return faults.apply(fault, plain, plan, path)

    def _flux(self, page: _Page, markup: str | None, fault: Fault) -> Served:
        """The page as it reads a moment later: always a 200 with new bytes and validators."""
        view = faults.flux_view(page.view, fault.n)
        html = render_view(view, markup or page.markup, Context(self._base_url))
        body = _Body(f"{html}<!-- request {fault.n} -->\n".encode(), HTML_TYPE, self.now)
        headers = {
            "Content-Type": body.content_type,
            "ETag": body.etag,
            "Last-Modified": http_date(body.changed_at),
            "Cache-Control": "no-cache",
        }
        return Served(200, headers, body.data, fault="flux")

    def inject(
        self, path_prefix: str, status: int = 429, retry_after: str | None = "1", times: int = 2
    ) -> None:
        """The next `times` requests whose path starts with `path_prefix` answer `status`."""
        with self._lock:
            self._faults.append(_Fault(path_prefix, status, retry_after, times))

    def _take_fault(self, path: str) -> Response | None:
        for fault in self._faults:
            if fault.remaining > 0 and path.startswith(fault.prefix):
                fault.remaining -= 1
                headers = {"Content-Type": "text/plain; charset=utf-8"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
                return fault.status, headers, f"injected {fault.status}\n".encode()
        return None

    def _route(self, path: str, markup: str | None) -> tuple[int, dict[str, str], _Body | None]:
        page = self._pages.get(path)
        if page is not None:
            return 200, {}, self._html(path, page, markup)
        if self._is_feed(path) and self._feed_served(path):
            return 200, {}, self._feed(path)
        target = self._moved.get(path)
        if target is not None:
            return 301, {"Location": self._base_url + target, "Content-Length": "0"}, None
        status = self._gone_status(path)
        view = error_view(path, status)
        html = render_view(view, _markup_for(path), Context(self._base_url))
        return status, {}, _Body(html.encode(), HTML_TYPE, self.now)

    def _html(self, path: str, page: _Page, markup: str | None) -> _Body:
        chosen = markup or page.markup
        cached = self._bodies.get((path, chosen))
        if cached is not None and cached[0] is page.view:
            return cached[1]
        if self._broken_layout and isinstance(page.view, StudyView):
            html = redesign.render_broken(page.view, Context(self._base_url))
        else:
            html = render_view(page.view, chosen, Context(self._base_url))
        body = _Body(html.encode("utf-8"), HTML_TYPE, page.changed_at)
        if chosen == page.markup:  # forced markups (the quality gate) are not worth the memory
            self._bodies[path, chosen] = (page.view, body)
        return body

    def _gone_status(self, path: str) -> int:
        if self.sitemap == "broken" and self._is_feed(path):
            return 200  # the error page, answered 200: a sitemap URL that is not a sitemap
        return self._gone.get(path, 404)

    # --- feeds --------------------------------------------------------------------------------
    def _is_feed(self, path: str) -> bool:
        return path in ("/robots.txt", "/sitemap.xml") or path.startswith("/sitemaps/")

    def _feed_served(self, path: str) -> bool:
        """Without a sitemap (`sitemap="missing"`) the sitemap paths are 404 pages like any other;
        `"broken"` serves them as an HTML page (a CMS's soft 404). robots.txt names none then."""
        return path == "/robots.txt" or self.sitemap == "served"

    def _feed(self, path: str) -> _Body | None:
        body = self._feeds.get(path)
        if body is None:
            body = self._make_feed(path)
            if body is not None:
                self._feeds[path] = body
        return body

    def _make_feed(self, path: str) -> _Body | None:
        if path == "/robots.txt":
            data = feeds.robots(
                self._base_url, self.disallow, self.crawl_delay, sitemap=self.sitemap == "served"
            )
            return _Body(data, "text/plain; charset=utf-8", day_start(-INITIAL_AGE_DAYS))
        children = self._sitemap_children()
        if path == "/sitemap.xml":
            index = [
                (name, _lastmod(max((at for _, at in rows), default=EPOCH)))
                for name, rows in children.items()
            ]
            return _Body(feeds.sitemap_index(self._base_url, index), XML_TYPE, self.now)
        rows = children.get(path.removeprefix("/sitemaps/"))
        if rows is None:
            return None
        last = max((at for _, at in rows), default=EPOCH)
        data = feeds.urlset(
            self._base_url, [(p, _lastmod(at) if self.lastmods else None) for p, at in rows]
        )
        if path.endswith(".gz"):
            return _Body(feeds.gzipped(data), "application/gzip", last)
        return _Body(data, XML_TYPE, last)

    def _sitemap_children(self) -> dict[str, list[tuple[str, datetime]]]:
        """Child sitemap name -> [(path, changed_at)], in study-index order."""
        count = max(2, -(-len(self._world.studies) // self._chunk))
        children: dict[str, list[tuple[str, datetime]]] = {
            feeds.child_name(n + 1): [] for n in range(count)
        }
        names = list(children)
        for path in self.study_paths():
            study_index = self._study_index(path)
            children[names[study_index // self._chunk]].append((path, self._pages[path].changed_at))
        children["pages.xml"] = [
            (p, page.changed_at)
            for p, page in self._pages.items()
            if isinstance(page.view, PlainView) and "/community/posts/" not in p
        ]
        return children

    def _study_index(self, path: str) -> int:
        return self._index_by_path[path]

    # --- time ---------------------------------------------------------------------------------
    def advance(self, days: int = 30) -> Advanced:
        """Let `days` pass: numbers move, lists grow and reshuffle, studies come and go."""
        if days < 1:
            raise ReplicaError(f"days must be at least 1, got {days}")
        if isinstance(self._world, LiveWorld):
            return self.pass_time(days * 86_400)
        with self._lock:
            before = self._paths_now()
            changes = self._world.advance(days)
            return self._advanced(before, changes, self._refresh(initial=False))

    def pass_time(self, seconds: int) -> Advanced:
        """Live profile: let `seconds` pass; the changes due by then happen (`churn.LiveWorld`),
        each page rendered anew at the instant its study changed."""
        world = self._world
        if not isinstance(world, LiveWorld):
            raise ReplicaError("pass_time needs the live profile")
        if seconds < 0:
            raise ReplicaError(f"seconds must not be negative, got {seconds}")
        with self._lock:
            self._rendered = []
            changes = world.advance_seconds(seconds, watcher=self)
            # The live world moves no study: what went is what its removals took (cheap, which
            # matters to a benchmark passing its time a second at a time).
            studies = world.studies
            return Advanced(
                day=world.day,
                changed=tuple(dict.fromkeys(self._rendered)),
                added=tuple(studies[i].path for i in changes.added),
                removed=tuple(
                    sorted(
                        path
                        for i in changes.removed
                        for path in (studies[i].path, studies[i].alias_path)
                        if path
                    )
                ),
            )

    def _pace(self, seconds: float) -> None:
        """A request's share of simulated time (inside the lock)."""
        self._paced += seconds
        whole = int(self._paced)
        if whole:
            self._paced -= whole
            self.pass_time(whole)

    def _paths_now(self) -> tuple[set[str], dict[str, str]]:
        return set(self.study_paths()), self.redirects()

    def _advanced(
        self, before: tuple[set[str], dict[str, str]], changes: Changes, changed: list[str]
    ) -> Advanced:
        paths_before, moved_before = before
        moved = {k: v for k, v in self.redirects().items() if k not in moved_before}
        return Advanced(
            day=self._world.day,
            changed=tuple(dict.fromkeys(changed)),
            added=tuple(self._world.studies[i].path for i in changes.added),
            removed=tuple(sorted(paths_before - set(self.study_paths()) - set(moved))),
            moved=moved,
        )

    # --- the live world's watcher: pages follow its clock ----------------------------------------
    def event_happened(self, event: Event, studies: list[int]) -> None:
        """Render anew the study pages the event touched (a new study's too) at its instant;
        listings and other plain pages wait for the day's refresh, as the live site's caches do."""
        world = self._world
        assert isinstance(world, LiveWorld)
        for index in studies:
            study = world.studies[index]
            for path in (study.path, study.alias_path):
                if path is None:
                    continue
                if study.removed_status is not None:
                    self._pages.pop(path, None)
                    self._gone[path] = study.removed_status
                else:
                    self._index_by_path[path] = index
                self._rendered.append(path)
        for index in sorted(world.take_touched()):
            self._render_study(world, world.studies[index])
        self._feeds.clear()  # sitemaps list what is live, with each page's last change

    def day_began(self) -> None:
        self._rendered += self._refresh(initial=False)

    def _render_study(self, world: LiveWorld, study: Study) -> None:
        if study.removed_status is not None:
            return
        for path, alias in ((study.path, False), (study.alias_path, True)):
            if path is None:
                continue
            old = self._pages.get(path)
            view = study_view(world, study, alias=alias)
            if old is not None and view == old.view:
                continue
            markup = old.markup if old is not None else _markup_for(study.study_id)
            self._pages[path] = _Page(view, self.now, markup)  # the instant of the event
            self._bodies = {k: v for k, v in self._bodies.items() if k[0] != path}
            self._rendered.append(path)

    def stop_changes(self) -> None:
        """Live profile: from now on days pass without changes (a noisy but unchanged site)."""
        if not isinstance(self._world, LiveWorld):
            raise ReplicaError("stop_changes needs the live profile")
        self._world.changing = False

    def _refresh(self, *, initial: bool) -> list[str]:
        """Rebuild every view; pages whose view is unchanged keep their object (and bytes)."""
        kept: set[str] = set()
        if isinstance(self._world, LiveWorld):
            old_views = {path: page.view for path, page in self._pages.items()}
            views = live.live_views(self._world, old_views, kept)
        else:
            views = page_views(self._world)
        pages: dict[str, _Page] = {}
        changed: list[str] = []
        for path, view in views.items():
            old = self._pages.get(path)
            if old is not None and old.view == view:
                pages[path] = old
                continue
            if old is not None and path in kept:  # only its ages ticked: the same revision
                pages[path] = _Page(view, old.changed_at, old.markup)
                changed.append(path)
                continue
            changed_at = _initial_revision(path) if initial else self.now
            markup = _markup_for(view.study_id if isinstance(view, StudyView) else path)
            pages[path] = _Page(view, changed_at, markup)
            changed.append(path)
        self._pages = pages
        studies = self._world.studies
        self._index_by_path = {p: s.index for s in studies for p in (s.path, s.alias_path) if p}
        self._gone = {
            path: s.removed_status
            for s in studies
            if s.removed_status is not None
            for path in (s.path, s.alias_path)
            if path
        }
        self._moved = {
            f"/research/{old}-{s.study_id}": s.path for s in studies for old in s.old_slugs
        }
        self._feeds.clear()
        self._bodies = {
            k: v for k, v in self._bodies.items() if k[0] in pages and pages[k[0]].view is v[0]
        }
        return changed


def _markup_for(key: str) -> str:
    """A page's markup, fixed by its study id (both slugs alike) or its path."""
    return MARKUPS[zlib.crc32(key.encode()) % len(MARKUPS)]


def _initial_revision(path: str) -> datetime:
    """A page's last revision before day 0: a midnight up to INITIAL_AGE_DAYS before, fixed by
    its path."""
    return day_start(-1 - zlib.crc32(path.encode()) % INITIAL_AGE_DAYS)


def _lastmod(instant: datetime) -> date | datetime:
    """A sitemap `<lastmod>`: the date where the instant is a midnight (every instant of the kind
    profile, whose sitemaps stay as they were), else the W3C datetime to the second."""
    return instant.date() if instant.time() == time() else instant


def _valid_base(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ReplicaError(f"base URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def _not_modified(headers: Mapping[str, str], body: _Body) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    if "if-none-match" in headers:
        tags = [t.strip().removeprefix("W/") for t in headers["if-none-match"].split(",")]
        return "*" in tags or body.etag in tags
    since = headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return body.changed_at <= parsedate_to_datetime(since)  # both to the second
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as RFC 9110 asks


def _wants_gzip(headers: Mapping[str, str]) -> bool:
    for token in headers.get("accept-encoding", "").split(","):
        name, _, params = token.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0")
    return False
