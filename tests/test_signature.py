"""Change judged on what a reader sees: page noise and ticking ages are no change, and relative
ages ("1 week ago") are stored as estimated instants that stay put as the text ticks over."""

from __future__ import annotations

import dataclasses
import itertools
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from scraper import db, load
from scraper.ages import AgeEstimate, consistent, estimate_age, settle
from scraper.config import CrawlConfig
from scraper.parse import PARSER_VERSION, parse_study
from scraper.records import LoadItem, StudyPage
from scraper.responses import FetchResult
from scraper.schedule import Signature, outcome_of
from scraper.staging import content_hash
from tests.crawling import crawl

PAGE = Path(__file__).parent / "pages" / "newer-card-links.html"
BASE = "https://tressless.com"
STUDY_PATH = "/research/oral-minoxidil-low-dose-women-diffuse-thinning-Qx7b"
# A Wednesday, mid-afternoon: floors to the day, the week (Monday the 8th) and the month differ.
SEEN = datetime(2025, 1, 15, 14, 37, 12, tzinfo=UTC)


# --- the mapping of relative ages -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "at", "precision"),
    [
        ("just now", datetime(2025, 1, 15, 14, 37, tzinfo=UTC), "minute"),
        ("a few seconds ago", datetime(2025, 1, 15, 14, 37, tzinfo=UTC), "minute"),
        ("5 minutes ago", datetime(2025, 1, 15, 14, 32, tzinfo=UTC), "minute"),
        ("1 minute ago", datetime(2025, 1, 15, 14, 36, tzinfo=UTC), "minute"),
        ("an hour ago", datetime(2025, 1, 15, 13, tzinfo=UTC), "hour"),
        ("3 hours ago", datetime(2025, 1, 15, 11, tzinfo=UTC), "hour"),
        ("yesterday", datetime(2025, 1, 14, tzinfo=UTC), "day"),
        ("1 day ago", datetime(2025, 1, 14, tzinfo=UTC), "day"),
        ("20 days ago", datetime(2024, 12, 26, tzinfo=UTC), "day"),
        ("1 week ago", datetime(2025, 1, 6, tzinfo=UTC), "week"),
        ("2 weeks ago", datetime(2024, 12, 30, tzinfo=UTC), "week"),
        ("a month ago", datetime(2024, 12, 1, tzinfo=UTC), "month"),
        ("3 months ago", datetime(2024, 10, 1, tzinfo=UTC), "month"),
        ("13 months ago", datetime(2023, 12, 1, tzinfo=UTC), "month"),
        ("1 year ago", datetime(2024, 1, 1, tzinfo=UTC), "year"),
        ("8 years ago", datetime(2017, 1, 1, tzinfo=UTC), "year"),
        ("  2   Weeks  Ago ", datetime(2024, 12, 30, tzinfo=UTC), "week"),
        ("3h ago", datetime(2025, 1, 15, 11, tzinfo=UTC), "hour"),
    ],
)
def test_relative_ages_map_to_floored_instants(text: str, at: datetime, precision: str) -> None:
    assert estimate_age(text, SEEN) == AgeEstimate(at=at, precision=precision)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [None, "", "recently", "ago", "weeks ago", "-3 days ago", "3 fortnights ago", "in 3 days",
     "99999 years ago", "3 days", "1 week ago; DROP TABLE studies"],
)  # fmt: skip
def test_text_that_is_no_relative_age_has_no_estimate(text: str | None) -> None:
    assert estimate_age(text, SEEN) is None


def test_an_age_without_a_time_zone_has_no_estimate() -> None:
    assert estimate_age("1 week ago", SEEN.replace(tzinfo=None)) is None


def test_an_age_read_again_as_it_ticks_over_is_the_same_estimate() -> None:
    week_later = SEEN + timedelta(weeks=1)
    assert estimate_age("1 week ago", SEEN) == estimate_age("2 weeks ago", week_later)
    assert estimate_age("3 months ago", SEEN) == estimate_age("4 months ago", SEEN + timedelta(31))
    assert estimate_age("2 years ago", SEEN) == estimate_age("3 years ago", SEEN.replace(2026))


