"""The replica site: determinism, coverage of every anatomy variant, HTTP behaviour, time, CLI.

Small worlds (60 pages) keep these fast; one module-scoped replica serves the read-only tests.
"""

from __future__ import annotations

import gzip
import re
import signal
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from typer.testing import CliRunner

from replica import FORCED_VARIANTS, MARKUPS, Replica, ReplicaError, ReplicaServer
from replica.cli import replica_app
from replica.model import StudyView
from replica.site import http_date
from scraper.records import StudyPage
from scraper.urls import STUDY_PATH, study_id_from_url

PAGES = 60
SEED = 7


@pytest.fixture(scope="module", params=[40, PAGES])
def replica(request: pytest.FixtureRequest) -> Replica:
    """Every variant must show in any world of 40 pages or more."""
    pages: int = request.param
    return Replica(pages=pages, seed=SEED)


@pytest.fixture(scope="module")
def truths(replica: Replica) -> list[StudyPage]:
    found = [replica.truth(p) for p in replica.study_paths()]
    return [t for t in found if t is not None]


def study_views(replica: Replica) -> Iterator[StudyView]:
    for path in replica.study_paths():
        view = replica.view(path)
        assert isinstance(view, StudyView)
        yield view


def normalized(text: str) -> str:
    return " ".join(text.split())


def visible_text(body: bytes) -> str:
    """The body's text with adjacent inline pieces joined as a reader sees them."""
    tree = LexborHTMLParser(body)
    assert tree.body is not None
    return normalized(tree.body.text(separator=""))


# --- determinism ----------------------------------------------------------------------------
def test_same_seed_gives_same_bytes() -> None:
    first, second = Replica(pages=45, seed=3), Replica(pages=45, seed=3)
    assert first.page_paths() == second.page_paths()
    for path in [*first.page_paths(), "/sitemap.xml", "/sitemaps/studies-2.xml.gz"]:
        for markup in MARKUPS:
            assert first.render(path, markup) == second.render(path, markup)
    first.advance(30)
    second.advance(30)
    assert [first.render(p) for p in first.page_paths()] == [
        second.render(p) for p in second.page_paths()
    ]


def test_other_seed_gives_other_site() -> None:
    assert Replica(pages=45, seed=3).study_paths() != Replica(pages=45, seed=4).study_paths()


def test_bad_arguments_raise() -> None:
    with pytest.raises(ReplicaError):
        Replica(pages=0)
    with pytest.raises(ReplicaError):
        Replica(pages=5, base_url="127.0.0.1")
    with pytest.raises(ReplicaError):
        Replica(pages=5).render("/", markup="nope")
    with pytest.raises(ReplicaError):
        Replica(pages=5).advance(0)


# --- anatomy: ranges and shapes ------------------------------------------------------------------
def test_ids_slugs_and_urls(replica: Replica, truths: list[StudyPage]) -> None:
    for path in replica.study_paths():
        match = STUDY_PATH.match(path)
        assert match, path
        assert len(match["slug"]) <= 215
        assert re.fullmatch(r"[a-z0-9-]+", match["slug"]), path
    for truth in truths:
        assert truth.url is not None
        assert truth.url.startswith("http://127.0.0.1/research/")
        assert study_id_from_url(truth.url) == truth.study_id
        assert re.fullmatch(r"[A-Za-z0-9]{3,4}", truth.study_id or "")


def test_text_lengths_follow_the_site(truths: list[StudyPage]) -> None:
    titles = [len(t.title or "") for t in truths]
    assert min(titles) >= 14
    assert max(titles) <= 265
    assert min(titles) <= 20
    assert max(titles) >= 240
    for truth in truths:
        assert truth.tldr is None or 49 <= len(truth.tldr) <= 263
        assert truth.summary is not None
        assert 390 <= len(truth.summary) <= 1340
        assert 1 <= len(truth.authors) <= 33
        for post in truth.community_posts:
            assert post.summary is None or 138 <= len(post.summary) <= 385
        assert len(truth.community_posts) <= 6


def test_truth_text_is_whitespace_normalised(truths: list[StudyPage]) -> None:
    for truth in truths:
        texts = [truth.title, truth.venue, truth.tldr, truth.summary, *truth.authors]
        texts += [e.title for e in (*truth.cited_research, *truth.related_research)]
        texts += [p.title for p in truth.community_posts]
        for text in texts:
            assert text is None or text == normalized(text)
            assert text is None or "“" not in text


