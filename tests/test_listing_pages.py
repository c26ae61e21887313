"""Research listing pages (`/search/research/<keyword>/<page>`) read into `ListingPage` records:
the replica's listings in each markup against its world, a hand-written variant of the live
site's listing, the `scraper parse` JSON and the record's round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from replica import Replica
from replica.views import SEARCH_PAGES, venue_cased
from replica.vocab import SEARCH_KEYWORDS
from scraper.cli import app
from scraper.listing import parse_listing
from scraper.parse import parse_fetched, parse_page, parse_study
from scraper.records import ListingEntry, ListingPage
from scraper.responses import FetchResult
from scraper.shards import read_staged, write_staged

SITE = "https://tressless.com"


@pytest.fixture(scope="module")
def replica() -> Replica:
    return Replica(pages=30, seed=5)


def _expected(replica: Replica, entry: ListingEntry) -> tuple[object, ...]:
    study = next(s for s in replica._world.studies if s.study_id == entry.study_id)
    year, month = study.year, study.month
    return (
        study.title,
        study.citations,
        f"{year}-{month:02d}",
        venue_cased(study.venue, study.venue_case),
        study.tldr,
    )


@pytest.mark.parametrize("markup", ["semantic", "soup", "table"])
def test_replica_listings_read_every_entry_and_the_next_page(replica: Replica, markup: str) -> None:
    keyword = SEARCH_KEYWORDS[0]
    for number in range(1, SEARCH_PAGES + 1):
        path = f"/search/research/{keyword}/{number}"
        status, _headers, body = replica.render(path, markup=markup)
        assert status == 200
        listing = parse_page(body, replica.base_url + path)
        assert isinstance(listing, ListingPage)
        assert (listing.keyword, listing.page_number, listing.warnings) == (keyword, number, ())
        assert len(listing.entries) == 10
        for position, entry in enumerate(listing.entries):
            assert entry.position == position
            assert entry.url == replica.base_url + next(
                p for p in replica.study_paths() if p.endswith(f"-{entry.study_id}")
            )
            got = (entry.title, entry.citations, entry.published, entry.venue, entry.tldr)
            assert got == _expected(replica, entry)
        following = f"{replica.base_url}/search/research/{keyword}/{number + 1}"
        assert listing.next_url == (following if number < SEARCH_PAGES else None)


# The live site's listing as a different front end might write it: entries in cards with the
# meta and the TLDR on one line, a `[object Object]` glitch, missing parts, thousands with a
# comma, a label `TLDR`, a `Join` button between entries, and a pager in a <nav> whose text is
# an arrow. Written by hand, not by the replica.
HAND_WRITTEN = """<!doctype html><html><head><title>Minoxidil research | Tressless</title>
<link rel="canonical" href="https://tressless.com/search/research/minoxidil/2"></head><body>
<header><a href="/">Tressless</a> <a href="/community">Community</a></header>
<main><h1>Research about minoxidil</h1><p>1,200 studies found</p>
<div class="card"><a href="/research/low-dose-oral-minoxidil-for-women-Ab12"><span>Low-Dose Oral
 Minoxidil for Women</span></a><div>[object Object]1,234 citations, July 2013 in “Journal of
 Investigative Dermatology” Oral minoxidil at low doses regrew hair in most women.</div></div>
<div class="card"><a href="https://tressless.com/research/topical-minoxidil-foam-Xy9">Topical
 Minoxidil Foam</a><p>March 2020</p><p><b>TLDR</b> Foam worked as well as solution.</p></div>
<button>Join</button>
<div class="card"><a href="http://www.tressless.com/research/minoxidil-and-sleep-Qq1?utm_source=x">
Minoxidil and Sleep</a></div>
<div class="card"><a href="/research/minoxidil-sulfotransferase-Zz7">Minoxidil Sulfotransferase</a>
<p>5 citations in “PubMed”</p></div>
</main><nav><a href="/search/research/minoxidil/1">‹</a>
<a href="/search/research/minoxidil/3">›</a></nav>
<footer><a href="/about">About</a></footer></body></html>"""


def test_a_hand_written_listing_reads_like_a_person_reads_it() -> None:
    listing = parse_listing(HAND_WRITTEN.encode())
    assert listing.url == f"{SITE}/search/research/minoxidil/2"
    assert (listing.keyword, listing.page_number) == ("minoxidil", 2)
    assert listing.next_url == f"{SITE}/search/research/minoxidil/3"
    rows = [
        (e.study_id, e.title, e.citations, e.published, e.venue, e.tldr) for e in listing.entries
    ]
    assert rows == [
        (
            "Ab12",
            "Low-Dose Oral Minoxidil for Women",
            1234,
            "2013-07",
            "Journal of Investigative Dermatology",
            "Oral minoxidil at low doses regrew hair in most women.",
        ),
        (
            "Xy9",
            "Topical Minoxidil Foam",
            None,
            "2020-03",
            None,
            "Foam worked as well as solution.",
        ),
        ("Qq1", "Minoxidil and Sleep", None, None, None, None),
        ("Zz7", "Minoxidil Sulfotransferase", 5, None, "PubMed", None),
    ]
    # canonical, tracking dropped; the site's own spelling (`https://`, no `www.`) is discovery's
    assert listing.entries[2].url == "http://www.tressless.com/research/minoxidil-and-sleep-Qq1"


def test_a_page_without_entries_or_a_next_page_says_so() -> None:
    empty = b"<html><body><h1>No studies found</h1><a href='/'>Home</a></body></html>"
    listing = parse_listing(empty, f"{SITE}/search/research/nothing/1")
    assert (listing.entries, listing.next_url) == ((), None)
    assert listing.warnings == ("entries not found",)


def test_a_listing_url_is_no_study_for_the_study_parser() -> None:
    page = parse_study(HAND_WRITTEN.encode(), f"{SITE}/search/research/minoxidil/2")
    assert page.page_kind == "listing"
    assert page.study_id is None


def test_a_fetched_listing_carries_its_record_beside_a_non_study_page() -> None:
    item = parse_fetched(HAND_WRITTEN.encode(), f"{SITE}/search/research/minoxidil/2")
    assert item.listing is not None
    assert len(item.listing.entries) == 4
    assert item.page.page_kind == "listing"


def test_listing_json_round_trips_and_survives_a_shard_staging_file(tmp_path: Path) -> None:
    url = f"{SITE}/search/research/minoxidil/2"
    item = parse_fetched(HAND_WRITTEN.encode(), url)
    assert item.listing is not None
    assert ListingPage.from_json(json.loads(json.dumps(item.listing.to_json()))) == item.listing
    result = FetchResult(url=url, final_url=url, status=200, body=HAND_WRITTEN.encode())
    write_staged(tmp_path / "shard.parquet", [result], [item])
    _results, items = read_staged(tmp_path / "shard.parquet")
    assert items[0].listing == item.listing
    assert items[0].page.page_kind == "listing"


def test_scraper_parse_prints_the_listing_record(tmp_path: Path) -> None:
    saved = tmp_path / "listing.html"
    saved.write_text(HAND_WRITTEN, encoding="utf-8")
    result = CliRunner().invoke(app, ["parse", str(saved)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.splitlines()[0])
    assert list(record) == [
        "url",
        "page_kind",
        "keyword",
        "page_number",
        "entries",
        "next_url",
        "parser_version",
        "warnings",
    ]
    assert record["page_kind"] == "listing"
    assert list(record["entries"][0]) == [
        "position",
        "url",
        "study_id",
        "title",
        "citations",
        "published",
        "venue",
        "tldr",
    ]
