"""Discovery without a sitemap: research listings of seed keywords, page after page, and the
links of every parsed page; listing entries loaded as `listing_observations`, beside (never
over) what the studies' own pages said."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
from selectolax.lexbor import LexborHTMLParser
from typer.testing import CliRunner

from replica import Replica, ReplicaServer
from replica.vocab import SEARCH_KEYWORDS
from scraper import db, load
from scraper.cli import app
from scraper.config import CrawlConfig
from scraper.discover import Discovered, Rejected, classify, keyword_listings
from scraper.listing_load import load_listings
from scraper.records import ListingEntry, ListingPage, LoadItem, StudyPage
from scraper.session import CrawlSession
from scraper.urls import LISTING_PATH, study_id_from_url
from tests.crawling import crawl

PAGES = 30
SITE = "https://tressless.com"


def _config(server: ReplicaServer, **changes: object) -> CrawlConfig:
    settings: dict[str, object] = {
        "base_url": server.base_url,
        "rate": 200.0,
        "batch_size": 16,
        "seed_keywords": SEARCH_KEYWORDS,
    }
    settings.update(changes)
    return CrawlConfig().with_options(**settings)


def reachable_studies(replica: Replica, starts: list[str]) -> set[str]:
    """Study ids reachable by links from `starts`, walking the replica's pages in process: every
    link to a study page or a research listing is followed."""
    seen, queue, studies = set(starts), deque(starts), set()
    while queue:
        path = queue.popleft()
        status, _headers, body = replica.render(path)
        if status != 200 or body is None:
            continue
        if study_id := study_id_from_url(path):
            studies.add(study_id)
        for node in LexborHTMLParser(body).css("a[href]"):
            target = urlsplit(node.attributes.get("href") or "").path.rstrip("/")
            wanted = study_id_from_url(target) or LISTING_PATH.match(target)
            if wanted and target not in seen:
                seen.add(target)
                queue.append(target)
    return studies


def _crawled_studies(db_path: Path) -> set[str]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT study_id FROM studies").fetchall()}


def test_a_site_without_a_sitemap_is_crawled_from_its_listings(tmp_path: Path) -> None:
    replica = Replica(pages=PAGES, seed=3, sitemap="missing")
    starts = [f"/search/research/{keyword}/1" for keyword in SEARCH_KEYWORDS]
    reachable = reachable_studies(replica, starts)
    assert len(reachable) >= PAGES * 3 // 4  # the world is mostly reachable: a real test
    with ReplicaServer(replica) as server:
        crawled = crawl(_config(server), tmp_path / "w.duckdb")
        paths = [entry.path for entry in server.request_log]
    assert crawled.complete
    found = _crawled_studies(tmp_path / "w.duckdb") & reachable
    assert len(found) >= 0.99 * len(reachable)
    assert any(p.startswith("/search/research/") and p.endswith("/3") for p in paths)  # paged
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        kinds = dict(
            con.execute("SELECT page_kind, count(*) FROM pages GROUP BY page_kind").fetchall()
        )
        observed = con.execute(
            "SELECT count(DISTINCT study_id) FROM listing_observations"
        ).fetchone()
    assert kinds["listing"] == len(SEARCH_KEYWORDS) * 3
    assert observed is not None
    assert observed[0] >= len(reachable) // 2


async def _discovered(config: CrawlConfig, db_path: Path) -> dict[str, str]:
    async with CrawlSession.open(config, db_path) as session:
        await session.discover()
        with session.warehouse() as con:
            rows = con.execute("SELECT url, page_kind FROM pages").fetchall()
    return dict(rows)


def test_a_sitemap_that_is_an_html_page_leads_to_the_listings(tmp_path: Path) -> None:
    with ReplicaServer(Replica(pages=8, seed=3, sitemap="broken")) as server:
        config = _config(server, seed_keywords=("prp",))
        known = asyncio.run(_discovered(config, tmp_path / "w.duckdb"))
        asked = [e.path for e in server.request_log]
    assert "/sitemap.xml" in asked  # tried, found an HTML page
    assert known == {f"{server.base_url}/search/research/prp/1": "listing"}


def test_a_site_with_sitemaps_is_not_asked_for_listings_unless_keywords_are_given(
    tmp_path: Path,
) -> None:
    with ReplicaServer(Replica(pages=12, seed=4)) as server:
        crawl(_config(server), tmp_path / "a.duckdb")
        asked = [e.path for e in server.request_log if e.path.startswith("/search/")]
        assert asked == []
        server.clear_log()
        forced = _config(server, seed_keywords=("minoxidil",), seed_listings=True)
        crawl(forced, tmp_path / "b.duckdb")
        asked = [e.path for e in server.request_log if e.path.startswith("/search/")]
    assert sorted(set(asked)) == [f"/search/research/minoxidil/{n}" for n in (1, 2, 3)]


def test_listing_pages_are_followed_to_a_bound_and_never_from_sitemaps() -> None:
    config = CrawlConfig(max_listing_pages=2)
    second = classify("/search/research/prp/2", config, source="link", base=SITE)
    third = classify("/search/research/prp/3", config, source="link", base=SITE)
    mapped = classify("/search/research/prp/1", config, source="sitemap", base=SITE)
    assert isinstance(second, Discovered)
    assert second.kind == "listing"
    assert isinstance(third, Rejected)
    assert third.reason == "skipped: listing page limit"
    assert isinstance(mapped, Rejected)
    assert mapped.reason == "skipped: listing"
    seeded = keyword_listings(CrawlConfig(seed_keywords=("finasteride", "prp")))
    assert [d.url for d in seeded.found] == [
        f"{SITE}/search/research/finasteride/1",
        f"{SITE}/search/research/prp/1",
    ]
    assert "minoxidil" in CrawlConfig().seed_keywords  # the live site's keywords by default


LISTING_URL = f"{SITE}/search/research/minoxidil/1"
STUDY_URL = f"{SITE}/research/oral-minoxidil-Ab12"


def _listing_item(citations: int, at: datetime) -> LoadItem:
    listing = ListingPage(
        url=LISTING_URL,
        keyword="minoxidil",
        page_number=1,
        entries=(
            ListingEntry(
                position=0,
                url=STUDY_URL,
                study_id="Ab12",
                title="A title the listing shortened",
                citations=citations,
                published="2013-07",
                venue="Listing Venue",
                tldr="The listing's TLDR.",
            ),
            ListingEntry(position=1, url=f"{SITE}/research/other-Cd34", study_id="Cd34"),
        ),
    )
    return LoadItem(
        page=listing.as_study_page(), fetched_url=LISTING_URL, fetched_at=at, listing=listing
    )


def test_listing_observations_are_appended_once_and_never_touch_studies(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "w.duckdb")
    day1, day2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    study = StudyPage(url=STUDY_URL, study_id="Ab12", title="The study's own title", venue="Own")
    load.load_pages(con, [LoadItem(page=study, fetched_at=day1)], observed_at=day1, run_id=None)
    before = con.execute("SELECT * FROM studies ORDER BY study_id").fetchall()

    assert load_listings(con, [_listing_item(12, day1)], observed_at=day1, run_id=None) == 2
    assert load_listings(con, [_listing_item(12, day1)], observed_at=day1, run_id=None) == 0
    stats = load.load_pages(con, [_listing_item(15, day2)], observed_at=day2, run_id=None)
    assert stats.skipped == 1  # the study loader skips a listing
    assert load_listings(con, [_listing_item(15, day2)], observed_at=day2, run_id=None) == 2

    assert con.execute("SELECT * FROM studies ORDER BY study_id").fetchall() == before
    series = con.execute(
        "SELECT observed_at, citations, published, venue, title FROM listing_observations"
        " WHERE study_id = 'Ab12' ORDER BY observed_at"
    ).fetchall()
    assert [(row[1], str(row[2]), row[3]) for row in series] == [
        (12, "2013-07-01", "Listing Venue"),
        (15, "2013-07-01", "Listing Venue"),
    ]
    con.close()


def test_a_second_crawl_adds_no_duplicate_listing_observations(tmp_path: Path) -> None:
    replica = Replica(pages=15, seed=9, sitemap="missing")
    with ReplicaServer(replica) as server:
        config = _config(server, seed_keywords=("minoxidil",))
        crawl(config, tmp_path / "w.duckdb")
        query = "SELECT count(*), count(DISTINCT (listing_url, observed_at, position))"
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
            first = con.execute(f"{query} FROM listing_observations").fetchone()
        crawl(config, tmp_path / "w.duckdb", full=True)  # unchanged pages: 304s, nothing new
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        second = con.execute(f"{query} FROM listing_observations").fetchone()
    assert first is not None
    assert first[0] == first[1] > 0
    assert second == first


def test_a_bad_seed_keyword_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["crawl", "--db", str(tmp_path / "w.duckdb"), "--seed-keyword", "a/b"],
    )
    assert result.exit_code == 2
    assert "--seed-keyword" in result.output