def test_every_forced_variant_is_applied() -> None:
    assert len(FORCED_VARIANTS) <= 40
    small = Replica(pages=len(FORCED_VARIANTS), seed=1)
    assert len(small.study_paths()) == len(FORCED_VARIANTS) + 1  # the two-slug study


# --- anatomy: every variant present --------------------------------------------------------------
def test_every_count_line_form(truths: list[StudyPage]) -> None:
    sections = [s for t in truths for s in t.sections.values()]
    forms = set()
    for s in sections:
        if s.shown is None:
            forms.add("no count line")
        elif s.total_text == "1000+":
            forms.add("lower bound")
        elif s.total_text is None:
            forms.add("total missing")
        elif s.total_text == "NoResults":
            forms.add("NoResults")
        elif s.shown == s.total == 0:
            forms.add("zero")
        elif s.shown == s.total == 1:
            forms.add("one")
        elif s.shown == s.total:
            forms.add("exact")
        elif s.total is not None and s.total > s.shown:
            forms.add("more")
    expected = {"no count line", "lower bound", "total missing", "NoResults", "zero", "one"}
    assert forms == expected | {"exact", "more"}
    assert any(s.shown is None and s.heading for s in sections)  # older: heading, no count


def test_zero_count_is_followed_by_no_results(replica: Replica) -> None:
    pages = [v for v in study_views(replica) if any(s.shown == s.total == 0 for s in v.sections)]
    assert pages
    for markup in MARKUPS:
        text = visible_text(replica.render(pages[0].path, markup)[2])
        assert re.search(r"0 / 0 results ?— no results", text)


def test_every_link_line_form(replica: Replica) -> None:
    forms = set()
    for view in study_views(replica):
        kinds = tuple((link.kind, bool(link.host), link.href is not None) for link in view.links)
        forms.add(kinds)
    assert (("discuss", False, True),) in forms
    assert (("view", True, True),) in forms
    assert (("view", False, True),) in forms  # empty host, with a target
    assert (("view", False, False),) in forms  # empty host, no href at all
    assert (("view", True, True), ("discuss", False, True)) in forms
    assert (("discuss", False, True), ("view", True, True)) in forms
    assert () in forms


def test_link_line_truth(truths: list[StudyPage]) -> None:
    assert any(t.source_host is None and t.source_url is not None for t in truths)
    assert any(t.source_host and t.source_url and t.source_host in t.source_url for t in truths)
    assert any(t.discussion_url and "/community/posts/" in t.discussion_url for t in truths)
    assert any(t.discussion_url is None and t.source_url is None for t in truths)


def test_both_generations_and_their_mixes(replica: Replica, truths: list[StudyPage]) -> None:
    headings = {s.heading for t in truths for s in t.sections.values()}
    assert {
        "Cited in this study",
        "Research cited in this study",
        "Related Community Posts",
        "Related",
        "Related Research",
        "Similar Research",
        None,
    } <= headings
    spaces = {v.venue_space for v in study_views(replica) if v.venue}
    assert spaces == {True, False}
    mixed = [
        v
        for v in study_views(replica)
        if not v.venue_space and any(link.kind == "discuss" for link in v.links)
    ]
    assert mixed


def test_missing_headings_are_unambiguous(truths: list[StudyPage]) -> None:
    missing = set()
    for truth in truths:
        keys = list(truth.sections)
        for position, (key, section) in enumerate(truth.sections.items()):
            if section.heading is None:
                missing.add(key)
                assert section.shown, "a list without heading keeps its count line and items"
                assert position == 0 if key == "cited_research" else position > 0
        assert sum(s.heading is None for s in truth.sections.values()) <= 1, keys
    assert missing == {"cited_research", "community_posts", "related_research"}


