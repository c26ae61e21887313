"""A run that fetched nothing because something stood in its way (robots.txt answering 5xx, a
sitemap refused) ends failed and says why, in the `crawl_runs` row too; one that merely found
nothing due completes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx

from scraper.config import CrawlConfig
from tests.crawling import Crawled, crawl
from tests.test_crawl import BASE, MockSite


class BrokenSite(MockSite):
    """The mock site with robots.txt or the sitemap answering `status`."""

    def __init__(self, broken: str, status: int) -> None:
        super().__init__(studies=3)
        self.broken, self.status = broken, status

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.broken:
            self.requests.append(request)
            return self._send(self.status, "unavailable", "text/plain")
        return super().handle(request)


def _run(site: MockSite, db_path: Path, **options: object) -> Crawled:
    config = CrawlConfig(base_url=BASE, rate=1000.0, batch_size=5, **options)  # type: ignore[arg-type]
    return crawl(config, db_path, transport=httpx.MockTransport(site.handle))


def _row(db_path: Path, run_id: int) -> tuple[object, ...]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        row = con.execute(
            "SELECT status, error FROM crawl_runs WHERE run_id = ?", [run_id]
        ).fetchone()
    assert row is not None
    return row


def test_robots_txt_answering_5xx_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    db_path = tmp_path / "w.duckdb"
    result = _run(BrokenSite("/robots.txt", 503), db_path)
    summary = result.report.summary
    assert summary.status == "failed"
    assert summary.error is not None
    assert summary.error.startswith("nothing fetched")
    assert "robots" in summary.error
    assert result.report.failed
    assert _row(db_path, result.report.run_id) == ("failed", summary.error)


def test_a_refused_sitemap_with_nothing_else_due_fails_the_run(tmp_path: Path) -> None:
    db_path = tmp_path / "w.duckdb"
    result = _run(BrokenSite("/sitemap.xml", 403), db_path, seed_urls=(), seed_listings=False)
    summary = result.report.summary
    assert summary.pages_fetched == 0
    assert summary.status == "failed"
    assert summary.error is not None
    assert "sitemap unreadable" in summary.error
    assert _row(db_path, result.report.run_id) == ("failed", summary.error)


def test_a_run_with_nothing_due_still_completes(tmp_path: Path) -> None:
    db_path = tmp_path / "w.duckdb"
    site = MockSite(studies=3)
    assert _run(site, db_path).report.summary.status == "completed"
    again = _run(site, db_path)  # nothing due: every page was just fetched
    assert again.report.summary.pages_fetched == 0
    assert again.report.summary.status == "completed"


def test_a_refused_sitemap_whose_listing_fallback_finds_nothing_fails_the_run(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "w.duckdb"
    result = _run(BrokenSite("/sitemap.xml", 403), db_path, seed_urls=())
    summary = result.report.summary
    assert summary.pages_fetched > 0  # the keyword listings were tried: the mock site has none
    assert summary.pages_new == summary.pages_changed == 0
    assert summary.status == "failed"
    assert summary.error is not None
    assert "sitemap unreadable" in summary.error
