"""The live profile's pages: per-request noise, inline script data, validators, ticking ages.

The live site is a server-rendered JavaScript application, so two requests of one unchanged page
differ in bytes. `decorate` takes a page's deterministic HTML and adds, where no reader sees it:

- before `</body>`, a `<script id="__NEXT_DATA__" type="application/json">` payload: the page's
  props (records deterministic per path that bring the page to 50-300 KB, as hydration data
  does), then the day's build id (one deploy a day), a request id and the request time;
- after it, an inline `<script>` with a nonce.
All noise comes after the deterministic bytes, so a page's gzip prefix is compressed once.

`VALIDATORS` are the three ways the live site may answer a conditional GET: `none` (no ETag nor
Last-Modified), `weak` (`W/"..."` over the noisy bytes: new on every request, so never a 304) and
`strong` (over the deterministic page, i.e. what a reader sees: 304 on If-None-Match). Its
Last-Modified is the instant of the page's last revision, to the second (a change at 15:00 says
15:00, so a client that fetched at 10:00 and sends If-Modified-Since gets the new page). Ages
ticking over do not move it, so an If-Modified-Since alone may earn a 304 while an age text
changed (the record's estimate did not).

`live_views` renders anew only the study pages the change process touched; `reage` gives a kept
view the age texts ("3 weeks ago") of the replica's current day, so ages tick as simulated days
pass while the rest of the page stays as it was rendered.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Literal

from replica import prose
from replica.churn import LiveWorld
from replica.model import PageView, StudyView
from replica.views import plain_views, study_view

Profile = Literal["kind", "live"]
Validators = Literal["none", "weak", "strong"]
PROFILES: Final[tuple[Profile, ...]] = ("kind", "live")
VALIDATORS: Final[tuple[Validators, ...]] = ("none", "weak", "strong")
MIN_PAGE_BYTES = 50_000
MAX_PAGE_BYTES = 300_000
_NOISE_ALLOWANCE = 600  # bytes the per-request noise adds around the bulk, at most
_ID_BYTES = 8  # a record's random id: 16 hex digits
_RECORD_SEPARATOR = '","rel":"related","weight":1},{"id":"'
_RECORD_BYTES = 2 * _ID_BYTES + len(_RECORD_SEPARATOR)
_BULK_CACHE = 64  # pages prepared in memory (~0.5 MB each): all of a 10,000-page world is GBs
_GZIP_WBITS = 31  # zlib's gzip container (16 + a 32 KB window)


@dataclass(frozen=True, slots=True)
class Noise:
    """What changes from one request to the next."""

    build_id: str
    request_id: str
    nonce: str
    at: datetime


def noise(seed: int, day: int, request: int, at: datetime) -> Noise:
    """The noise of request number `request`, deterministic per seed and request sequence."""
    token = hashlib.blake2b(f"{seed}/request/{request}".encode(), digest_size=16).hexdigest()
    build = hashlib.blake2b(f"{seed}/build/{day}".encode(), digest_size=12).hexdigest()
    return Noise(build_id=build[:21], request_id=token[:16], nonce=token[16:], at=at)


def target_size(seed: int, path: str) -> int:
    """A page's size in bytes, fixed per path: 50-300 KB."""
    span = MAX_PAGE_BYTES - MIN_PAGE_BYTES - _NOISE_ALLOWANCE
    return MIN_PAGE_BYTES + zlib.crc32(f"{seed}:{path}".encode()) % span


def decorate(html: bytes, seed: int, path: str, noise: Noise, *, gzipped: bool = False) -> bytes:
    """`html` with the request's noise and the page's inline data (see the module docstring),
    gzip-compressed when `gzipped`."""
    prepared = _prepare(html, seed, path)
    tail = _noise_bytes(noise) + prepared.suffix
    if not gzipped:
        return prepared.prefix + tail
    # Only the noise and what follows it are compressed per request: the compressor's state
    # after the deterministic prefix is kept, which makes a 300 KB page cost well under 1 ms.
    if prepared.compressor is None:
        prepared.compressor = zlib.compressobj(1, zlib.DEFLATED, _GZIP_WBITS)
        prepared.gzipped_prefix = prepared.compressor.compress(prepared.prefix)
    compressor = prepared.compressor.copy()
    return prepared.gzipped_prefix + compressor.compress(tail) + compressor.flush()


@dataclass(slots=True)
class _Prepared:
    prefix: bytes  # the page up to the noise, props included: the same on every request
    suffix: bytes  # what follows the noise
    # zlib's compressor state after `prefix`, made on the first gzip request (its type is
    # private: typeshed's `_Compress`)
    compressor: zlib._Compress | None = None
    gzipped_prefix: bytes = b""


@functools.lru_cache(maxsize=_BULK_CACHE)
def _prepare(html: bytes, seed: int, path: str) -> _Prepared:
    before, marker, after = html.rpartition(b"</body>")
    if not marker:
        before, after = html, b""
    fill = max(0, target_size(seed, path) - len(html) - _NOISE_ALLOWANCE)
    prefix = (
        before
        + b'<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":'
        + b'{"records":[{"id":"'
        + _bulk(seed, path, fill)
        + b'"}]}},'
    )
    return _Prepared(prefix, marker + after)


def _noise_bytes(noise: Noise) -> bytes:
    fields = json.dumps(
        {
            "buildId": noise.build_id,
            "requestId": noise.request_id,
            "requestTime": noise.at.isoformat(),
        }
    )[1:]
    script = f'<script nonce="{noise.nonce}">self.__BUILD_ID="{noise.build_id}";</script>'
    return (fields + "</script>" + script).encode()


def _bulk(seed: int, path: str, size: int) -> bytes:
    """About `size` bytes of JSON records, the same for a page on every request.

    Records of repeated keys around short random ids compress about as well as real hydration
    data; they are built by C-level `hex(sep)` and `replace`, which keeps a page's first render
    fast.
    """
    records = max(1, size // _RECORD_BYTES)
    raw = hashlib.shake_256(f"{seed}/props/{path}".encode()).digest(records * _ID_BYTES)
    return raw.hex(",", _ID_BYTES).replace(",", _RECORD_SEPARATOR).encode()


def weak_etag(data: bytes) -> str:
    return 'W/"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def reage(view: StudyView, created: dict[str, int], day: int) -> StudyView:
    """`view` with each post card's age as read on `day` (the same object when none ticked)."""
    if not any(section.cards for section in view.sections):
        return view
    sections = tuple(
        replace(
            section,
            cards=tuple(
                replace(card, age_text=prose.age_text(day - created[card.post_id]))
                for card in section.cards
            ),
        )
        if section.cards
        else section
        for section in view.sections
    )
    return view if sections == view.sections else replace(view, sections=sections)


def live_views(
    world: LiveWorld, old: Mapping[str, PageView], kept: set[str]
) -> dict[str, PageView]:
    """Every page's view now: only the study pages the change process touched are rendered anew;
    the others keep their `old` view, re-aged to today (their paths go into `kept`)."""
    touched = world.take_touched()
    created = {post.post_id: post.created_day for post in world.posts}
    views: dict[str, PageView] = {}
    for study in world.live_studies():
        for path, alias in ((study.path, False), (study.alias_path, True)):
            if path is None:
                continue
            before = old.get(path)
            if study.index in touched or not isinstance(before, StudyView):
                views[path] = study_view(world, study, alias=alias)
            else:
                views[path] = reage(before, created, world.day)
                kept.add(path)
    views.update(plain_views(world))
    return views
