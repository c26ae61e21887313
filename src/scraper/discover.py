"""Discovery: where URLs come from, and which of them we follow.

Four sources: robots.txt `Sitemap:` lines -> sitemap index -> sitemaps (gzip too, `<lastmod>`
kept); the seed URLs of the config; research listings of the seed keywords (the way in when the
site has no usable sitemap); links in parsed pages (cited and related research, community posts
when enabled, a listing's entries and its next page). Every URL found is classified once: a
canonical `Discovered` the frontier may schedule, or a `Rejected` with its reason (`off-site:
doi.org`, `bad-url: javascript`, `too-long`, `skipped: learn`), which the frontier records
instead of following.

    DiscoveryError       a sitemap could not be used (recorded per sitemap, never fatal)
     └── SitemapError    not a sitemap, not XML, a DTD, or larger than the cap once unzipped
"""

from __future__ import annotations

import functools
import hashlib
import io
import xml.etree.ElementTree as ET
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import SplitResult, urlsplit

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from scraper.config import CrawlConfig
from scraper.fetcher import Fetcher
from scraper.records import ListingPage, LoadItem, StudyPage
from scraper.responses import FetchResult, FetchTarget
from scraper.urls import (
    PageKindName,
    canonicalize,
    host_spellings,
    listing_path,
    listing_position,
    page_kind_from_url,
    study_id_from_url,
)
from scraper.warc import ArchivedResponse

Source = Literal["seed", "sitemap", "link", "redirect"]

# Schemes that are not pages: never followed, recorded as `bad-url: <scheme>`.
UNFOLLOWABLE_SCHEMES = ("javascript", "data", "mailto", "tel", "about", "file", "ftp", "blob")
GZIP_MAGIC = b"\x1f\x8b"
SITEMAP_INDEX_TAG = "sitemapindex"
SITEMAP_URLSET_TAG = "urlset"


class DiscoveryError(Exception):
    """A discovery source could not be used."""


class SitemapError(DiscoveryError):
    """The bytes are not a usable sitemap."""


