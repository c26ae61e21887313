"""URL rules of the site: canonical form, study ids, post ids, page kinds.

Canonicalisation is w3lib's (Scrapy's): sorted query, percent-encoding, no fragment. On top of it we
drop what w3lib keeps but the site does not distinguish: default ports, tracking parameters and a
trailing slash, so one page has one URL and is fetched once.
"""

from __future__ import annotations

import functools
import re
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

DEFAULT_SITE = "https://tressless.com"

# Query parameters that only track the visitor; they never change what a page shows.
TRACKING_PARAMETERS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "gclid",
    "fbclid",
    "mc_cid",
    "mc_eid",
    "ref",
    "ref_src",
)
DEFAULT_PORTS = {"http": 80, "https": 443}

# `/research/<slug>-<id>`: the id is the text after the last hyphen, 3 or 4 characters.
STUDY_PATH = re.compile(r"^/research/(?P<slug>[^/]+)-(?P<id>[A-Za-z0-9]{3,4})/?$")
# Community posts: the site's own `/community/.../<slug>-<id>` or a Reddit `/comments/<id>/`.
POST_ID_PATTERNS = (
    re.compile(r"/comments/(?P<id>[A-Za-z0-9]+)"),
    re.compile(r"^/community/(?:.*/)?(?:[^/]*-)?(?P<id>[A-Za-z0-9]+)/?$"),
)
# `/search/research/<keyword>/<page>`: one page of a research listing (entries, then a pager).
LISTING_PATH = re.compile(r"^/search/research/(?P<keyword>[^/]+)/(?P<page>[0-9]{1,6})/?$")
PageKindName = Literal["study", "post", "listing", "search", "learn", "other"]


# Canonical forms are cached by absolute URL: pages link the same studies and posts over and over,
# and w3lib's canonicalisation was a third of the parse time and most of link classification.
# 32k entries hold a 10,000-study site's links in a few MB; a bigger site hits it less often.
CANONICAL_CACHE_SIZE = 32 * 1024


def canonicalize(url: str, base: str | None = None) -> str:
    """The one spelling of `url` (made absolute against `base` first)."""
    url = url.strip()
    # Most links are absolute already, and `urljoin` was most of what a cached call costs. On an
    # absolute URL it changes one thing w3lib keeps: an empty `;` (path parameters) is dropped.
    if base and (";" in url or not url.startswith(("http://", "https://"))):
        url = urljoin(base, url)
    return _canonical(url)


@functools.lru_cache(maxsize=CANONICAL_CACHE_SIZE)
def _canonical(absolute: str) -> str:
    cleaned = url_query_cleaner(absolute, TRACKING_PARAMETERS, remove=True)
    parts = urlsplit(canonicalize_url(cleaned))
    netloc = parts.hostname or ""
    if parts.port and parts.port != DEFAULT_PORTS.get(parts.scheme):
        netloc = f"{netloc}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def study_id_from_url(url: str | None) -> str | None:
    """The study id of a `/research/<slug>-<id>` URL, else None."""
    if not url:
        return None
    match = STUDY_PATH.match(urlsplit(url).path)
    return match["id"] if match else None


def post_id_from_url(url: str | None) -> str | None:
    """The id of a community post URL, else None."""
    if not url:
        return None
    path = urlsplit(url).path
    for pattern in POST_ID_PATTERNS:
        match = pattern.search(path)
        if match:
            return match["id"]
    return None


def page_kind_from_url(url: str | None) -> PageKindName:
    """study | post | listing | search | learn | other, from the path alone (discovery decides
    with it what to follow; the parser trusts it for listing, search and learn pages and reads
    the rest)."""
    if not url:
        return "other"
    if study_id_from_url(url):
        return "study"
    path = urlsplit(url).path
    if path.startswith("/community/") and post_id_from_url(url):
        return "post"
    if LISTING_PATH.match(path):
        return "listing"
    return _section_kind(path)


def _section_kind(path: str) -> PageKindName:
    if path.startswith("/search"):
        return "search"
    if path.startswith("/learn"):
        return "learn"
    return "other"


def listing_position(url: str | None) -> tuple[str, int] | None:
    """(keyword, page number) of a research listing URL, else None."""
    match = LISTING_PATH.match(urlsplit(url).path) if url else None
    return (match["keyword"], int(match["page"])) if match else None


def listing_path(keyword: str, page: int = 1) -> str:
    """The site path of page `page` of the research listing for `keyword`."""
    return f"/search/research/{keyword}/{page}"


def host_spellings(host: str) -> frozenset[str]:
    """A host with and without its `www.`: the one site either way (lower case)."""
    bare = host.lower().removeprefix("www.")
    return frozenset({host.lower(), bare, f"www.{bare}"})
