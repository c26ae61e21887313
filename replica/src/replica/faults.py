"""The replica's fault mode: seeded misbehaviour at a configurable rate, for reliability tests.

    plan = FaultPlan(rate=0.3, seed=1, broken={"/research/some-study-Abc": "500"})
    replica = Replica(pages=30, faults=plan)        # or replica.set_faults(plan); None: off
    scraper replica serve --faults 0.3 [--fault-seed N] [--fault-kinds 429,slow,...]

    FaultPlanError (ValueError)    a plan that cannot be: rate outside 0..1, unknown kind, ...

Which request gets which fault is a pure function of (seed, path, n), n counting the requests
for that path so far, so a plan misbehaves the same way whatever order concurrent requests
arrive in. Random faults strike only paths under `paths` (study pages by default: robots.txt and
sitemaps stay healthy unless asked) and are transient: a path never draws more than
`max_streak` of them in a row, so a client that tries `max_streak + 1` times gets through. Paths
in `broken` fail on every request, always the same way: the permanently broken pages a crawl has
to list with their reason.

Kinds, and what a client sees:

    429, 503       that status with Retry-After, in seconds or as an HTTP-date (alternately)
    500            a plain 500
    slow           the answer starts `slow_s` seconds late (set it above the client's timeout)
    reset          headers announcing the whole body, then the connection closes: no body byte
    truncated      headers announcing the whole body, half of it, then the connection closes
    wrong-type     the page labelled text/plain or application/octet-stream
    bad-encoding   `Content-Encoding: gzip` over a body that is not gzip
    redirect-loop  302 to `?_loop=1`, which redirects to `?_loop=2`, and back, for ever
    huge           the page padded to `huge_bytes`, every other time without Content-Length
    flux           the page changed since the last fetch (upvotes and citations moved)

`slow`, `reset` and `truncated` only exist on the wire (`ReplicaServer`); `Replica.render` answers
those requests as if nothing happened.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Final, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from replica.model import PageView, SectionView, StudyView

FaultKind = Literal[
    "429",
    "503",
    "500",
    "slow",
    "reset",
    "truncated",
    "wrong-type",
    "bad-encoding",
    "redirect-loop",
    "huge",
    "flux",
]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = get_args(FaultKind)
# Kinds a crawler can outlast by trying again. A huge body is not among them: a crawler rightly
# refuses to download a page over its size cap a second time in the same visit.
TRANSIENT_KINDS: Final[tuple[FaultKind, ...]] = tuple(k for k in FAULT_KINDS if k != "huge")
# Kinds that need the page's full body: they are served as if the request were unconditional.
BODY_KINDS: Final = frozenset({"reset", "truncated", "wrong-type", "bad-encoding", "huge"})
LOOP_PARAM: Final = "_loop"  # query parameter of the redirect loop's two addresses
WRONG_TYPES: Final = ("text/plain; charset=utf-8", "application/octet-stream")
TEXT_TYPE: Final = "text/plain; charset=utf-8"

DEFAULT_RATE = 0.3  # a heavy mix: about one request in three misbehaves
DEFAULT_MAX_STREAK = 2  # random faults in a row on one path; the crawler tries 3 times by default
DEFAULT_SLOW_S = 35.0  # over the crawler's default read timeout (30 s); tests use a short one
DEFAULT_RETRY_AFTER_S = 1  # what 429/503 ask a client to wait
DEFAULT_HUGE_BYTES = 6 * 1024 * 1024  # over the crawler's default page cap (5 MiB)


class FaultPlanError(ValueError):
    """The fault plan cannot be (rate outside 0..1, unknown kind, negative sizes)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """What goes wrong, how often, and where (see the module docstring)."""

    rate: float = DEFAULT_RATE  # share of requests under `paths` that draw a random fault
    seed: int = 0
    kinds: tuple[FaultKind, ...] = TRANSIENT_KINDS  # drawn with equal odds
    paths: tuple[str, ...] = ("/research/",)  # path prefixes random faults strike ("/": all)
    broken: Mapping[str, FaultKind] = field(default_factory=dict)  # path -> fault, every time
    max_streak: int = DEFAULT_MAX_STREAK
    slow_s: float = DEFAULT_SLOW_S
    retry_after_s: int = DEFAULT_RETRY_AFTER_S
    huge_bytes: int = DEFAULT_HUGE_BYTES

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise FaultPlanError(f"fault rate must be between 0 and 1, got {self.rate}")
        unknown = {*self.kinds, *self.broken.values()} - set(FAULT_KINDS)
        if unknown:
            raise FaultPlanError(
                f"unknown fault kinds {sorted(unknown)}; choose from {', '.join(FAULT_KINDS)}"
            )
        if self.max_streak < 0 or self.slow_s < 0 or self.retry_after_s < 0:
            raise FaultPlanError("max_streak, slow_s and retry_after_s must not be negative")
        if self.huge_bytes < 1:
            raise FaultPlanError(f"huge_bytes must be positive, got {self.huge_bytes}")


def parse_kinds(text: str) -> tuple[FaultKind, ...]:
    """`429,slow,flux` -> kinds (the CLI's `--fault-kinds`)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FAULT_KINDS]
    if unknown or not names:
        raise FaultPlanError(
            f"unknown fault kinds {unknown or [text]}; choose from {', '.join(FAULT_KINDS)}"
        )
    return tuple(kind for kind in FAULT_KINDS if kind in names)


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault one request drew."""

    kind: FaultKind
    n: int  # the request's number among requests for its path, from 0
    permanent: bool  # the path is one of the plan's broken pages