def test_entries_link_to_other_replica_studies(replica: Replica, truths: list[StudyPage]) -> None:
    ids = {t.study_id for t in truths}
    entries = [e for t in truths for e in (*t.cited_research, *t.related_research)]
    assert entries
    assert all(e.study_id in ids for e in entries)
    assert any(e.citations is not None for e in entries)
    assert any(e.citations is None and e.published is None and e.venue is None for e in entries)
    assert any(all((e.citations, e.published, e.venue, e.tldr)) for e in entries)
    assert any(e.venue and e.published is None for e in entries)
    for truth in truths:
        for entries_of_kind in (truth.cited_research, truth.related_research):
            ids_listed = [e.study_id for e in entries_of_kind]
            assert truth.study_id not in ids_listed
            assert len(ids_listed) == len(set(ids_listed))


def test_every_page_answers_in_every_markup(replica: Replica) -> None:
    for path in replica.page_paths():
        for markup in MARKUPS:
            status, headers, body = replica.render(path, markup)
            assert status == 200
            assert headers["Content-Type"] == "text/html; charset=utf-8"
            assert body.startswith(b"<!DOCTYPE")
            assert b"<title>" in body


def test_entry_glitch_and_link_styles(replica: Replica) -> None:
    entries = [e for v in study_views(replica) for s in v.sections for e in s.entries]
    assert any(e.glitch for e in entries)
    assert {e.href_style for e in entries} == {"relative", "absolute", "tracking"}


def test_community_cards(truths: list[StudyPage]) -> None:
    posts = [p for t in truths for p in t.community_posts]
    assert any(p.category is None for p in posts)
    assert any(p.upvotes is None for p in posts)
    assert any(p.upvotes == 1 for p in posts)
    assert any(p.category is None and p.upvotes is None for p in posts)
    assert any(p.summary is None for p in posts)
    assert any(p.age_text and p.age_text.endswith("years ago") for p in posts)
    assert {p.category for p in posts} >= {"Chat", "Treatment"}
    for post in posts:
        assert len(post.post_id or "") == 6
        assert "/community/posts/" in (post.url or "")
        assert re.fullmatch(r"\d+ (day|week|month|year)s? ago", post.age_text or "")
    assert any(
        s.total and s.shown and s.total > s.shown
        for t in truths
        for k, s in t.sections.items()
        if k == "community_posts"
    )


def test_authors_cover_every_script(truths: list[StudyPage]) -> None:
    names = [n for t in truths for n in t.authors]
    assert any(re.search("[А-я]", n) for n in names)
    assert any(any(unicodedata.combining(ch) for ch in n) for n in names)
    assert any("\u2010" in n for n in names)
    assert any(re.match(r"^[A-Z]\.[A-Z]\. ", n) for n in names)  # `J.C. Moreno`
    assert any(re.search(r" [A-Z][a-zA-Z]?$", n) for n in names)  # `Fischer Tw`
    assert any(len(t.authors) == 33 for t in truths)
    assert any(len(t.authors) == 1 for t in truths)
    assert all(", " not in n for n in names)


def test_titles_slugs_and_top_lines(replica: Replica, truths: list[StudyPage]) -> None:
    assert any((t.title or "").startswith("Research Highlights: ") for t in truths)
    paths = replica.study_paths()
    assert any("-d-sub2sub-" in p for p in paths)
    assert any("scpfdascp" in p for p in paths)
    assert any(t.venue == "PubMed" for t in truths)
    assert any(t.published and t.venue is None for t in truths)
    undated = sum(t.published is None for t in truths)
    assert 0.25 < undated / len(truths) < 0.75
    assert any(t.image_url is None for t in truths)
    assert sum(t.image_url is not None for t in truths) > len(truths) / 2
    assert any(t.tldr is None for t in truths)
    inline = {v.tldr_inline for v in study_views(replica) if v.tldr}
    assert inline == {True, False}


def test_one_study_under_two_slugs(replica: Replica, truths: list[StudyPage]) -> None:
    by_id: dict[str, list[StudyPage]] = {}
    for truth in truths:
        by_id.setdefault(truth.study_id or "", []).append(truth)
    twins = [pages for pages in by_id.values() if len(pages) == 2]
    assert len(twins) == 1
    long, short = sorted(twins[0], key=lambda t: -len(t.url or ""))
    assert long.url != short.url
    assert long.title != short.title or long.venue != short.venue
    ids = [t.study_id or "" for t in truths]
    assert any(a != b and a.lower() == b.lower() for a in ids for b in ids)  # case-sensitive