def test_an_estimate_that_drifted_by_rounding_settles_on_the_one_held() -> None:
    first = estimate_age("1 week ago", SEEN)
    # Twelve days later the site still rounds down to "1 week ago": the instant moves a week.
    later = estimate_age("1 week ago", SEEN + timedelta(days=12))
    coarser = estimate_age("1 month ago", SEEN + timedelta(days=25))
    assert first is not None
    assert later is not None
    assert coarser is not None
    assert later != first
    assert settle(later, [first]) == first
    assert settle(coarser, [first]) == first  # coarser text, still the same moment
    unrelated = estimate_age("3 years ago", SEEN)
    assert unrelated is not None
    assert not consistent(first, unrelated)
    assert settle(unrelated, [first]) == unrelated
    assert settle(None, [first]) is None


# --- the signature --------------------------------------------------------------------------------
def _noisy(html: str, n: int) -> str:
    """The same page with what a server-rendered application changes on every request."""
    head = f'<meta name="build-id" content="build-{n:08x}"><script nonce="n{n * 7919}">0</script>'
    payload = (
        f'<script id="__NEXT_DATA__" type="application/json" nonce="n{n * 7919}">'
        f'{{"buildId":"build-{n:08x}","requestId":"req-{n * 104729:x}",'
        f'"renderedAt":"2025-01-15T14:{n % 60:02d}:00Z","props":{{"page":{n}}}}}</script>'
    )
    return html.replace("</head>", head + "</head>").replace("</body>", payload + "</body>")


def test_noise_in_the_bytes_leaves_the_signature_alone() -> None:
    html = PAGE.read_text()
    url = BASE + STUDY_PATH
    ages = tuple(estimate_age(p.age_text, SEEN) for p in parse_study(html.encode()).community_posts)
    one, two = (parse_study(_noisy(html, n).encode(), url) for n in (1, 2))
    assert _noisy(html, 1) != _noisy(html, 2)
    assert content_hash(one, ages) == content_hash(two, ages)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            ">Oral Minoxidil at Low Dose in Women with Diffuse Thinning<",
            ">Oral Minoxidil in Women<",
        ),
        ("Forty-two women", "Forty-three women"),
        ("12 citations", "13 citations"),
        ("36 upvotes", "37 upvotes"),
    ],
)
def test_a_visible_change_changes_the_signature(old: str, new: str) -> None:
    html = PAGE.read_text()
    assert html.count(old) >= 1
    before = parse_study(html.encode(), BASE + STUDY_PATH)
    after = parse_study(html.replace(old, new).encode(), BASE + STUDY_PATH)
    ages = tuple(estimate_age(p.age_text, SEEN) for p in before.community_posts)
    assert content_hash(before, ages) != content_hash(after, ages)


def test_outcome_is_judged_by_the_signature_when_both_visits_have_one() -> None:
    fetched = FetchResult(url="u", final_url="u", status=200, body=b"x", content_sha256="b" * 64)
    sig, other = Signature("sig", "1.1.0"), Signature("other", "1.1.0")
    assert outcome_of(fetched, "a" * 64, sig, sig) == "unchanged"
    assert outcome_of(fetched, "a" * 64, sig, other) == "changed"
    assert outcome_of(fetched, "a" * 64, sig, None) == "changed"  # by the bytes, as before
    assert outcome_of(fetched, "b" * 64, sig, other) == "unchanged"  # identical bytes
    assert outcome_of(fetched, None, sig, None) == "new"


def test_records_read_by_two_parser_versions_are_not_compared() -> None:
    """A parser release may read every page differently: that is no change of the site. A
    signature kept before versions were (None) is compared by its hash, as before."""
    fetched = FetchResult(url="u", final_url="u", status=200, body=b"x", content_sha256="b" * 64)
    now, before = Signature("new-reading", "1.2.0"), Signature("old-reading", "1.1.0")
    assert outcome_of(fetched, "a" * 64, now, before) == "unchanged"
    assert outcome_of(fetched, "a" * 64, now, Signature("old-reading")) == "changed"
    assert outcome_of(fetched, "a" * 64, now, Signature("new-reading")) == "unchanged"


# --- the loader: ages as estimates, the content hash and last_changed_at --------------------------
def _with_ages(page: StudyPage, *texts: str) -> StudyPage:
    posts = tuple(
        dataclasses.replace(post, age_text=text)
        for post, text in zip(page.community_posts, texts, strict=True)
    )
    return dataclasses.replace(page, community_posts=posts)


def _load(con: duckdb.DuckDBPyConnection, page: StudyPage, at: datetime) -> load.LoadStats:
    return load.load_pages(con, [LoadItem(page=page, fetched_at=at)], observed_at=at, run_id=None)


