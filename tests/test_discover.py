"""Discovery: URL classification, sitemap parsing (gzip, lastmod, bombs), robots -> sitemaps."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import pytest

from scraper import discover
from scraper.client import make_client
from scraper.config import CrawlConfig
from scraper.discover import (
    Discovered,
    Rejected,
    Sitemap,
    SitemapError,
    classify,
    discover_sitemaps,
    links_from_page,
    parse_lastmod,
    parse_sitemap,
    seeds,
)
from scraper.fetcher import Fetcher
from scraper.records import CommunityPost, ResearchEntry, StudyPage
from scraper.warc import ArchivedResponse

BASE = "https://site.test"
CONFIG = CrawlConfig(base_url=BASE, rate=1000.0)
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*entries: tuple[str, str | None]) -> bytes:
    items = "".join(
        f"<url><loc>{loc}</loc>{f'<lastmod>{mod}</lastmod>' if mod else ''}</url>"
        for loc, mod in entries
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>{items}</urlset>'.encode()


def sitemap_index(*locs: str) -> bytes:
    items = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f"<sitemapindex {NS}>{items}</sitemapindex>".encode()


def reason(url: str, config: CrawlConfig = CONFIG) -> str:
    item = classify(url, config, source="link", base=BASE)
    return item.reason if isinstance(item, Rejected) else "accepted"


def test_study_links_accepted_in_one_spelling() -> None:
    spellings = [
        "https://site.test/research/finasteride-study-Pgny",
        "http://site.test/research/finasteride-study-Pgny",
        "https://WWW.Site.test:443/research/finasteride-study-Pgny/",
        "/research/finasteride-study-Pgny?utm_source=x#top",
    ]
    items = [classify(url, CONFIG, source="link", base=BASE) for url in spellings]
    assert all(isinstance(item, Discovered) for item in items)
    assert {item.url for item in items} == {f"{BASE}/research/finasteride-study-Pgny"}
    first = items[0]
    assert isinstance(first, Discovered)
    assert (first.kind, first.study_id) == ("study", "Pgny")


def test_unfollowable_urls_rejected_with_reason() -> None:
    assert reason("javascript:void(0)") == "bad-url: javascript"
    assert reason("data:text/html,hi") == "bad-url: data"
    assert reason("mailto:someone@site.test") == "bad-url: mailto"
    assert reason("https://doi.org/10.1000/xyz") == "off-site: doi.org"
    assert reason("/research/" + "x" * 3000 + "-Abc") == "too-long"
    assert reason("") == "bad-url: empty"


def test_other_page_kinds_skipped_unless_seeded() -> None:
    assert reason("/learn/finasteride/what-it-does-abcde") == "skipped: learn"
    assert reason("/search/minoxidil") == "skipped: search"
    assert reason("/community/posts/my-results-abc123") == "skipped: post"
    with_posts = CrawlConfig(base_url=BASE, follow_community_posts=True)
    assert reason("/community/posts/my-results-abc123", with_posts) == "accepted"
    seeded = seeds(CrawlConfig(base_url=BASE, seed_urls=("/learn/hub", "https://doi.org/x")))
    assert [item.url for item in seeded.found] == [f"{BASE}/learn/hub"]
    assert [item.reason for item in seeded.rejected] == ["off-site: doi.org"]


def test_links_from_page_follow_research_and_optionally_posts() -> None:
    page = StudyPage(
        url=f"{BASE}/research/main-Abc",
        cited_research=(ResearchEntry(url="/research/cited-Def"), ResearchEntry(url=None)),
        related_research=(ResearchEntry(url="https://doi.org/10.1/x"),),
        community_posts=(CommunityPost(url="/community/posts/a-post-abc123"),),
    )
    found = links_from_page(page, CONFIG)
    assert [item.url for item in found.found] == [f"{BASE}/research/cited-Def"]
    assert [item.reason for item in found.rejected] == ["off-site: doi.org"]
    assert all(item.referrer == page.url for item in found.found)
    with_posts = links_from_page(page, CrawlConfig(base_url=BASE, follow_community_posts=True))
    assert f"{BASE}/community/posts/a-post-abc123" in {item.url for item in with_posts.found}


def test_parse_urlset_keeps_lastmod() -> None:
    body = urlset(
        (f"{BASE}/research/a-Abc", "2024-03-01"),
        (f"{BASE}/research/b-Bcd", "2024-03-01T10:30:00+02:00"),
        (f"{BASE}/research/c-Cde", None),
    )
    sitemap = parse_sitemap(body, max_bytes=10_000)
    assert not sitemap.is_index
    assert [e.lastmod for e in sitemap.entries] == [
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 1, 8, 30, tzinfo=UTC),
        None,
    ]


def test_parse_gzip_sitemap_index() -> None:
    sitemap = parse_sitemap(gzip.compress(sitemap_index(f"{BASE}/s1.xml")), max_bytes=10_000)
    assert sitemap.is_index
    assert [e.loc for e in sitemap.entries] == [f"{BASE}/s1.xml"]


def test_sitemap_guards() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 2_000_000 + b"</urlset>")
    with pytest.raises(SitemapError, match="too-large"):
        parse_sitemap(bomb, max_bytes=100_000)
    with pytest.raises(SitemapError, match="dtd-refused"):
        parse_sitemap(b'<!DOCTYPE x [<!ENTITY a "b">]><urlset/>', max_bytes=10_000)
    with pytest.raises(SitemapError, match="not-xml"):
        parse_sitemap(b"<html><body>oops", max_bytes=10_000)
    with pytest.raises(SitemapError, match="not-a-sitemap"):
        parse_sitemap(b"<rss/>", max_bytes=10_000)
    assert parse_lastmod("yesterday") is None


def test_a_dtd_after_a_long_prolog_is_refused_too() -> None:
    prolog = b"<?xml version='1.0'?><!--" + b"x" * 8_000 + b"-->"
    bomb = prolog + b'<!DOCTYPE x [<!ENTITY a "b"><!ENTITY b "&a;&a;">]><urlset>&b;</urlset>'
    with pytest.raises(SitemapError, match="dtd-refused"):
        parse_sitemap(bomb, max_bytes=100_000)


@pytest.mark.anyio
async def test_robots_sitemaps_to_pages() -> None:
    routes = {
        "/robots.txt": f"User-agent: *\nDisallow:\nSitemap: {BASE}/sitemap.xml\n".encode(),
        "/sitemap.xml": sitemap_index(
            f"{BASE}/sitemaps/studies-1.xml", "/sitemaps/studies-2.xml.gz", f"{BASE}/broken.xml"
        ),
        "/sitemaps/studies-1.xml": urlset(
            (f"{BASE}/research/a-Abc", "2024-01-01"), ("https://other.example/research/x-Xyz", None)
        ),
        "/sitemaps/studies-2.xml.gz": gzip.compress(
            urlset((f"{BASE}/research/b-Bcd", "2024-02-02"), (f"{BASE}/learn/topic", None))
        ),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        body = routes.get(request.url.path)
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    client = make_client(CONFIG, transport=httpx.MockTransport(handle))
    async with client, Fetcher(CONFIG, client=client) as fetcher:
        found = await discover_sitemaps(fetcher, CONFIG)
    assert {(item.url, item.lastmod) for item in found.found} == {
        (f"{BASE}/research/a-Abc", datetime(2024, 1, 1, tzinfo=UTC)),
        (f"{BASE}/research/b-Bcd", datetime(2024, 2, 2, tzinfo=UTC)),
    }
    assert {item.reason for item in found.rejected} == {"off-site: other.example", "skipped: learn"}
    assert found.errors == (f"{BASE}/broken.xml: http-404",)
    assert len(found.sitemaps) == 3
    assert len(found.responses) == 4  # every sitemap fetch, for the archive


@pytest.mark.anyio
async def test_unchanged_sitemaps_cost_a_304_and_still_lead_to_children(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_body = sitemap_index(f"{BASE}/s1.xml")
    child_body = urlset((f"{BASE}/research/a-Abc", "2024-01-01"))
    archived = {
        f"{BASE}/sitemap.xml": (index_body, '"i1"'),
        f"{BASE}/s1.xml": (child_body, '"c1"'),
    }
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        _, etag = archived[str(request.url)]
        assert request.headers["if-none-match"] == etag
        return httpx.Response(304, headers={"etag": etag})

    def previous(urls: Sequence[str]) -> dict[str, ArchivedResponse]:
        return {
            url: ArchivedResponse(
                url=url,
                target_uri=url,
                record_type="response",
                status=200,
                headers=(("ETag", archived[url][1]),),
                body=archived[url][0],
                fetched_at=datetime(2024, 1, 2, tzinfo=UTC),
                crawl_id=None,
            )
            for url in urls
        }

    parsed: list[bytes] = []

    def parse_spy(body: bytes, *, max_bytes: int) -> Sitemap:
        parsed.append(body)
        return parse_sitemap(body, max_bytes=max_bytes)

    monkeypatch.setattr(discover, "parse_sitemap", parse_spy)

    client = make_client(CONFIG, transport=httpx.MockTransport(handle))
    async with client, Fetcher(CONFIG, client=client) as fetcher:
        found = await discover_sitemaps(fetcher, CONFIG, previous=previous)
        seen_before, parsed_before = len(seen), len(parsed)
        # The archived copies came from a discovery that finished: nothing new to classify.
        settled = await discover_sitemaps(
            fetcher, CONFIG, previous=previous, settled=lambda prior: True
        )
    assert [item.url for item in found.found] == [f"{BASE}/research/a-Abc"]
    assert [r.status for r in found.responses] == [304, 304]
    assert [r.url.path for r in seen[:seen_before]] == ["/robots.txt", "/sitemap.xml", "/s1.xml"]
    assert settled.found == ()
    assert len(settled.sitemaps) == 2  # the index still led to its child
    assert [r.url.path for r in seen[seen_before:]] == ["/sitemap.xml", "/s1.xml"]
    assert parsed[parsed_before:] == [index_body]  # the settled urlset is not even parsed