def test_non_study_pages(replica: Replica) -> None:
    kinds: dict[str, str] = {}
    for path in replica.page_paths():
        truth = replica.truth(path)
        assert truth is not None
        kinds.setdefault(truth.page_kind, path)
    assert set(kinds) == {"study", "search", "learn", "other"}
    paths = replica.page_paths()
    assert any(re.fullmatch(r"/search/[a-z-]+", p) for p in paths)
    assert any(re.fullmatch(r"/search/research/[a-z-]+/\d+", p) for p in paths)
    assert any(re.fullmatch(r"/learn/[a-z-]+", p) for p in paths)
    assert any(re.fullmatch(r"/learn/[a-z-]+/[a-z0-9-]+-[A-Za-z0-9]{5}", p) for p in paths)
    assert any(re.fullmatch(r"/community/posts/[a-z0-9-]+-[A-Za-z0-9]{6}", p) for p in paths)
    status, _, body = replica.render("/no/such/page")
    assert status == 404
    assert b"Page not found" in body
    error = replica.truth("/no/such/page")
    assert error is not None
    assert error.page_kind == "error"
    assert replica.truth("/robots.txt") is None


# --- markups --------------------------------------------------------------------------------
def test_markups_differ_in_structure(replica: Replica) -> None:
    path = replica.study_paths()[0]
    bodies = {m: replica.render(path, m)[2].decode() for m in MARKUPS}
    assert set(MARKUPS) == {"semantic", "soup", "table"}
    assert all(tag in bodies["semantic"] for tag in ("<article>", "<h1>", "<time", "<h2>", "<ol>"))
    assert 'rel="canonical"' in bodies["semantic"]
    assert "og:title" in bodies["semantic"]
    assert "<h1" not in bodies["soup"]
    assert "<h2" not in bodies["soup"]
    assert "canonical" not in bodies["soup"]
    assert re.search(r'class="_[0-9a-f]{6}', bodies["soup"])
    assert all(tag in bodies["table"] for tag in ("<table", "<font", "<b>", "<br>"))
    assert "canonical" not in bodies["table"]
    assert len({replica.markup_of(p) for p in replica.study_paths()}) == 3


def test_no_class_or_id_names_a_field(replica: Replica) -> None:
    fields = r"title|tldr|summary|author|venue|date|citation|upvote|category|heading|count"
    pattern = re.compile(rf'(class|id)="[^"]*({fields})', re.I)
    for path in replica.study_paths()[:15]:
        for markup in MARKUPS:
            assert not pattern.search(replica.render(path, markup)[2].decode()), (path, markup)


def test_visible_text_is_the_truth_in_every_markup(replica: Replica) -> None:
    """The prose reads the same whatever the markup, even split across spans."""
    for path in replica.study_paths()[:25]:
        truth = replica.truth(path)
        assert truth is not None
        for markup in MARKUPS:
            body = replica.render(path, markup)[2]
            text = visible_text(body)
            for value in (truth.title, truth.tldr, truth.summary, ", ".join(truth.authors)):
                assert value is None or value in text, (path, markup, value)
            image = LexborHTMLParser(body).css_first('img[alt="Image of study"]')
            assert (image is not None) == (truth.image_url is not None)


def test_text_is_escaped(replica: Replica) -> None:
    big = Replica(pages=200, seed=SEED)
    tricky = [p for p in big.study_paths() if "<" in ((big.truth(p) or StudyPage()).title or "")]
    assert tricky
    for markup in MARKUPS:
        body = big.render(tricky[0], markup)[2].decode()
        assert "&lt;5 mg" in body
        assert "(<5" not in body


