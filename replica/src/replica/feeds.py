"""robots.txt and the sitemaps: how a crawler finds the replica's pages without following links.

`/sitemap.xml` is a sitemap index. Study paths are split by study index into children of a fixed
size, so a child only changes when one of its own studies does; the second child is always served
gzipped (`studies-2.xml.gz`, as many sites do), so a crawler must handle both forms.
`/sitemaps/pages.xml` lists the hubs (home, community, search and learn pages).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from xml.sax.saxutils import escape

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
GZIPPED_CHILD = 2  # studies-2 is the gzipped one
LARGE_WORLD = 1000  # above this many pages, children hold CHUNK_SIZE studies each
CHUNK_SIZE = 500
CONTROL_PREFIX = "/_replica/"  # the replica's control endpoints: never for crawlers


def chunk_size(initial_pages: int) -> int:
    """Small worlds still get two children (one of them gzipped)."""
    return CHUNK_SIZE if initial_pages > LARGE_WORLD else max(1, -(-initial_pages // 2))


def child_name(number: int) -> str:
    suffix = ".xml.gz" if number == GZIPPED_CHILD else ".xml"
    return f"studies-{number}{suffix}"


def robots(
    base_url: str, disallow: Sequence[str], crawl_delay: float | None, *, sitemap: bool = True
) -> bytes:
    lines = ["# Replica of a research site: synthetic pages for tests", "User-agent: *"]
    lines += [f"Disallow: {CONTROL_PREFIX}"] + [f"Disallow: {rule}" for rule in disallow]
    if crawl_delay is not None:
        lines.append(f"Crawl-delay: {crawl_delay:g}")
    lines += ["", f"Sitemap: {base_url}/sitemap.xml", ""] if sitemap else [""]
    return "\n".join(lines).encode()


def urlset(base_url: str, entries: Iterable[tuple[str, date | datetime | None]]) -> bytes:
    """A sitemap of `entries` (path, lastmod: a date, or a datetime written as a W3C datetime
    such as `2025-06-03T15:00:00+00:00`; None: the entry gives none)."""
    rows = "".join(
        f"<url><loc>{escape(base_url + path)}</loc>"
        + (f"<lastmod>{day.isoformat()}</lastmod>" if day else "")
        + "</url>\n"
        for path, day in entries
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{rows}</urlset>\n'
    ).encode()


def sitemap_index(base_url: str, children: Iterable[tuple[str, date | datetime]]) -> bytes:
    rows = "".join(
        f"<sitemap><loc>{escape(base_url)}/sitemaps/{name}</loc>"
        f"<lastmod>{day.isoformat()}</lastmod></sitemap>\n"
        for name, day in children
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n'
        f"{rows}</sitemapindex>\n"
    ).encode()


def gzipped(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp), so an unchanged sitemap keeps its bytes and ETag."""
    return gzip.compress(data, compresslevel=6, mtime=0)