# --- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovered:
    """A URL we may crawl, canonical, with how we learned of it."""

    url: str
    source: Source
    kind: PageKindName = "other"
    study_id: str | None = None
    lastmod: datetime | None = None  # from the sitemap, when it said
    referrer: str | None = None  # the sitemap or page that listed it


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """A URL found and not followed, with the reason."""

    url: str
    reason: str
    referrer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    """What one discovery step found, refused, and fetched on the way."""

    found: tuple[Discovered, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    sitemaps: tuple[str, ...] = ()  # sitemap URLs that were read
    errors: tuple[str, ...] = ()  # "<sitemap url>: <reason>" for those that could not be
    responses: tuple[FetchResult, ...] = ()  # the sitemap fetches, for the archive

    def merge(self, other: Discovery) -> Discovery:
        return Discovery(
            found=self.found + other.found,
            rejected=self.rejected + other.rejected,
            sitemaps=self.sitemaps + other.sitemaps,
            errors=self.errors + other.errors,
            responses=self.responses + other.responses,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sitemap:
    is_index: bool  # a sitemap index lists sitemaps; a urlset lists pages
    entries: tuple[SitemapEntry, ...]


# --- classifying URLs -----------------------------------------------------------------------------


def classify(
    url: str,
    config: CrawlConfig,
    *,
    source: Source,
    base: str | None = None,
    referrer: str | None = None,
    lastmod: datetime | None = None,
) -> Discovered | Rejected:
    """Accept `url` as a canonical page to crawl, or reject it with a reason."""
    raw = url.strip()
    refused = _refusal(raw, config, base)
    if refused:
        return Rejected(url=raw[: config.max_url_length], reason=refused, referrer=referrer)
    canonical = site_form(canonicalize(raw, base=base), config)
    kind = page_kind_from_url(canonical)
    if source != "seed" and not _followed_kind(kind, config, source):
        return Rejected(url=canonical, reason=f"skipped: {kind}", referrer=referrer)
    if kind == "listing" and _beyond_last_listing_page(canonical, config):
        return Rejected(url=canonical, reason="skipped: listing page limit", referrer=referrer)
    return Discovered(
        url=canonical,
        source=source,
        kind=kind,
        study_id=study_id_from_url(canonical),
        lastmod=lastmod,
        referrer=referrer,
    )


def site_form(url: str, config: CrawlConfig) -> str:
    """One spelling per page of the site: `http://` and `www.` variants of the base host take the
    base URL's scheme and host (the site links its own studies both ways)."""
    parts = urlsplit(url)
    base, twins = _site_of(config.base_url)
    if (parts.hostname or "").lower() not in twins or parts.port not in (None, base.port):
        return url
    return parts._replace(scheme=base.scheme, netloc=base.netloc.lower()).geturl()


@functools.lru_cache(maxsize=8)
def _site_of(base_url: str) -> tuple[SplitResult, frozenset[str]]:
    """The base URL's parts and its host's spellings (asked for every link of every page)."""
    base = urlsplit(base_url)
    return base, host_spellings(base.hostname or "")


def _refusal(raw: str, config: CrawlConfig, base: str | None) -> str | None:
    """Why `raw` cannot be followed at all, or None."""
    refused = _lexical_refusal(raw, config)
    if refused:
        return refused
    try:
        parts = urlsplit(canonicalize(raw, base=base))
    except ValueError:
        return "bad-url: unparsable"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"bad-url: {parts.scheme or 'relative'}"
    return _off_site(parts, config)


def _off_site(parts: SplitResult, config: CrawlConfig) -> str | None:
    """Why a well-formed URL is not the configured site's: another host, or another port."""
    if (parts.hostname or "").lower() not in config.hosts:
        return f"off-site: {(parts.hostname or '').lower()}"
    # An explicit port must be the site's own (an implicit one is made the site's by `site_form`).
    try:
        port = parts.port
    except ValueError:
        return "bad-url: port"
    if port is not None and not config.allows_port(parts.scheme, port):
        return f"off-site: {parts.netloc.lower()}"
    return None


def _lexical_refusal(raw: str, config: CrawlConfig) -> str | None:
    """Refusals visible in the text itself, before any parsing."""
    if not raw:
        return "bad-url: empty"
    if len(raw) > config.max_url_length:
        return "too-long"
    scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
    if scheme in UNFOLLOWABLE_SCHEMES:
        return f"bad-url: {scheme}"
    return None


def _followed_kind(kind: PageKindName, config: CrawlConfig, source: Source) -> bool:
    # Listings are followed from seeds and from other listings (the pager), not from sitemaps:
    # a sitemap already names every study, and a listing then only costs requests.
    if kind == "listing":
        return source != "sitemap"
    return kind == "study" or (kind == "post" and config.follow_community_posts)


def _beyond_last_listing_page(url: str, config: CrawlConfig) -> bool:
    position = listing_position(url)
    return position is not None and position[1] > config.max_listing_pages


def split(items: Iterable[Discovered | Rejected]) -> Discovery:
    found = tuple(item for item in items if isinstance(item, Discovered))
    rejected = tuple(item for item in items if isinstance(item, Rejected))
    return Discovery(found=found, rejected=rejected)


# --- seeds and page links -------------------------------------------------------------------------


def seeds(config: CrawlConfig) -> Discovery:
    """The configured seed URLs (site paths are taken relative to `base_url`)."""
    return split(
        [classify(url, config, source="seed", base=config.base_url) for url in config.seed_urls]
    )


def keyword_listings(config: CrawlConfig) -> Discovery:
    """The first research listing page of each seed keyword (the pager leads to the rest)."""
    return split(
        [
            classify(listing_path(keyword), config, source="seed", base=config.base_url)
            for keyword in config.seed_keywords
        ]
    )


def links_from_item(item: LoadItem, config: CrawlConfig) -> Discovery:
    """The links a parsed page leads to: a listing's, or a study page's."""
    if item.listing is not None:
        return links_from_listing(item.listing, config)
    return links_from_page(item.page, config)


def links_from_listing(listing: ListingPage, config: CrawlConfig) -> Discovery:
    """A listing's entries and its next page."""
    base = listing.url or config.base_url
    urls = [entry.url for entry in listing.entries if entry.url]
    if listing.next_url:
        urls.append(listing.next_url)
    items = [classify(url, config, source="link", base=base, referrer=listing.url) for url in urls]
    return split(items)


def links_from_page(page: StudyPage, config: CrawlConfig) -> Discovery:
    """Cited and related research of a parsed page, plus its community posts when enabled."""
    base = page.url or config.base_url
    urls = [entry.url for entry in (*page.cited_research, *page.related_research) if entry.url]
    if config.follow_community_posts:
        urls += [post.url for post in page.community_posts if post.url]
    items = [classify(url, config, source="link", base=base, referrer=page.url) for url in urls]
    return split(items)


# --- sitemaps -------------------------------------------------------------------------------------


def parse_sitemap(body: bytes, *, max_bytes: int) -> Sitemap:
    """A sitemap index or urlset, gzip or plain. Locations as written, lastmod as UTC datetimes."""
    data = _sitemap_xml(body, max_bytes)
    try:
        # Sitemaps need no DTD, and a DTD's entities are how an XML bomb is built.
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise SitemapError("dtd-refused") from exc
    except ET.ParseError as exc:
        raise SitemapError(f"not-xml: {exc}") from exc
    tag = _local(root.tag)
    if tag not in (SITEMAP_INDEX_TAG, SITEMAP_URLSET_TAG):
        raise SitemapError(f"not-a-sitemap: <{tag}>")
    entries = tuple(entry for child in root if (entry := _entry(child)) is not None)
    return Sitemap(is_index=tag == SITEMAP_INDEX_TAG, entries=entries)


def _sitemap_xml(body: bytes, max_bytes: int) -> bytes:
    """A sitemap's XML, unzipped and checked for size (SitemapError if refused)."""
    data = _gunzip(body, max_bytes) if body.startswith(GZIP_MAGIC) else body
    if len(data) > max_bytes:
        raise SitemapError("too-large")
    return data


def _root_tag(body: bytes, max_bytes: int) -> str | None:
    """The root element of a sitemap, read without parsing what follows it; None when it cannot
    be told (`parse_sitemap` then says why)."""
    try:
        data = _sitemap_xml(body, max_bytes)
        for _event, element in SafeET.iterparse(io.BytesIO(data), ("start",), forbid_dtd=True):
            return _local(element.tag)
    except (SitemapError, DefusedXmlException, ET.ParseError):
        return None
    return None


def parse_lastmod(text: str | None) -> datetime | None:
    """A W3C datetime (`2024-01-02`, `2024-01-02T10:00:00+01:00`, `...Z`) in UTC, else None."""
    if not text or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# The last complete answer archived for each of some URLs that has one (`Archive.read_many`).
PreviousLookup = Callable[[Sequence[str]], Mapping[str, ArchivedResponse]]
# Whether the URLs of an archived sitemap already reached the frontier (its crawl's discovery
# ran to the end).
SettledCheck = Callable[[ArchivedResponse], bool]


async def discover_sitemaps(
    fetcher: Fetcher,
    config: CrawlConfig,
    *,
    previous: PreviousLookup | None = None,
    settled: SettledCheck | None = None,
) -> Discovery:
    """Everything `sitemap_steps` finds, merged into one Discovery."""
    discovery = Discovery()
    async for step in sitemap_steps(fetcher, config, previous=previous, settled=settled):
        discovery = discovery.merge(step)
    return discovery


async def sitemap_steps(
    fetcher: Fetcher,
    config: CrawlConfig,
    *,
    previous: PreviousLookup | None = None,
    settled: SettledCheck | None = None,
    affordable: Callable[[], int | None] | None = None,
) -> AsyncIterator[Discovery]:
    """robots.txt `Sitemap:` lines (or /sitemap.xml) -> indexes -> urlsets, level by level; what
    each sitemap brought is yielded as soon as it is read, so that a caller can store it before
    the next one is parsed (a large site's sitemaps list hundreds of thousands of URLs).

    With `previous` (the archive's last copy of a sitemap) each sitemap is asked for
    conditionally; a 304 stands for the archived body, which is read again so an index still
    leads to its children. A urlset that answered 304 and whose archived copy is `settled` (a
    finished discovery put its URLs and lastmods in the frontier) brings nothing new: its URLs are
    not classified again, which is most of a daily recrawl's discovery on a large site.

    `affordable` (a run's budget) says how many more sitemaps may be fetched at once (None: any),
    asked before each slice of a level; 0 ends the discovery there.
    """
    robots = await fetcher.robots(config.base_url)
    level = list(robots.sitemaps) or [canonicalize("/sitemap.xml", base=config.base_url)]
    seen: set[str] = set()
    while level and len(seen) < config.max_sitemaps:
        batch = _next_sitemaps(level, seen, config)
        if batch.checked.rejected:
            yield batch.checked
        priors = previous(batch.urls) if previous else {}
        level, pending = [], batch.urls
        while pending:
            allowed = affordable() if affordable else None
            if allowed is not None and allowed <= 0:
                return
            chunk = pending[:allowed]
            pending = pending[len(chunk) :]
            targets = [_conditional(url, priors.get(url)) for url in chunk]
            # A sitemap may be ten times a page's cap (sitemaps.org allows 50 MB); under the
            # page cap a large site's sitemaps would be refused and its pages never found.
            results = await fetcher.fetch_batch(
                targets, expect="any", max_bytes=config.max_sitemap_bytes
            )
            for result in results:
                prior = priors.get(result.url)
                known = bool(result.not_modified and prior and settled and settled(prior))
                step, children = _read_sitemap(result, prior, config, known=known)
                level.extend(children)
                yield step


def _conditional(url: str, prior: ArchivedResponse | None) -> FetchTarget:
    if prior is None:
        return FetchTarget(url=url)
    return FetchTarget(
        url=url,
        etag=prior.header("etag"),
        last_modified=prior.header("last-modified"),
        content_sha256=hashlib.sha256(prior.body).hexdigest(),
    )


@dataclass(frozen=True, slots=True)
class _Level:
    urls: list[str]
    checked: Discovery


def _next_sitemaps(candidates: list[str], seen: set[str], config: CrawlConfig) -> _Level:
    urls: list[str] = []
    rejected: list[Rejected] = []
    for candidate in candidates:
        refused = _refusal(candidate.strip(), config, config.base_url)
        if refused:
            rejected.append(Rejected(url=candidate[: config.max_url_length], reason=refused))
            continue
        url = canonicalize(candidate, base=config.base_url)
        if url not in seen and len(seen) < config.max_sitemaps:
            seen.add(url)
            urls.append(url)
    return _Level(urls, Discovery(rejected=tuple(rejected)))


def _read_sitemap(
    result: FetchResult, prior: ArchivedResponse | None, config: CrawlConfig, *, known: bool
) -> tuple[Discovery, list[str]]:
    """One fetched sitemap: its page URLs classified (unless `known`: already in the
    frontier), or the child sitemaps of an index."""
    fetched = Discovery(responses=(result,))
    body = prior.body if result.not_modified and prior is not None else result.body
    if not result.ok or body is None:
        reason = result.error or f"http-{result.status}"
        return fetched.merge(Discovery(errors=(f"{result.url}: {reason}",))), []
    if known and _root_tag(body, config.max_sitemap_bytes) == SITEMAP_URLSET_TAG:
        # Nothing new, and nothing to follow: not parsed at all.
        return fetched.merge(Discovery(sitemaps=(result.url,))), []
    try:
        sitemap = parse_sitemap(body, max_bytes=config.max_sitemap_bytes)
    except SitemapError as exc:
        return fetched.merge(Discovery(errors=(f"{result.url}: {exc}",))), []
    read = fetched.merge(Discovery(sitemaps=(result.url,)))
    if sitemap.is_index:
        return read, [entry.loc for entry in sitemap.entries]
    if known:
        return read, []
    items = [
        classify(e.loc, config, source="sitemap", referrer=result.url, lastmod=e.lastmod)
        for e in sitemap.entries
    ]
    return read.merge(split(items)), []


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    """At most `max_bytes` (+1 to notice more): a small file must not unzip to gigabytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(f"bad-gzip: {exc}") from exc
    if len(data) > max_bytes:
        raise SitemapError("too-large")
    return data


def _local(tag: str) -> str:
    """`{namespace}name` -> `name`."""
    return tag.rsplit("}", 1)[-1]


def _entry(element: ET.Element) -> SitemapEntry | None:
    if _local(element.tag) not in ("url", "sitemap"):
        return None
    fields = {_local(child.tag): (child.text or "").strip() for child in element}
    loc = fields.get("loc")
    if not loc:
        return None
    return SitemapEntry(loc=loc, lastmod=parse_lastmod(fields.get("lastmod")))
