"""Hostile input: pages built to break the parser, links built to make the crawler fetch what it
must not, text built to reach SQL, and a warehouse file that is locked or not a database at all.

Hypothesis runs derandomized (the same examples on every run) so a failure reproduces; the
number of examples is kept so that this file stays within a few seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from replica import MARKUPS, Replica
from scraper import db, warehouse
from scraper.cli import app
from scraper.config import CrawlConfig
from scraper.discover import classify
from scraper.parse import parse_study
from scraper.reparse import UNREADABLE_RECORD, ReparseError, ReparseRun, parse_archived
from scraper.session import CrawlSession, default_archive_dir
from scraper.spool import default_spool_dir
from tests.crawling import crawl

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the parser under fuzzing -------------------------------------------------------------------
def replica_samples() -> list[tuple[str, bytes]]:
    """Study pages in every markup, the redesigned layout, and pages that are not studies."""
    replica = Replica(pages=40, seed=7)
    studies = replica.study_paths()[:4]
    samples = [(p, replica.render(p, markup)[2]) for p in studies for markup in MARKUPS]
    others = [p for p in replica.page_paths() if not p.startswith("/research/")][:4]
    samples += [(p, replica.render(p)[2]) for p in [*others, "/research/gone-zzZ"]]
    replica.break_layout(True)
    samples += [(p, replica.render(p)[2]) for p in studies[:2]]
    return [(replica.base_url + path, body) for path, body in samples]


SAMPLES = replica_samples()
# Pieces a mutation drops into a page: landmarks out of place, broken structure, odd bytes.
SHRAPNEL = (
    b"<div>",
    b"</div>",
    b"</li></ol></section>",
    b"<li><a href='/research/x-Abc'>",
    b"<a href='javascript:alert(1)'>Discuss this study in the Community \xe2\x86\x92</a>",
    b"<h2>Related</h2>",
    b"<h2>Research cited in this study <button>Join</button></h2>",
    b"<p>TLDR</p>",
    b"TLDR ",
    b"January 2024 in \xe2\x80\x9c ",
    b"7 / results",
    b"0 / 0 results \xe2\x80\x94 no results",
    b"6 / 1000+ results",
    b"[object Object]",
    b"\xe2\x86\x92",
    b"<!--",
    b"<![CDATA[",
    b"<script>",
    b"<template>",
    b"<table><tr><td>",
    b"<img alt='Image of study' src='data:,x'>",
    b"<meta charset='utf-16'>",
    b"<meta charset=x-unknown>",
    b"\x00",
    b"\xff\xfe\xfd",
    b"&#0;&#xD800;&amp",
    b"<a href='http://[::1'>",
    b"<div hidden>",
)


@st.composite
def mutated(draw: st.DrawFn, body: bytes) -> bytes:
    """One mutation of `body`: a cut, a copy, a swap, shrapnel or random bytes dropped in."""
    size = len(body)
    start = draw(st.integers(0, size))
    end = draw(st.integers(start, min(size, start + 4000)))
    kind = draw(st.sampled_from(("cut", "copy", "swap", "shrapnel", "bytes", "truncate")))
    if kind == "cut":
        return body[:start] + body[end:]
    if kind == "copy":
        at = draw(st.integers(0, size))
        return body[:at] + body[start:end] + body[at:]
    if kind == "swap":
        middle = draw(st.integers(end, size))
        return body[:start] + body[end:middle] + body[start:end] + body[middle:]
    if kind == "shrapnel":
        return body[:start] + draw(st.sampled_from(SHRAPNEL)) + body[start:]
    if kind == "bytes":
        return body[:start] + draw(st.binary(max_size=64)) + body[start:]
    return body[:start]


def assert_parses(body: bytes, url: str | None) -> None:
    record = parse_study(body, url)
    json.dumps(record.to_json())  # the record is plain JSON: nothing odd leaked into it
    assert all(isinstance(warning, str) for warning in record.warnings)
    # parse_study turns an exception of its own into this warning; the fuzzing must see it
    assert not any(warning.startswith("parser failed") for warning in record.warnings)


@FUZZ
@given(st.data())
def test_mutated_replica_pages_in_every_markup_never_raise(data: st.DataObject) -> None:
    url, body = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(1, 5))):
        body = data.draw(mutated(body))
    assert_parses(body, data.draw(st.sampled_from((url, None, "not a url", "javascript:x"))))


TAGS = ("div", "p", "span", "a", "li", "ol", "ul", "section", "h1", "h2", "td", "tr", "table")
TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from([s.decode("utf-8", "replace") for s in SHRAPNEL]),
    st.sampled_from(("Related Research", "Similar Research", "14 / 14 results", "in Chat")),
)


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    href = draw(st.sampled_from(("", " href='/research/a-Abc'", " href='//x'", " href")))
    children = [] if depth > 2 else draw(st.lists(elements(depth + 1), max_size=3))
    text = draw(TEXTS)
    closing = draw(st.sampled_from((f"</{tag}>", "", "</p>")))
    return f"<{tag}{href if tag == 'a' else ''}>{text}{''.join(children)}{closing}"


@FUZZ
@given(st.lists(elements(), max_size=8), st.sampled_from(("utf-8", "latin-1", "utf-16")))
def test_generated_tag_soup_never_raises(parts: list[str], encoding: str) -> None:
    html = "<html><head><title>T</title></head><body>" + "".join(parts) + "</body></html>"
    assert_parses(html.encode(encoding, "replace"), "http://127.0.0.1/research/soup-Abc")


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(body: bytes) -> None:
    assert_parses(body, "http://127.0.0.1/research/bytes-Abc")


def test_deep_nesting_and_huge_lines_never_raise() -> None:
    # Past Python's recursion limit: the reader walks the tree iteratively. (Parsing time grows
    # with the square of the depth, in lexbor and in the reader: see RELIABILITY.md.)
    depth = 3_000
    nested = b"<div>" * depth + b"TLDR deep" + b"</div>" * depth
    assert_parses(b"<html><body><h1>Deep</h1>" + nested + b"</body></html>", None)
    wide = b"<p>" + b"word, " * 200_000 + b"</p>"
    assert_parses(b"<html><body><h1>Wide</h1>" + wide + b"</body></html>", None)


# --- a hostile site: links that must never be fetched, text that must stay text -----------------
BASE = "http://127.0.0.1:8080"  # a site on loopback: the other ports of this host are off limits
SQL_TITLE = "'); DROP TABLE studies; --"
SQL_TEXTS = {
    "tldr": 'Robert"); DELETE FROM pages WHERE ("1"="1',
    "summary": "$1 ? %s :name \\' \\\\ '' ${x} {0} ; COMMIT; DROP TABLE crawl_runs; --",
    "venue": "1' OR '1'='1",
    "author": "O'Brien'); DROP TABLE study_authors;--",
}
# (href, a reason it may be refused with, or None when it never reaches discovery at all because
# the parser drops it). None of them may ever be requested.
HOSTILE_LINKS: tuple[tuple[str, str | None], ...] = (
    ("https://evil.example/research/x-Ev1", "off-site: evil.example"),
    ("//evil.example/research/x-Ev2", "off-site: evil.example"),
    ("http://127.0.0.1:8080@evil.example/research/x-Ev3", "off-site: evil.example"),
    ("http://127.0.0.1.evil.example/research/x-Ev4", "off-site: 127.0.0.1.evil.example"),
    ("http://169.254.169.254/research/meta-Md1", "off-site: 169.254.169.254"),
    ("http://10.0.0.1/research/x-Pv1", "off-site: 10.0.0.1"),
    ("http://192.168.1.1:8080/research/x-Pv2", "off-site: 192.168.1.1"),
    ("http://localhost:8080/research/x-Lo1", "off-site: localhost"),
    ("http://[::1]:8080/research/x-Lo2", None),
    ("http://0x7f000001:8080/research/x-Lo3", "off-site: 0x7f000001"),
    ("http://2130706433:8080/research/x-Lo4", "off-site: 2130706433"),
    ("http://127.0.0.2:8080/research/x-Lo5", "off-site: 127.0.0.2"),
    ("http://127.0.0.1:6379/research/x-Rd1", "off-site: 127.0.0.1:6379"),
    ("http://127.0.0.1:99999/research/x-Pt1", None),
    ("javascript:fetch('/research/x-Js1')", None),
    ("data:text/html,<a href=/research/x-Dt1>", None),
    ("mailto:someone@127.0.0.1?subject=/research/x-Ml1", None),
    ("file:///etc/passwd#/research/x-Fl1", None),
    (BASE + "/research/" + "a" * 3000 + "-Lg1", "too-long"),
)


def study_html(title: str, links: list[str], **text: str) -> str:
    entries = "".join(
        f'<li><a href="{href}">Entry {n}</a><p>3 citations, May 2020 in “Journal”</p></li>'
        for n, href in enumerate(links)
    )
    cited = (
        f"<section><h2>Research cited in this study</h2><p>{len(links)} / {len(links)} results"
        f"</p><ol>{entries}</ol></section>"
        if links
        else ""
    )
    escape = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

    def esc(value: str) -> str:
        return "".join(escape.get(c, c) for c in value)

    return (
        f"<!DOCTYPE html><html><head><title>{esc(title)}</title></head><body><article>"
        f"<h1>{esc(title)}</h1><p>May 2020 in “ {esc(text.get('venue', 'Journal'))}</p>"
        f"<p>{esc(text.get('author', 'Ann Author'))}, Bo Author</p>"
        f"<p>TLDR {esc(text.get('tldr', 'A sentence.'))}</p><p>{esc(text.get('summary', 'S.'))}</p>"
        f"{cited}</article></body></html>"
    )


class HostileSite:
    """A mock site on 127.0.0.1:8080 whose pages, sitemap and redirects point everywhere else."""

    def __init__(self) -> None:
        self.requests: list[httpx.URL] = []
        links = [href for href, _ in HOSTILE_LINKS] + ["/research/fine-Ok1"]
        self.pages = {
            "/research/hostile-Hst": study_html("Hostile links", links),
            "/research/injection-Sq1": study_html(SQL_TITLE, [], **SQL_TEXTS),
            "/research/fine-Ok1": study_html("A fine study", []),
        }

    def sitemap(self) -> str:
        locs = [BASE + path for path in self.pages if "fine" not in path]
        locs += [
            BASE + "/research/moved-Rd2",
            "http://169.254.169.254/latest/meta-data/research/x-Md2",
            "http://127.0.0.1:22/research/x-Sh1",
            "gopher://127.0.0.1:8080/research/x-Gp1",
        ]
        urls = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
        return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url)
        path = request.url.path
        if path == "/robots.txt":
            return httpx.Response(200, text=f"User-agent: *\nSitemap: {BASE}/sitemap.xml\n")
        if path == "/sitemap.xml":
            return httpx.Response(200, text=self.sitemap(), headers={"content-type": "text/xml"})
        if path == "/research/moved-Rd2":  # a redirect to another service on the same host
            return httpx.Response(302, headers={"location": "http://127.0.0.1:6379/research/x"})
        body = self.pages.get(path)
        if body is None:
            return httpx.Response(404, text="<html><h1>Not found</h1></html>")
        return httpx.Response(200, text=body, headers={"content-type": "text/html"})


async def crawl_hostile(site: HostileSite, db_path: Path) -> None:
    config = CrawlConfig(base_url=BASE, rate=1000.0, batch_size=5)
    transport = httpx.MockTransport(site.handle)
    async with CrawlSession.open(config, db_path, transport=transport) as session:
        await session.discover()
        for _ in range(10):
            if await session.run_batch() is None:
                break
        session.finish()


@pytest.fixture
def hostile_crawl(tmp_path: Path) -> tuple[HostileSite, Path]:
    site, db_path = HostileSite(), tmp_path / "w.duckdb"
    asyncio.run(crawl_hostile(site, db_path))
    return site, db_path


def test_links_off_the_site_are_never_fetched(hostile_crawl: tuple[HostileSite, Path]) -> None:
    site, db_path = hostile_crawl
    # The transport sees every request the crawler makes, whatever host it names.
    assert {(url.scheme, url.host, url.port) for url in site.requests} == {
        ("http", "127.0.0.1", 8080)
    }
    fetched = {url.path for url in site.requests}
    assert "/research/fine-Ok1" in fetched  # the one honest link was followed
    con = db.connect(db_path, read_only=True)
    try:
        rejected = dict(con.execute("SELECT url, reason FROM frontier_rejected").fetchall())
        pages = [url for (url,) in con.execute("SELECT url FROM pages").fetchall()]
        redirected = con.execute(
            "SELECT error FROM pages WHERE url = ?", [BASE + "/research/moved-Rd2"]
        ).fetchone()
    finally:
        con.close()
    reasons = set(rejected.values())
    for _, reason in HOSTILE_LINKS:
        assert reason is None or reason in reasons, reason
    assert "off-site: 169.254.169.254" in reasons  # from the sitemap too
    assert "off-site: 127.0.0.1:22" in reasons
    assert all(url.startswith(BASE + "/") for url in pages)
    assert redirected == ("off-site: 127.0.0.1:6379",)  # the hop was checked before any request


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "bad-url: javascript"),
        ("data:text/html,hi", "bad-url: data"),
        ("mailto:a@b.example", "bad-url: mailto"),
        ("http://127.0.0.1:65536/research/x-Abc", "bad-url: unparsable"),
        ("http://127.0.0.1:8080/research/" + "b" * 2100, "too-long"),
    ],
)
def test_discovery_refuses_what_the_parser_would_never_pass(url: str, reason: str) -> None:
    found = classify(url, CrawlConfig(base_url=BASE), source="link", base=BASE)
    assert getattr(found, "reason", None) == reason


def test_page_text_reaches_sql_only_as_data(hostile_crawl: tuple[HostileSite, Path]) -> None:
    _, db_path = hostile_crawl
    fresh = db_path.parent / "fresh.duckdb"
    db.connect(fresh).close()
    tables = "SELECT table_name FROM information_schema.tables ORDER BY 1"
    con = db.connect(db_path, read_only=True)
    try:
        row = con.execute(
            "SELECT title, tldr, summary, venue FROM studies WHERE study_id = 'Sq1'"
        ).fetchone()
        author = con.execute("SELECT name FROM study_authors WHERE study_id = 'Sq1'").fetchone()
        studies = con.execute("SELECT count(*) FROM studies").fetchone()
        hits = warehouse.search(con, "DROP TABLE studies")
        present = con.execute(tables).fetchall()
    finally:
        con.close()
    expected = (SQL_TITLE, SQL_TEXTS["tldr"], SQL_TEXTS["summary"], SQL_TEXTS["venue"])
    assert row == expected  # verbatim, quotes and all
    assert author == (SQL_TEXTS["author"],)
    assert studies == (3,)
    assert hits[0].study_id == "Sq1"
    fresh_con = db.connect(fresh, read_only=True)
    try:
        assert present == fresh_con.execute(tables).fetchall()  # every table survived
    finally:
        fresh_con.close()


# --- `scraper sql` stays read-only --------------------------------------------------------------
WRITES = (
    "DROP TABLE studies",
    "SELECT 1; DROP TABLE studies",
    "DELETE FROM studies",
    "WITH x AS (SELECT 1) DELETE FROM studies",
    "UPDATE studies SET title = 'x'",
    "CREATE TABLE x AS SELECT 1",
    "INSERT INTO crawl_runs (started_at) VALUES (now())",
    "ATTACH 'other.duckdb' AS other",
    "COPY studies TO 'stolen.csv'",
    "EXPORT DATABASE 'stolen'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    "CALL pragma_version()",
    "CHECKPOINT",
    "EXPLAIN ANALYZE DELETE FROM studies",
    "/* harmless */ DROP TABLE studies",
    "/* comment */ VACUUM",
)


def test_sql_command_cannot_write_or_reach_out(
    hostile_crawl: tuple[HostileSite, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, db_path = hostile_crawl
    monkeypatch.chdir(tmp_path)
    before = digest(db_path)
    runner = CliRunner()
    for query in WRITES:
        result = runner.invoke(app, ["sql", query, "--db", str(db_path)])
        assert result.exit_code != 0, query
        assert len(result.stderr.strip().splitlines()) == 1, (query, result.stderr)
        assert result.stderr.startswith("scraper: error:"), query
    assert digest(db_path) == before
    assert not any(tmp_path.glob("stolen*"))
    assert not (tmp_path / "other.duckdb").exists()
    ok = runner.invoke(app, ["sql", "SELECT count(*) FROM studies", "--db", str(db_path)])
    assert ok.exit_code == 0


# --- a warehouse that is locked or is not a database --------------------------------------------
HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def commands(db_path: Path, out: Path) -> list[list[str]]:
    """Every command that opens the warehouse; `crawl` fails before it would touch the network."""
    return [
        ["sql", "SELECT count(*) FROM studies", "--db", str(db_path)],
        ["search", "finasteride", "--db", str(db_path)],
        ["export", "--db", str(db_path), "--out", str(out)],
        ["crawl", "--db", str(db_path), "--base-url", "http://127.0.0.1:9"],
        ["reparse", "--db", str(db_path)],
    ]


def assert_one_line_errors(db_path: Path, out: Path, expected: str) -> None:
    runner = CliRunner()
    for args in commands(db_path, out):
        result = runner.invoke(app, args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code != 0, args
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("scraper: error:"), args
        assert expected in lines[0], (args, lines[0])


def test_locked_warehouse_gives_one_line_and_loses_nothing(
    hostile_crawl: tuple[HostileSite, Path], tmp_path: Path
) -> None:
    _, db_path = hostile_crawl
    holder = subprocess.Popen(  # our own interpreter holding the write lock
        [sys.executable, "-c", HOLD_LOCK, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        before = digest(db_path)
        assert_one_line_errors(db_path, tmp_path / "out", "in use by another process")
        assert digest(db_path) == before
    finally:
        holder.communicate(input="", timeout=30)
    con = db.connect(db_path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM studies").fetchone() == (3,)
    finally:
        con.close()


def corruptions(good: bytes) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(6)
    yield "random bytes", rng.randbytes(64 * 1024)
    yield "zeroed header", good[:4096] + bytes(4096) + good[8192:]
    middle = rng.randbytes(len(good) - 16384)
    yield "scrambled blocks", good[:8192] + middle + good[-8192:]


def test_corrupt_warehouse_gives_one_line_and_is_left_untouched(
    hostile_crawl: tuple[HostileSite, Path], tmp_path: Path
) -> None:
    _, good_path = hostile_crawl
    good = good_path.read_bytes()
    for name, blob in corruptions(good):
        path = tmp_path / f"{name.replace(' ', '-')}.duckdb"
        path.write_bytes(blob)
        with pytest.raises(db.WarehouseCorrupt):
            db.connect(path)
        assert_one_line_errors(path, tmp_path / "out", "cannot open warehouse")
        assert path.read_bytes() == blob, name  # not repaired, not truncated, not rewritten
        assert not path.with_suffix(".duckdb.wal").exists()


def test_a_file_cut_short_is_refused_for_writing_and_the_connection_released(
    hostile_crawl: tuple[HostileSite, Path], tmp_path: Path
) -> None:
    _, good_path = hostile_crawl
    good = good_path.read_bytes()
    path = tmp_path / "cut.duckdb"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(db.WarehouseError):
        db.connect(path)
    # The failed open left nothing open in this process: a reader is not told "already open",
    # it is told what is wrong with the file.
    with pytest.raises(db.WarehouseCorrupt, match="cut short"):
        warehouse.run_sql(path, "SELECT 41 + 1 AS answer", "csv")
    assert path.read_bytes() == good[: len(good) // 2]


# --- a site that tries to stop the crawler --------------------------------------------------------
Handler = Callable[[httpx.Request], httpx.Response]
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def urlset(locs: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}">{urls}</urlset>'.encode()


def small_site(sitemap: bytes, pages: dict[str, httpx.Response]) -> Handler:
    """robots.txt naming one sitemap (with an ETag, answered 304 when it matches) and `pages`,
    every request kept in `handle.requests`."""
    etag = f'"{hashlib.sha256(sitemap).hexdigest()[:12]}"'

    def handle(request: httpx.Request) -> httpx.Response:
        handle.requests.append(request)  # type: ignore[attr-defined]
        path = request.url.path
        if path == "/robots.txt":
            return httpx.Response(200, text=f"User-agent: *\nSitemap: {BASE}/sitemap.xml\n")
        if path == "/sitemap.xml":
            if request.headers.get("if-none-match") == etag:
                return httpx.Response(304, headers={"etag": etag})
            headers = {"content-type": "application/xml", "etag": etag}
            return httpx.Response(200, content=sitemap, headers=headers)
        return pages.get(path) or httpx.Response(404, text="<html><h1>Not found</h1></html>")

    handle.requests = []  # type: ignore[attr-defined]
    return handle


def requests_of(handle: Handler) -> list[httpx.Request]:
    return handle.requests  # type: ignore[attr-defined, no-any-return]


async def discover_only(config: CrawlConfig, db_path: Path, handle: Handler) -> int:
    transport = httpx.MockTransport(handle)
    async with CrawlSession.open(config, db_path, transport=transport) as session:
        return await session.discover()


def test_a_sitemap_larger_than_a_page_is_read_whole(tmp_path: Path) -> None:
    locs = [f"{BASE}/research/a-long-study-title-number-{n}-S{n:03x}" for n in range(3000)]
    body = urlset(locs)
    config = CrawlConfig(base_url=BASE, rate=1000.0, max_body_bytes=len(body) // 4)
    assert config.max_body_bytes < len(body) < config.max_sitemap_bytes
    db_path = tmp_path / "w.duckdb"
    added = asyncio.run(discover_only(config, db_path, small_site(body, {})))
    assert added == len(locs)
    con = db.connect(db_path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM pages").fetchone() == (len(locs),)
    finally:
        con.close()


def html_page(title: str) -> httpx.Response:
    return httpx.Response(200, text=study_html(title, []), headers={"content-type": "text/html"})


BOUNDLESS = {  # Retry-After values no datetime can hold, from a 503 and a 429
    "/research/never-Ra1": httpx.Response(503, headers={"retry-after": "99999999999999999999"}),
    "/research/later-Ra2": httpx.Response(429, headers={"retry-after": "1000000000000"}),
    "/research/y9999-Ra3": httpx.Response(
        503, headers={"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}
    ),
    "/research/huge-Ra4": httpx.Response(503, headers={"retry-after": "9" * 400}),
}


def test_a_boundless_retry_after_or_years_of_failures_never_stop_a_crawl(tmp_path: Path) -> None:
    pages = {**BOUNDLESS, "/research/fine-Ok1": html_page("A fine study")}
    locs = [BASE + path for path in pages]
    handle = small_site(urlset(locs), pages)
    config = CrawlConfig(base_url=BASE, rate=1000.0, backoff_initial_s=0.01, backoff_max_s=0.02)
    db_path = tmp_path / "w.duckdb"
    failing = [BASE + path for path in BOUNDLESS]

    def stored() -> dict[str, tuple[int, datetime]]:
        con = db.connect(db_path, read_only=True)
        try:
            rows = con.execute(
                "SELECT url, failures, next_visit_at FROM pages WHERE failures > 0"
            ).fetchall()
        finally:
            con.close()
        return {url: (failures, when) for url, failures, when in rows}

    first = crawl(config, db_path, transport=httpx.MockTransport(handle))
    assert first.complete
    assert first.outcomes == Counter(failed=4, new=1)
    cap = datetime.now(UTC) + config.revisit_max
    assert sorted(stored()) == sorted(failing)
    # The server's wish is honoured up to the longest wait of all, then the page comes back.
    assert all(cap - timedelta(minutes=5) < when <= cap for _, when in stored().values())
    # The stored state is usable: a page that has failed for years is backed off, not overflowed.
    con = db.connect(db_path)
    try:
        con.execute("UPDATE pages SET failures = 100000 WHERE url = ?", [failing[0]])
    finally:
        con.close()
    again = crawl(config, db_path, full=True, transport=httpx.MockTransport(handle))
    assert again.complete
    assert again.outcomes == Counter(failed=4, unchanged=1)
    after = stored()
    assert after[failing[0]][0] == 100001
    assert all(when <= datetime.now(UTC) + config.revisit_max for _, when in after.values())


def damage(archive_dir: Path, how: str) -> None:
    files = sorted(archive_dir.glob("*.warc.gz"))
    assert files
    for path in files:
        data = path.read_bytes()
        if how == "deleted":
            path.unlink()
        elif how == "cut short":
            path.write_bytes(data[:100])  # inside the first record
        else:  # scrambled: the same length, the gzip members' insides overwritten
            rng = random.Random(len(data))
            path.write_bytes(data[:16] + rng.randbytes(len(data) - 32) + data[-16:])


@pytest.mark.parametrize("how", ["deleted", "cut short", "scrambled"])
def test_a_damaged_archive_is_fetched_again_not_fatal(tmp_path: Path, how: str) -> None:
    pages = {"/research/fine-Ok1": html_page("A fine study"), "/research/two-Ok2": html_page("2")}
    handle = small_site(urlset([BASE + path for path in pages]), pages)
    config = CrawlConfig(base_url=BASE, rate=1000.0)
    db_path = tmp_path / "w.duckdb"
    first = crawl(config, db_path, transport=httpx.MockTransport(handle))
    assert first.complete
    assert first.outcomes == Counter(new=2)
    damage(default_archive_dir(db_path), how)
    requests_of(handle).clear()
    again = crawl(config, db_path, full=True, transport=httpx.MockTransport(handle))
    assert again.complete
    assert sum(again.outcomes.values()) == 2
    # The sitemap's archived copy was unreadable: asked for whole, not conditionally.
    [sitemap] = [r for r in requests_of(handle) if r.url.path == "/sitemap.xml"]
    assert "if-none-match" not in sitemap.headers
    # And the next run reads the copy this one archived, and is asked conditionally again.
    requests_of(handle).clear()
    third = crawl(config, db_path, full=True, transport=httpx.MockTransport(handle))
    assert third.complete
    [sitemap] = [r for r in requests_of(handle) if r.url.path == "/sitemap.xml"]
    assert "if-none-match" in sitemap.headers


# --- a reparse over a damaged archive -------------------------------------------------------------
def crawled_site(tmp_path: Path) -> Path:
    """Three study pages crawled and archived; returns the warehouse."""
    pages = {
        "/research/one-Rp1": html_page("One"),
        "/research/two-Rp2": html_page("Two"),
        "/research/three-Rp3": html_page("Three"),
    }
    handle = small_site(urlset([BASE + path for path in pages]), pages)
    db_path = tmp_path / "w.duckdb"
    done = crawl(
        CrawlConfig(base_url=BASE, rate=1000.0), db_path, transport=httpx.MockTransport(handle)
    )
    assert done.outcomes == Counter(new=3)
    return db_path


def scramble_record(db_path: Path, url: str) -> None:
    """Overwrite the inside of the gzip member that holds `url`'s archived response."""
    con = db.connect(db_path, read_only=True)
    try:
        row = con.execute(
            "SELECT warc_file, record_offset, record_length FROM archive_records"
            " WHERE url = ? AND record_type = 'response'",
            [url],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    path = default_archive_dir(db_path) / row[0]
    data = bytearray(path.read_bytes())
    start, end = row[1] + 20, row[1] + row[2] - 10  # past the gzip header, before its trailer
    data[start:end] = b"\x55" * (end - start)
    path.write_bytes(bytes(data))


def run_rows(db_path: Path) -> list[tuple[object, ...]]:
    con = db.connect(db_path, read_only=True)
    try:
        return con.execute(
            "SELECT kind, status, pages_failed, failure_reasons, error FROM crawl_runs"
            " ORDER BY run_id"
        ).fetchall()
    finally:
        con.close()


def test_reparse_skips_and_counts_an_unreadable_record(tmp_path: Path) -> None:
    db_path = crawled_site(tmp_path)
    scramble_record(db_path, BASE + "/research/two-Rp2")
    with ReparseRun.open(db_path) as run:
        for entries in run.chunks(2):
            run.load(parse_archived(run.directory, entries))
        report = run.finish()
    assert (report.pages, report.unreadable) == (2, 1)
    assert "1 unreadable archive records skipped" in report.message
    kind, status, failed, reasons, error = run_rows(db_path)[-1]
    assert (kind, status, failed, error) == ("reparse", "completed", 1, None)
    assert json.loads(str(reasons)) == {UNREADABLE_RECORD: 1}


def test_a_reparse_that_raises_is_closed_as_failed(tmp_path: Path) -> None:
    db_path = crawled_site(tmp_path)
    with pytest.raises(RuntimeError), ReparseRun.open(db_path):
        raise RuntimeError("the disk is on fire\nand more")
    assert run_rows(db_path)[-1][:2] == ("reparse", "failed")
    assert run_rows(db_path)[-1][4] == "the disk is on fire"


def test_reparse_never_creates_a_missing_archive_dir(tmp_path: Path) -> None:
    db_path = crawled_site(tmp_path)
    missing = tmp_path / "nonexistent" / "warc"
    before = run_rows(db_path)
    with (
        pytest.raises(ReparseError, match="no archive directory"),
        ReparseRun.open(db_path, archive_dir=missing),
    ):
        pass
    result = CliRunner().invoke(
        app, ["reparse", "--db", str(db_path), "--archive-dir", str(missing)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"scraper: error: no archive directory at {missing}"
    ]
    assert not (tmp_path / "nonexistent").exists()
    assert run_rows(db_path) == before  # no run was started


def test_reparse_refuses_while_a_crawl_left_batches_in_its_spool(tmp_path: Path) -> None:
    """Batches a killed crawl fetched and did not load are not in the archive's index yet, and
    the crawl that loads them later would lay the old parser's records over the reparse's: a
    reparse refuses in one line, touching nothing, until a crawl has loaded them."""
    db_path = crawled_site(tmp_path)
    left = default_spool_dir(db_path)
    left.mkdir(exist_ok=True)  # a crawl leaves it, empty
    (left / "00000007.index.parquet").write_bytes(b"index")  # a batch exists by its visits file
    (left / "00000007.parquet").write_bytes(b"visits")
    before = run_rows(db_path)

    with pytest.raises(ReparseError, match="run `scraper crawl` first"), ReparseRun.open(db_path):
        pass
    result = CliRunner().invoke(app, ["reparse", "--db", str(db_path)])

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"scraper: error: 1 fetched batches in {left} are not loaded yet (a crawl was cut short):"
        " run `scraper crawl` first, which loads them before it fetches anything, then reparse"
    ]
    assert run_rows(db_path) == before  # no run was started
    assert sorted(path.name for path in left.iterdir()) == [
        "00000007.index.parquet",
        "00000007.parquet",
    ]


@pytest.mark.usefixtures("prefect_harness")
# Prefect's API client leaves one socket to its test server open when the flow's event loop
# closes (as in test_flows); not one of ours.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_the_reparse_flow_completes_over_a_damaged_record(tmp_path: Path) -> None:
    from scraper.flows.reparse import reparse  # noqa: PLC0415  # Prefect: slow, for this test only

    db_path = crawled_site(tmp_path)
    scramble_record(db_path, BASE + "/research/one-Rp1")
    state: Any = asyncio.run(reparse(db=str(db_path), batch_size=2, return_state=True))  # type: ignore[arg-type]
    assert state.is_completed(), state.message
    assert "1 unreadable archive records skipped" in state.message
    assert run_rows(db_path)[-1][:3] == ("reparse", "completed", 1)


# --- long lists: work in proportion to their length -----------------------------------------------
def calls_to_parse(entries: int) -> int:
    """Function calls (Python and C) made by parsing a page that cites `entries` studies."""
    links = [f"/research/a-cited-study-{n}-{n:04d}" for n in range(entries)]
    body = study_html("A long list", links).encode()
    calls = 0

    def count(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        page = parse_study(body, BASE + "/research/long-Lng1")
    finally:
        sys.setprofile(None)
    assert len(page.cited_research) == entries
    return calls


def test_a_long_list_costs_work_in_proportion_to_its_length() -> None:
    # Four times the entries, about four times the calls (a sort adds a little): comparing every
    # entry with every other made it sixteen, and 10,000 entries a minute inside the write window.
    small, large = calls_to_parse(300), calls_to_parse(1200)
    assert large < 4.5 * small, (small, large)


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_the_reparse_flow_fails_in_one_line_on_an_unloaded_spool(tmp_path: Path) -> None:
    from scraper.flows.reparse import reparse  # noqa: PLC0415  # Prefect: slow, for this test only

    db_path = crawled_site(tmp_path)
    left = default_spool_dir(db_path)
    left.mkdir(exist_ok=True)
    (left / "00000001.parquet").write_bytes(b"visits")
    before = run_rows(db_path)

    state: Any = asyncio.run(reparse(db=str(db_path), return_state=True))  # type: ignore[arg-type]

    assert state.is_failed()
    assert "run `scraper crawl` first" in state.message
    assert run_rows(db_path) == before