# --- HTTP semantics without a server --------------------------------------------------------------
def test_conditional_requests(replica: Replica) -> None:
    path = replica.study_paths()[3]
    status, headers, body = replica.render(path)
    assert status == 200
    assert body
    assert replica.render(path, headers={"If-None-Match": headers["ETag"]})[:3:2] == (304, b"")
    assert replica.render(path, headers={"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert replica.render(path, headers={"If-None-Match": '"other"'})[0] == 200
    old = "Mon, 01 Jan 1990 00:00:00 GMT"
    assert replica.render(path, headers={"If-Modified-Since": old})[0] == 200


def test_gzip_when_accepted(replica: Replica) -> None:
    path = replica.study_paths()[0]
    plain = replica.render(path)[2]
    status, headers, body = replica.render(path, headers={"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == plain


def test_inject_then_recover() -> None:
    replica = Replica(pages=5, seed=1)
    path = replica.study_paths()[0]
    replica.inject("/research/", status=503, retry_after="2", times=2)
    for _ in range(2):
        status, headers, _ = replica.render(path)
        assert (status, headers["Retry-After"]) == (503, "2")
    assert replica.render("/robots.txt")[0] == 200
    assert replica.render(path)[0] == 200


# --- time ---------------------------------------------------------------------------------
def test_advance_changes_some_pages_and_keeps_the_rest() -> None:
    replica = Replica(pages=PAGES, seed=SEED)
    before = {p: replica.render(p) for p in replica.page_paths()}
    sitemap_before = replica.render("/sitemaps/studies-1.xml")[2]
    done = replica.advance(30)
    assert done.day == 30
    assert done.changed
    assert done.added
    assert done.removed
    assert done.moved
    unchanged = [p for p in before if p in replica.page_paths() and p not in done.changed]
    assert len(unchanged) > len(before) / 4
    for path in unchanged:
        assert replica.render(path) == before[path]
    for path in done.changed:
        if path in before:
            status, headers, body = replica.render(path)
            assert (status, body) != (before[path][0], before[path][2])
            assert headers["Last-Modified"] == "Wed, 02 Jul 2025 00:00:00 GMT"
            etag = before[path][1]["ETag"]
            assert replica.render(path, headers={"If-None-Match": etag})[0] == 200
    assert replica.render("/sitemaps/studies-1.xml")[2] != sitemap_before


def test_kind_profile_revisions_are_midnights_and_sitemaps_give_dates() -> None:
    """The kind world moves by whole days, so every page's last revision is a midnight: its
    Last-Modified says 00:00:00 and its sitemap `<lastmod>` a date, as before instants."""
    replica = Replica(pages=PAGES, seed=SEED)
    done = replica.advance(30)
    for path in replica.page_paths():
        assert replica.render(path)[1]["Last-Modified"].endswith(" 00:00:00 GMT")
    path = next(p for p in done.changed if p in replica.page_paths())
    assert replica.render(path, headers={"If-Modified-Since": http_date(replica.now)})[0] == 304
    a_second_before = http_date(replica.now - timedelta(seconds=1))
    assert replica.render(path, headers={"If-Modified-Since": a_second_before})[0] == 200
    sitemaps = replica.render("/sitemap.xml")[2] + replica.render("/sitemaps/studies-1.xml")[2]
    lastmods = re.findall(rb"<lastmod>([^<]*)</lastmod>", sitemaps)
    assert lastmods
    assert all(re.fullmatch(rb"\d{4}-\d\d-\d\d", lastmod) for lastmod in lastmods)
    assert b"<lastmod>2025-07-02</lastmod>" in sitemaps


def test_advance_adds_removes_and_moves_studies() -> None:
    replica = Replica(pages=PAGES, seed=SEED)
    done = replica.advance(60)
    sitemaps = b"".join(
        replica.render(f"/sitemaps/{name}")[2]
        for name in ("studies-1.xml", "studies-3.xml")
        if replica.render(f"/sitemaps/{name}")[0] == 200
    ) + gzip.decompress(replica.render("/sitemaps/studies-2.xml.gz")[2])
    for path in done.added:
        assert replica.render(path)[0] == 200
        assert path.encode() in sitemaps
    for path in done.removed:
        assert path in replica.removed_paths()
        assert replica.render(path)[0] in (404, 410)
        assert path.encode() not in sitemaps
        error = replica.truth(path)
        assert error is not None
        assert error.page_kind == "error"
    for old, new in done.moved.items():
        status, headers, _ = replica.render(old)
        assert status == 301
        assert headers["Location"] == replica.base_url + new
        assert replica.truth(old) is None
        old_id, new_id = study_id_from_url(old), study_id_from_url(new)
        assert old_id == new_id
    assert set(replica.study_paths()).isdisjoint(replica.removed_paths())


def test_advance_moves_numbers_and_switches_layouts() -> None:
    replica = Replica(pages=120, seed=2)
    votes = {
        p.post_id: p.upvotes
        for t in map(replica.truth, replica.study_paths())
        if t
        for p in t.community_posts
    }
    generations = {v.path: v.venue_space for v in study_views(replica)}
    for _ in range(3):
        replica.advance(30)
    later = {
        p.post_id: p.upvotes
        for t in map(replica.truth, replica.study_paths())
        if t
        for p in t.community_posts
    }
    grown = [k for k in votes if k in later and (later[k] or 0) > (votes[k] or 0)]
    assert grown
    switched = [
        v
        for v in study_views(replica)
        if v.path in generations and generations[v.path] != v.venue_space
    ]
    assert switched


# --- over HTTP ------------------------------------------------------------------------------
def test_server_serves_feeds_pages_and_records_requests() -> None:
    replica = Replica(pages=30, seed=5, disallow=["/private/"], crawl_delay=0.5)
    with ReplicaServer(replica) as server, httpx.Client(base_url=server.base_url) as client:
        assert replica.base_url == server.base_url
        robots = client.get("/robots.txt").text
        assert f"Sitemap: {server.base_url}/sitemap.xml" in robots
        assert "Disallow: /private/" in robots
        assert "Crawl-delay: 0.5" in robots
        index = client.get("/sitemap.xml").text
        assert "/sitemaps/studies-1.xml" in index
        assert "/sitemaps/studies-2.xml.gz" in index
        packed = client.get("/sitemaps/studies-2.xml.gz")
        assert packed.headers["content-type"] == "application/gzip"
        assert b"<urlset" in gzip.decompress(packed.content)
        path = replica.study_paths()[0]
        first = client.get(path)
        assert first.status_code == 200
        assert first.headers["content-encoding"] == "gzip"
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        head = client.head(path)
        assert head.status_code == 200
        assert int(head.headers["content-length"]) > 0
        replica.inject(path, status=429, retry_after="1", times=1)
        limited = client.get(path)
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
        assert client.get("/research/no-such-study-zzz").status_code == 404
        assert client.post(path).status_code == 405
        advanced = client.post("/_replica/advance", params={"days": "10"}).json()
        assert advanced["day"] == replica.day == 10
        truth = client.get("/_replica/truth", params={"path": path}).json()
        expected = replica.truth(path)
        assert expected is not None
        assert truth == expected.to_json()
        log = server.request_log
    assert [(e.method, e.status) for e in log if e.path == path] == [
        ("GET", 200),
        ("GET", 304),
        ("HEAD", 200),
        ("GET", 429),
        ("POST", 405),
    ]
    assert log[0].path == "/robots.txt"
    assert log[0].bytes_sent > 0
    assert all(a.at <= b.at for a, b in pairwise(log))
    assert any("if-none-match" in e.headers for e in log)


def test_truth_urls_follow_the_base_url() -> None:
    replica = Replica(pages=5, seed=1, base_url="http://replica.test:8080/")
    path = replica.study_paths()[0]
    truth = replica.truth(path)
    assert truth is not None
    assert truth.url == f"http://replica.test:8080{path}"
    assert f"http://replica.test:8080{path}".encode() in replica.render(path, "semantic")[2]


# --- CLI ------------------------------------------------------------------------------------
def test_cli_help_and_bad_arguments() -> None:
    runner = CliRunner()
    result = runner.invoke(replica_app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--pages" in result.output
    for args in (["--pages", "0"], ["--port", "70000"], ["--crawl-delay=-1"]):
        result = runner.invoke(replica_app, ["serve", *args])
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("scraper replica: error:")


def test_cli_serves_until_interrupted() -> None:
    # The child restores Python's Ctrl-C handler: a parent running in the background may have
    # started it with SIGINT ignored.
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from replica.cli import replica_app; replica_app()"
    )
    command = [sys.executable, "-c", code, "serve", "--port", "0", "--pages", "5", "--seed", "2"]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        try:
            assert base_url.startswith("http://127.0.0.1:")
            response = httpx.get(f"{base_url}/robots.txt", timeout=10)
            assert response.status_code == 200
            assert f"Sitemap: {base_url}/sitemap.xml" in response.text
        finally:
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