def test_ticking_ages_are_no_change_and_are_stored_as_estimates(tmp_path: Path) -> None:
    page = parse_study(PAGE.read_bytes(), BASE + STUDY_PATH)
    con = db.connect(tmp_path / "w.duckdb")
    try:
        assert _load(con, _with_ages(page, "1 week ago", "8 years ago"), SEEN).studies_new == 1
        first = con.execute("SELECT content_hash, last_changed_at FROM studies").fetchone()
        # A week later the texts ticked over; twelve days later one was rounded down again.
        week = _load(con, _with_ages(page, "2 weeks ago", "8 years ago"), SEEN + timedelta(7))
        later = _load(con, _with_ages(page, "1 week ago", "8 years ago"), SEEN + timedelta(12))
        assert (week.studies_unchanged, later.studies_unchanged) == (1, 1)
        assert con.execute("SELECT content_hash, last_changed_at FROM studies").fetchone() == first
        cards = con.execute(
            "SELECT post_id, posted_at_estimate, posted_at_precision FROM study_community_posts"
            " ORDER BY position"
        ).fetchall()
        posts = con.execute(
            "SELECT post_id, posted_at_estimate, posted_at_precision FROM community_posts"
            " ORDER BY post_id"
        ).fetchall()
        assert [(c[1].astimezone(UTC), c[2]) for c in cards] == [
            (datetime(2025, 1, 6, tzinfo=UTC), "week"),
            (datetime(2017, 1, 1, tzinfo=UTC), "year"),
        ]
        assert sorted(cards) == posts
        # the text as read stays in the history, one row per visit
        texts = con.execute(
            "SELECT age_text FROM community_post_observations"
            " WHERE post_id = ? ORDER BY observed_at",
            [cards[0][0]],
        ).fetchall()
        assert texts == [("1 week ago",), ("2 weeks ago",), ("1 week ago",)]
        # An age that cannot be the same moment is a change.
        moved = _load(con, _with_ages(page, "3 years ago", "8 years ago"), SEEN + timedelta(13))
        assert moved.studies_changed == 1
        row = con.execute("SELECT content_hash, last_changed_at FROM studies").fetchone()
        assert row is not None
        assert first is not None
        assert row[0] != first[0]
    finally:
        con.close()


def test_session_signatures_are_the_stored_content_hashes(tmp_path: Path) -> None:
    page = parse_study(PAGE.read_bytes(), BASE + STUDY_PATH)
    con = db.connect(tmp_path / "w.duckdb")
    try:
        item = LoadItem(page=page, fetched_url=BASE + STUDY_PATH, fetched_at=SEEN)
        load.load_pages(con, [item], observed_at=SEEN, run_id=None)
        listing = LoadItem(page=StudyPage(page_kind="search"), fetched_url=BASE + "/search?q=x")
        stored = con.execute("SELECT content_hash, parser_version FROM studies").fetchone()
        assert stored is not None
        assert stored[1] == PARSER_VERSION
        assert load.signatures(con, [item, listing]) == {BASE + STUDY_PATH: stored}
    finally:
        con.close()


