"""The study-page parser on saved pages and on small pages made for one variant each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scraper.cli import app
from scraper.parse import PARSER_VERSION, parse_study
from scraper.records import Section, StudyPage
from tests.helpers import PAGES, expected, page
from tests.warehouse_fixtures import study_pages

BASE = "https://tressless.com/research/a-study-Ab1"


def study(body: str, head: str = "<title>A Study Title | Tressless</title>") -> bytes:
    return f"<html><head>{head}</head><body><h1>A Study Title</h1>{body}</body></html>".encode()


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("newer-card-links", None),
        (
            "older-definition-list",
            "https://tressless.com/research/5a-reductase-inhibition-scalp-dht-dose-finding-Fd8",
        ),
    ],
)
def test_saved_page_whole_record(name: str, url: str | None) -> None:
    assert parse_study(page(f"{name}.html"), url).to_json() == expected(f"{name}.expected.json")


@pytest.mark.parametrize(
    ("line", "shown", "total", "total_text"),
    [
        ("14 / 14 results", 14, 14, "14"),
        ("6 / 604 results", 6, 604, "604"),
        ("6 / 1000+ results", 6, 1000, "1000+"),
        ("9 / results", 9, None, None),
        ("14 / NoResults", 14, 0, "NoResults"),
        ("0 / 0 results", 0, 0, "0"),
        ("1 / 1 results", 1, 1, "1"),
    ],
)
def test_count_line_forms(line: str, shown: int, total: int | None, total_text: str) -> None:
    parsed = parse_study(study(f"<h2>Research cited in this study</h2><p>{line}</p>"), BASE)
    assert parsed.sections["cited_research"] == Section(
        heading="Research cited in this study", shown=shown, total=total, total_text=total_text
    )


def test_no_results_tail_is_not_an_entry() -> None:
    parsed = parse_study(
        study("<h2>Related Research</h2><p>0 / 0 results</p><p>— no results</p>"), BASE
    )
    assert parsed.sections["related_research"].total == 0
    assert parsed.related_research == ()


@pytest.mark.parametrize(
    ("line", "published", "venue"),
    [
        ("January 2024 in “ Dermatologic therapy", "2024-01", "Dermatologic therapy"),
        ("May 1999 in “Archives of Dermatology", "1999-05", "Archives of Dermatology"),
        ("December 2010", "2010-12", None),
        ("June 2015 in “ PubMed", "2015-06", "PubMed"),
    ],
)
def test_date_and_venue(line: str, published: str, venue: str | None) -> None:
    parsed = parse_study(study(f"<p>{line}</p><p>Jane Roe</p><p>TLDR It works.</p>"), BASE)
    assert (parsed.published, parsed.venue, parsed.authors) == (published, venue, ("Jane Roe",))


def test_page_without_date_line_reads_authors_after_title() -> None:
    parsed = parse_study(study("<p>Jane Roe, J.C. Moreno</p><p>TLDR It works.</p>"), BASE)
    assert parsed.published is None
    assert parsed.authors == ("Jane Roe", "J.C. Moreno")
    assert "published not found" in parsed.warnings


def test_author_names_keep_their_letters() -> None:
    names = "Vañó‐Galván, Jose\u0301 Perez, Ирина Петрова, Fischer Tw"
    parsed = parse_study(study(f"<p>{names}</p><p>TLDR A sentence.</p>"), BASE)
    assert parsed.authors == tuple(names.split(", "))


def test_summary_is_not_taken_for_authors() -> None:
    summary = (
        "Researchers followed two hundred men for a year, and those who used the foam every "
        "day kept more hair than those who used it twice a week."
    )
    parsed = parse_study(study(f"<p>{summary}</p>"), BASE)
    assert parsed.authors == ()


@pytest.mark.parametrize(
    ("links", "discussion", "source", "host"),
    [
        ('<a href="/community/x-abcdef">Discuss this study in the Community →</a>',
         "https://tressless.com/community/x-abcdef", None, None),
        ('<a href="https://doi.org/10.1/x">View this study on doi.org →</a>',
         None, "https://doi.org/10.1/x", "doi.org"),
        ('<a href="https://doi.org/10.1/y">View this study on →</a>',
         None, "https://doi.org/10.1/y", None),
        ("<span>View this study on →</span>", None, None, None),
    ],
)  # fmt: skip
def test_link_line_variants(
    links: str, discussion: str | None, source: str | None, host: str | None
) -> None:
    parsed = parse_study(study(f"<p>TLDR A sentence.</p><p>Summary.</p><p>{links}</p>"), BASE)
    assert (parsed.discussion_url, parsed.source_url, parsed.source_host) == (
        discussion,
        source,
        host,
    )
    assert parsed.summary == "Summary."


def test_heading_missing_but_count_and_list_remain() -> None:
    body = (
        "<p>TLDR A sentence.</p><p>3 / 3 results</p>"
        '<ul><li><a href="/research/first-cited-Xy1">First cited</a></li></ul>'
        "<h2>Related Research</h2><p>1 / 1 results</p>"
        '<ul><li><a href="/research/a-related-one-Zz9">A related one</a></li></ul>'
    )
    parsed = parse_study(study(body), BASE)
    assert parsed.sections["cited_research"] == Section(shown=3, total=3, total_text="3")
    assert [e.study_id for e in parsed.cited_research] == ["Xy1"]
    assert [e.study_id for e in parsed.related_research] == ["Zz9"]


def test_community_heading_with_join_and_cards_missing_parts() -> None:
    body = (
        "<h2>Related Community Posts <a href='/join'>Join</a></h2><p>2 / 9 results</p>"
        "<div><span>community</span><a href='/community/posts/first-post-k2k2k2'>First post</a>"
        "<p>in Progress Pictures 12 upvotes 3 months ago</p><p>A one line summary.</p></div>"
        "<div><span>community</span><a href='/community/posts/second-post-m3m3m3'>Second</a>"
        "<p>in Finasteride/Dutasteride 2 weeks ago</p></div>"
    )
    parsed = parse_study(study(body), BASE)
    first, second = parsed.community_posts
    assert parsed.sections["community_posts"].heading == "Related Community Posts"
    assert (first.category, first.upvotes, first.age_text) == (
        "Progress Pictures",
        12,
        "3 months ago",
    )
    assert first.summary == "A one line summary."
    assert (second.category, second.upvotes, second.summary) == (
        "Finasteride/Dutasteride",
        None,
        None,
    )
    assert second.post_id == "m3m3m3"


def test_research_entry_parts_and_glitch() -> None:
    body = (
        "<h2>Related Research</h2><ol>"
        "<li>[object Object]<a href='/research/one-Aa1'>One</a>"
        "<p>7 citations, July 2013 in “Journal X”</p><p>One line.</p></li>"
        "<li><a href='/research/two-Bb2'>Two</a><p>in “Journal Y”</p></li>"
        "<li><a href='/research/three-Cc3'>Three</a><p>August 2001</p><p>Only a TLDR.</p></li>"
        "</ol>"
    )
    one, two, three = parse_study(study(body), BASE).related_research
    assert (one.citations, one.published, one.venue, one.tldr) == (
        7,
        "2013-07",
        "Journal X",
        "One line.",
    )
    assert (two.citations, two.published, two.venue, two.tldr) == (None, None, "Journal Y", None)
    assert (three.published, three.tldr) == ("2001-08", "Only a TLDR.")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://tressless.com/search/finasteride", "search"),
        ("https://tressless.com/search/research/minoxidil/2", "listing"),
        ("https://tressless.com/learn/treatments/finasteride-guide-ab12c", "learn"),
        ("https://tressless.com/learn/treatments", "learn"),
    ],
)
def test_pages_that_are_not_studies_say_so(url: str, kind: str) -> None:
    parsed = parse_study(b"<html><body><h1>Finasteride</h1><p>Many links</p></body></html>", url)
    assert parsed.page_kind == kind
    assert parsed.warnings == (f"not a study page: {kind}",)


def test_error_page_is_recognised() -> None:
    html = b"<html><head><title>Page not found</title></head><body><h1>404</h1></body></html>"
    assert parse_study(html, BASE).page_kind == "error"


@pytest.mark.parametrize(
    "html", [b"", b"\x00\xff\xfe", b"<html", b"<<<>>>", b"<p>" * 5000, "é".encode("latin-1")]
)
def test_degenerate_input_gives_nulls_and_warnings(html: bytes) -> None:
    parsed = parse_study(html, None)
    assert parsed.title is None or isinstance(parsed.title, str)
    assert parsed.warnings


def test_a_link_that_is_no_url_is_not_an_entry() -> None:
    # urlsplit raises on `a://[` (an unclosed IPv6 host); the parser must read on past it
    html = study("<h2>Related Research</h2><div><a href=a://[>Not a study</a></div>")
    parsed = parse_study(html, BASE)
    assert not any(w.startswith("parser failed") for w in parsed.warnings)
    assert parsed.related_research == ()


def test_declared_charset_is_honoured() -> None:
    html = study("<p>TLDR Caf\xe9 study.</p>", head='<meta charset="windows-1252">')
    html = html.decode().encode("cp1252")
    assert parse_study(html, BASE).tldr == "Café study."


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=4000))
def test_never_raises_on_arbitrary_bytes(html: bytes) -> None:
    parsed = parse_study(html, None)
    assert parsed.parser_version == PARSER_VERSION
    assert not any(w.startswith("parser failed") for w in parsed.warnings)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_never_raises_on_mutated_pages(data: st.DataObject) -> None:
    original = page(
        data.draw(st.sampled_from(["newer-card-links.html", "older-definition-list.html"]))
    )
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 400)))
    filler = data.draw(st.binary(max_size=50))
    mutated = original[:start] + filler + original[end:]
    parsed = parse_study(mutated, BASE)
    assert not any(w.startswith("parser failed") for w in parsed.warnings)


@given(study_pages)
def test_records_round_trip_through_json(record: StudyPage) -> None:
    assert StudyPage.from_json(json.loads(json.dumps(record.to_json()))) == record


@pytest.mark.parametrize("path", sorted(PAGES.glob("*.html")), ids=lambda p: p.name)
def test_parsed_pages_round_trip_through_json(path: Path) -> None:
    parsed = parse_study(path.read_bytes(), BASE)
    assert StudyPage.from_json(json.loads(json.dumps(parsed.to_json()))) == parsed


def test_cli_parse_prints_json_lines_in_order() -> None:
    files = [str(PAGES / "newer-card-links.html"), str(PAGES / "older-definition-list.html")]
    result = CliRunner().invoke(app, ["parse", *files])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["title"][:20] for r in rows] == ["Oral Minoxidil at Lo", "5α-Reductase Inhibit"]


def test_cli_parse_missing_file_is_one_line_error() -> None:
    result = CliRunner().invoke(app, ["parse", "/nonexistent/page.html"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "cannot read" in result.stderr


def test_hostile_nesting_is_refused_before_parsing() -> None:
    html = b"<html><body>" + b"<div>" * 200_000 + b"TLDR deep</body></html>"
    parsed = parse_study(html, BASE)
    assert parsed.page_kind == "other"
    assert parsed.warnings[0].startswith("not parsed: block elements nest 200000 deep")


def test_ordinary_nesting_is_parsed() -> None:
    html = study("<div>" * 300 + "<p>TLDR Deep but fine.</p>" + "</div>" * 300)
    assert parse_study(html, BASE).tldr == "Deep but fine."