@dataclass(frozen=True, slots=True)
class Served:
    """An answer plus what the server must do on the wire beyond sending it."""

    status: int
    headers: dict[str, str]
    body: bytes
    delay_s: float = 0.0  # wait this long before answering
    hangup_after: int | None = None  # send the headers and this many body bytes, then close
    chunked: bool = False  # stream the body without Content-Length
    fault: str | None = None  # the fault behind this answer, for the request log

    @property
    def response(self) -> tuple[int, dict[str, str], bytes]:
        return self.status, self.headers, self.body


class FaultState:
    """A plan plus its per-path request counters and fault streaks (the replica locks it)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._requests: dict[str, int] = {}
        self._streaks: dict[str, int] = {}

    def draw(self, path: str) -> Fault | None:
        """The fault of the next request for `path` (a routing key: no query), if any."""
        n = self._requests.get(path, 0)
        self._requests[path] = n + 1
        broken = self.plan.broken.get(path)
        if broken is not None:
            return Fault(broken, n, permanent=True)
        if not self.plan.kinds or not path.startswith(self.plan.paths):
            return None
        # A string seed is hashed with SHA-512: the same on every run and every platform.
        rng = random.Random(f"{self.plan.seed}:{path}:{n}")
        hit, kind = rng.random() < self.plan.rate, rng.choice(self.plan.kinds)
        streak = self._streaks.get(path, 0)
        if not hit or streak >= self.plan.max_streak:
            self._streaks[path] = 0
            return None
        self._streaks[path] = 0 if kind == "flux" else streak + 1  # flux is a good answer
        return Fault(kind, n, permanent=False)

    def requests(self, path: str) -> int:
        return self._requests.get(path, 0)


def loop_hop(path: str) -> Served | None:
    """The next hop of a redirect loop when `path` is one of the loop's addresses."""
    parts = urlsplit(path)
    values = parse_qs(parts.query).get(LOOP_PARAM)
    if not values:
        return None
    following = "2" if values[0] == "1" else "1"
    return _redirect(f"{parts.path}?{LOOP_PARAM}={following}")


def apply(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    """The answer `fault` turns `plain` (the answer without faults) into."""
    return replace(_EFFECTS[fault.kind](fault, plain, plan, path), fault=fault.kind)


def _too_many(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    retry_after = _retry_after(plan.retry_after_s, fault.n)
    return _status(int(fault.kind), {"Retry-After": retry_after})


def _server_error(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return _status(500, {})


def _slow(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return replace(plain, delay_s=plan.slow_s)


def _reset(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return replace(plain, hangup_after=0)


def _truncated(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return replace(plain, hangup_after=len(plain.body) // 2)


def _wrong_type(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return replace(plain, headers={**plain.headers, "Content-Type": WRONG_TYPES[fault.n % 2]})


def _bad_encoding(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    body, headers = _identity(plain)
    return replace(plain, headers={**headers, "Content-Encoding": "gzip"}, body=body)


def _loop(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return _redirect(f"{urlsplit(path).path}?{LOOP_PARAM}=1")


def _huge(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    body, headers = _identity(plain)
    padding = b"<!--" + b" " * max(0, plan.huge_bytes - len(body) - 7) + b"-->"
    return replace(plain, headers=headers, body=body + padding, chunked=fault.n % 2 == 1)


def _as_is(fault: Fault, plain: Served, plan: FaultPlan, path: str) -> Served:
    return plain  # flux is rendered by the replica itself: it needs the page's view


_EFFECTS: Final[dict[str, Callable[[Fault, Served, FaultPlan, str], Served]]] = {
    "429": _too_many,
    "503": _too_many,
    "500": _server_error,
    "slow": _slow,
    "reset": _reset,
    "truncated": _truncated,
    "wrong-type": _wrong_type,
    "bad-encoding": _bad_encoding,
    "redirect-loop": _loop,
    "huge": _huge,
    "flux": _as_is,
}


def flux_view(view: PageView, n: int) -> PageView:
    """`view` as it reads `n + 1` moments later: upvotes and citation counts have moved."""
    if not isinstance(view, StudyView):
        return view
    return replace(view, sections=tuple(_moved(section, n + 1) for section in view.sections))


def _moved(section: SectionView, step: int) -> SectionView:
    cards = tuple(
        replace(card, upvotes=card.upvotes + step) if card.upvotes is not None else card
        for card in section.cards
    )
    entries = tuple(
        replace(entry, citations=entry.citations + step) if entry.citations is not None else entry
        for entry in section.entries
    )
    return replace(section, cards=cards, entries=entries)


def _status(status: int, extra: dict[str, str]) -> Served:
    body = f"{status}: replica fault\n".encode()
    return Served(status, {"Content-Type": TEXT_TYPE, **extra}, body)


def _redirect(location: str) -> Served:
    return Served(302, {"Location": location, "Content-Length": "0"}, b"", fault="redirect-loop")


def _retry_after(seconds: int, n: int) -> str:
    """Delta-seconds on even requests, an HTTP-date on odd ones (RFC 9110 allows both)."""
    if n % 2 == 0:
        return str(seconds)
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def _identity(served: Served) -> tuple[bytes, dict[str, str]]:
    """The body without its Content-Encoding, and headers that no longer claim one."""
    headers = {k: v for k, v in served.headers.items() if k.lower() != "content-encoding"}
    encoding = next((v for k, v in served.headers.items() if k.lower() == "content-encoding"), "")
    body = gzip.decompress(served.body) if encoding == "gzip" else served.body
    return body, headers