# --- a crawl of a noisy site ----------------------------------------------------------------------
class NoisySite:
    """One study page that differs in every response (build id, request id, nonce) and sends no
    validators, like a server-rendered application; `edits` change what a reader sees."""

    def __init__(self) -> None:
        self.html = PAGE.read_text()
        self.counter = itertools.count(1)
        self.edits: list[tuple[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/robots.txt":
            return self._send(f"User-agent: *\nSitemap: {BASE}/sitemap.xml\n", "text/plain")
        if path == "/sitemap.xml":
            loc = f"<url><loc>{BASE}{STUDY_PATH}</loc></url>"
            urlset = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            return self._send(f"{urlset}{loc}</urlset>", "application/xml")
        if path != STUDY_PATH:
            return httpx.Response(404, headers={"content-type": "text/html"}, text="gone")
        html = self.html
        for old, new in self.edits:
            html = html.replace(old, new)
        return self._send(_noisy(html, next(self.counter)), "text/html")

    def _send(self, body: str, kind: str) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": kind}, text=body)


def _page_state(db_path: Path) -> tuple[str, int, int]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        row = con.execute(
            "SELECT last_outcome, revisit_seconds, changes FROM pages WHERE url = ?",
            [BASE + STUDY_PATH],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0], row[1], row[2]


def test_a_noisy_but_unchanged_page_is_unchanged_and_its_interval_grows(tmp_path: Path) -> None:
    site = NoisySite()
    config = CrawlConfig(base_url=BASE, rate=1000.0, batch_size=10)
    db_path = tmp_path / "crawl.duckdb"

    def run() -> tuple[str, int, int]:
        crawl(config, db_path, transport=httpx.MockTransport(site.handle), full=True)
        return _page_state(db_path)

    outcome, first_interval, _ = run()
    assert outcome == "new"
    intervals = [first_interval]
    for _ in range(2):
        outcome, interval, changes = run()
        assert (outcome, changes) == ("unchanged", 1)
        intervals.append(interval)
    assert intervals[0] < intervals[1] < intervals[2]
    # What a reader sees changed: the visit is a change and the interval shrinks.
    site.edits.append(("36 upvotes", "41 upvotes"))
    outcome, interval, changes = run()
    assert (outcome, changes) == ("changed", 2)
    assert interval < intervals[-1]
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        digests = con.execute(
            "SELECT count(DISTINCT content_sha256) FROM archive_records WHERE url = ?",
            [BASE + STUDY_PATH],
        ).fetchone()
        assert digests == (4,)  # the raw bytes differed every time, and are kept as they came
        signature = con.execute("SELECT signature FROM pages WHERE url = ?", [BASE + STUDY_PATH])
        assert re.fullmatch("[0-9a-f]{64}", str((signature.fetchone() or ("",))[0]))
    finally:
        con.close()


def test_a_parser_release_is_no_change_of_the_site(tmp_path: Path) -> None:
    """The last visit was read by an older parser, which read the page differently: the next
    visit of the same page cannot be judged. It is taken as unchanged, keeps the page's interval
    and adds nothing to its observed history; its signature is kept with today's version, so the
    visit after it is judged again."""
    site = NoisySite()
    config = CrawlConfig(base_url=BASE, rate=1000.0, batch_size=10)
    db_path = tmp_path / "crawl.duckdb"
    transport = httpx.MockTransport(site.handle)
    history = "SELECT revisit_seconds, observed_visits, signature_parser FROM pages WHERE url = ?"

    def row() -> tuple[int, int, str]:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            found = con.execute(history, [BASE + STUDY_PATH]).fetchone()
        finally:
            con.close()
        assert found is not None
        return found[0], found[1], found[2]

    crawl(config, db_path, transport=transport, full=True)
    crawl(config, db_path, transport=transport, full=True)  # a judged revisit: the interval grew
    interval, observed, _ = row()
    con = duckdb.connect(str(db_path))
    try:
        con.execute(
            "UPDATE pages SET signature = ?, signature_parser = '0.9.0' WHERE url = ?",
            ["0" * 64, BASE + STUDY_PATH],
        )
    finally:
        con.close()
    crawl(config, db_path, transport=transport, full=True)
    assert _page_state(db_path)[::2] == ("unchanged", 1)
    assert row() == (interval, observed, PARSER_VERSION)
    crawl(config, db_path, transport=transport, full=True)  # judged again
    grown, more, _ = row()
    assert grown > interval
    assert more == observed + 1


def test_migration_009_gives_kept_signatures_the_version_of_their_study(tmp_path: Path) -> None:
    """A page whose signature is still its stored study's hash takes that study's parser
    version; one whose study was read again since (its hash moved on) stays NULL, compared by
    its hash as before."""
    older = tmp_path / "sql"
    (older / "migrations").mkdir(parents=True)
    (older / "views").mkdir()
    for migration in sorted((db.sql_dir() / "migrations").glob("00[1-8]_*.sql")):
        shutil.copy(migration, older / "migrations")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        db.migrate(con, older)
        for study_id, digest in (("Aaaa", "kept"), ("Bbbb", "moved-on")):
            con.execute(
                "INSERT INTO studies (study_id, url, title, sections, page_kind, parser_version,"
                " warnings, content_hash, first_seen_at, last_seen_at, last_changed_at)"
                " VALUES (?, 'u', 't', [], 'study', '1.0.0', [], ?, ?, ?, ?)",
                [study_id, digest, SEEN, SEEN, SEEN],
            )
            con.execute(
                "INSERT INTO pages (url, study_id, page_kind, source, discovered_at,"
                " next_visit_at, revisit_seconds, signature)"
                " VALUES (?, ?, 'study', 'sitemap', ?, ?, 86400, 'kept')",
                [f"{BASE}/research/x-{study_id}", study_id, SEEN, SEEN],
            )
        assert 9 in db.migrate(con)
        rows = con.execute("SELECT study_id, signature_parser FROM pages ORDER BY 1").fetchall()
    finally:
        con.close()
    assert rows == [("Aaaa", "1.0.0"), ("Bbbb", None)]
