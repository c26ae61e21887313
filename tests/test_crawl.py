"""The crawl session end to end on a mock site (no sockets): discover, fetch, archive, record."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import httpx
import pytest

from scraper import db
from scraper.archive import Archive
from scraper.config import CrawlConfig
from scraper.session import default_archive_dir
from tests.crawling import Crawled, crawl

BASE = "https://site.test"


class MockSite:
    """A dozen studies (one under two slugs) behind robots.txt and a sitemap, with ETags."""

    def __init__(self, studies: int = 12) -> None:
        self.pages = {
            f"/research/study-number-{i}-S{i:02d}": f"<html>v1 {i}</html>" for i in range(studies)
        }
        self.pages["/research/short-S00"] = "<html>v1 0 again</html>"  # same study, other slug
        self.requests: list[httpx.Request] = []
        self.page_bytes = 0  # body bytes sent for study pages

    def sitemap(self) -> str:
        urls = "".join(f"<url><loc>{BASE}{path}</loc></url>" for path in self.pages)
        urls += "<url><loc>https://elsewhere.example/research/x-Xyz</loc></url>"
        return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/robots.txt":
            return self._send(200, f"User-agent: *\nSitemap: {BASE}/sitemap.xml\n", "text/plain")
        if path == "/sitemap.xml":
            return self._send(200, self.sitemap(), "application/xml")
        if path not in self.pages:
            return self._send(404, "<html>not found</html>", "text/html")
        body = self.pages[path]
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        self.page_bytes += len(body)
        return self._send(200, body, "text/html", etag=etag)

    def _send(self, status: int, body: str, kind: str, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": kind, **headers}, text=body)

    def page_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.startswith("/research/")]


@pytest.fixture
def site() -> MockSite:
    return MockSite()


def run(
    site: MockSite, db_path: Path, *, full: bool = False, max_pages: int | None = None
) -> Crawled:
    config = CrawlConfig(base_url=BASE, rate=1000.0, batch_size=5)
    transport = httpx.MockTransport(site.handle)
    return crawl(config, db_path, transport=transport, full=full, max_pages=max_pages)


def test_first_crawl_fetches_each_page_once_and_archives_it(site: MockSite, tmp_path: Path) -> None:
    db_path = tmp_path / "crawl.duckdb"
    summary = run(site, db_path)
    assert summary.complete
    assert summary.outcomes["new"] == 12
    paths = [r.url.path for r in site.page_requests()]
    assert len(paths) == len(set(paths)) == 12  # the alias slug is never fetched
    con = db.connect(db_path)
    try:
        archive = Archive(default_archive_dir(db_path), con)
        assert len(list(archive.iter_latest())) == 12
        rejected = con.execute("SELECT reason FROM frontier_rejected").fetchall()
        assert rejected == [("off-site: elsewhere.example",)]
    finally:
        con.close()


def test_recrawl_is_conditional_and_finds_only_changes(site: MockSite, tmp_path: Path) -> None:
    db_path = tmp_path / "crawl.duckdb"
    run(site, db_path)
    first_bytes, site.page_bytes = site.page_bytes, 0
    site.requests.clear()
    again = run(site, db_path, full=True)
    assert again.outcomes["unchanged"] == 12
    assert all("if-none-match" in r.headers for r in site.page_requests())
    assert first_bytes > 0
    assert site.page_bytes == 0  # every page answered 304
    site.pages["/research/study-number-3-S03"] = "<html>v2 3</html>"
    third = run(site, db_path, full=True)
    assert (third.outcomes["changed"], third.outcomes["unchanged"]) == (1, 11)


def test_stopped_crawl_resumes_without_refetching(site: MockSite, tmp_path: Path) -> None:
    db_path = tmp_path / "crawl.duckdb"
    part = run(site, db_path, max_pages=5)
    assert not part.complete
    rest = run(site, db_path)
    assert rest.resumed
    assert rest.complete
    assert rest.crawl_id == part.crawl_id
    paths = [r.url.path for r in site.page_requests()]
    assert len(paths) == len(set(paths)) == 12
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), sum(visits) FROM pages WHERE alias_of IS NULL"
        ).fetchone()
    finally:
        con.close()
    assert row == (12, 12)
