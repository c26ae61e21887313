"""The replica's live profile: noisy bytes, validators, sizes, ticking ages, the change process.

Small worlds keep these fast; the module-scoped replica serves the tests that only read.
"""

from __future__ import annotations

import dataclasses
import gzip
import re
from collections import Counter
from datetime import datetime, time, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from replica import Replica, ReplicaError
from replica.churn import DAY_S
from replica.cli import replica_app
from replica.live import MAX_PAGE_BYTES, MIN_PAGE_BYTES
from replica.livesite import LiveSite
from replica.model import StudyView
from replica.site import EPOCH, http_date
from scraper.ages import consistent, estimate_age
from scraper.discover import parse_sitemap
from scraper.parse import parse_study
from scraper.records import StudyPage

SEED = 11


def _read(replica: Replica, path: str) -> StudyPage:
    """What the parser reads off the page now, without the parser's own fields."""
    status, _, body = replica.render(path)
    assert status == 200
    page = parse_study(body, replica.base_url + path)
    return dataclasses.replace(page, parser_version="", warnings=())


def _visible(record: StudyPage | None) -> StudyPage | None:
    """The record without its post ages, which tick by themselves as days pass."""
    if record is None:
        return None
    posts = tuple(dataclasses.replace(p, age_text=None) for p in record.community_posts)
    return dataclasses.replace(record, community_posts=posts)


@pytest.fixture(scope="module")
def live() -> Replica:
    return Replica(60, SEED, profile="live", validators="none")


def test_two_gets_differ_in_bytes_but_parse_to_the_same_record(live: Replica) -> None:
    paths = live.study_paths()
    by_markup = {live.markup_of(p): p for p in paths}  # one study page per markup
    assert len(by_markup) == len(live.markups)
    for path in by_markup.values():
        first, second = live.render(path)[2], live.render(path)[2]
        assert first != second
        assert b'id="__NEXT_DATA__"' in first
        assert b'"requestId"' in first
        assert b"nonce=" in first
        a = parse_study(first, live.base_url + path)
        b = parse_study(second, live.base_url + path)
        assert a == b
        assert dataclasses.replace(a, parser_version="", warnings=()) == live.truth(path)


def test_pages_are_50_to_300_kb(live: Replica) -> None:
    sizes = [len(live.render(path)[2]) for path in live.page_paths()]
    assert all(MIN_PAGE_BYTES <= size <= MAX_PAGE_BYTES for size in sizes)
    assert max(sizes) - min(sizes) > 100_000  # spread over the range, not one size


def test_gzip_answers_decompress_to_a_page_of_the_same_record(live: Replica) -> None:
    path = live.study_paths()[3]
    status, headers, body = live.render(path, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    page = parse_study(gzip.decompress(body), live.base_url + path)
    assert dataclasses.replace(page, parser_version="", warnings=()) == live.truth(path)


def test_no_validators_means_no_etag_and_never_304(live: Replica) -> None:
    path = live.study_paths()[0]
    _, headers, _ = live.render(path)
    assert "ETag" not in headers
    assert "Last-Modified" not in headers
    ask = {"If-None-Match": "*", "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}
    assert live.render(path, headers=ask)[0] == 200


def test_weak_validators_change_on_every_request_and_never_answer_304() -> None:
    replica = Replica(40, SEED, profile="live", validators="weak")
    path = replica.study_paths()[0]
    first = replica.render(path)[1]["ETag"]
    second = replica.render(path)[1]["ETag"]
    assert first.startswith('W/"')
    assert first != second
    assert replica.render(path, headers={"If-None-Match": second})[0] == 200


def test_strong_validators_follow_what_a_reader_sees() -> None:
    replica = Replica(40, SEED, profile="live", validators="strong")
    path = replica.study_paths()[0]
    first_status, first, first_body = replica.render(path)
    _, second, second_body = replica.render(path)
    assert first_status == 200
    assert first_body != second_body
    assert first["ETag"] == second["ETag"]
    assert not first["ETag"].startswith("W/")
    assert replica.render(path, headers={"If-None-Match": first["ETag"]})[0] == 304


def test_an_age_ticks_with_the_replica_clock_and_keeps_its_estimate() -> None:
    replica = Replica(120, SEED, profile="live")  # enough posts that some are weeks or months old
    before_now = replica.now
    before = {p: replica.truth(p) for p in replica.study_paths()}
    replica.advance(7)
    assert (replica.now - before_now).days == 7
    ticked = 0
    for path, record in before.items():
        if record is None or path not in replica.study_paths():
            continue
        old_posts = {p.post_id: p for p in record.community_posts}
        if not old_posts:
            continue
        for post in _read(replica, path).community_posts:
            old = old_posts.get(post.post_id)
            if old is None:
                continue
            ticked += old.age_text != post.age_text
            then = estimate_age(old.age_text, before_now)
            now = estimate_age(post.age_text, replica.now)
            assert then is not None
            assert now is not None
            assert consistent(then, now), (old.age_text, post.age_text)
    assert ticked > 0


def test_truth_is_what_the_parser_reads_after_several_advances() -> None:
    replica = Replica(80, SEED, profile="live")
    for _ in range(3):
        replica.advance(4)
    paths = replica.study_paths()
    assert len(paths) > 80  # new studies appeared
    for path in paths:
        assert _read(replica, path) == replica.truth(path)
    for path in replica.removed_paths():
        assert replica.render(path)[0] in {404, 410}


def test_most_studies_never_change_and_a_few_change_often() -> None:
    # Removals are rare (0.05% of studies a day): with seed 12 this world has one in 14 days.
    replica = Replica(200, 12, profile="live")
    paths = replica.study_paths()
    seen = {p: _visible(replica.truth(p)) for p in paths}
    changes: Counter[str] = Counter()
    added: list[str] = []
    removed: list[str] = []
    for _ in range(14):
        done = replica.advance(1)
        added += done.added
        removed += done.removed
        for path in paths:
            record = _visible(replica.truth(path))
            if path not in removed and record != seen[path]:
                changes[path] += 1
            seen[path] = record
    unchanged = sum(1 for p in paths if changes[p] == 0)
    assert unchanged / len(paths) >= 0.6
    assert max(changes.values()) >= 3
    assert added
    assert removed
    linked = {
        entry.url
        for path in replica.study_paths()
        for entry in (replica.truth(path) or _EMPTY).related_research
    }
    assert any(replica.base_url + path in linked for path in added)
    assert set(added) <= _sitemap_paths(replica)


def _sitemap_paths(replica: Replica) -> set[str]:
    index = replica.render("/sitemap.xml")[2].decode()
    paths: set[str] = set()
    for child in re.findall(r"<loc>[^<]*(/sitemaps/[^<]+)</loc>", index):
        body = replica.render(child)[2]
        text = gzip.decompress(body) if child.endswith(".gz") else body
        paths |= set(re.findall(r"<loc>[^<]*?(/research/[^<]+)</loc>", text.decode()))
    return paths


_EMPTY = StudyPage()


def test_the_same_seed_gives_the_same_history_and_bytes() -> None:
    def run(steps: tuple[int, ...], seed: int = SEED) -> tuple[dict[str, StudyPage | None], bytes]:
        replica = Replica(40, seed, profile="live")
        for days in steps:
            replica.advance(days)
        path = replica.study_paths()[5]
        return {p: replica.truth(p) for p in replica.study_paths()}, replica.render(path)[2]

    once = run((7,))
    assert run((7,)) == once
    assert run((1,) * 7)[0] == once[0]  # a day at a time gives the same history
    assert run((7,), SEED + 1)[0] != once[0]


def test_time_passes_within_a_day_and_any_stepping_gives_the_same_site() -> None:
    """Changes happen at instants of the day, so a page fetched in the morning may differ by the
    evening; a day in hours, or in uneven steps, leaves every page as a day at once does."""

    def site_after(steps: tuple[int, ...]) -> tuple[Replica, dict[str, StudyPage | None]]:
        replica = Replica(400, SEED, profile="live")
        for seconds in steps:
            replica.pass_time(seconds)
        return replica, {p: replica.truth(p) for p in replica.study_paths()}

    whole, by_day = site_after((2 * 86_400,))
    assert whole.day == 2
    assert whole.now == EPOCH + timedelta(days=2)
    assert site_after((3600,) * 48)[1] == by_day
    assert site_after((1, 7_000, 50_000, 59_000, 56_799, 3_600))[1] == by_day
    # By noon some of the day's changes happened, by the evening more (ages tick only at the
    # day's end).
    start, noon, evening = (site_after(steps)[1] for steps in ((), (12 * 3600,), (23 * 3600,)))
    assert 0 < sum(noon[p] != start[p] for p in start) < sum(evening[p] != start[p] for p in start)
    with pytest.raises(ReplicaError, match="live profile"):
        Replica(10, SEED).pass_time(60)


def test_a_paced_site_moves_its_clock_with_every_request() -> None:
    with LiveSite(studies=20, seed=SEED) as site:
        site.pace(30.0)
        start = site.now
        path = site.replica.study_paths()[0]
        for _ in range(4):
            httpx.get(site.base_url + path)
        assert site.now == start + timedelta(seconds=120)
        site.pace(None)
        httpx.get(site.base_url + path)
        assert site.now == start + timedelta(seconds=120)


def test_views_of_untouched_pages_keep_their_revision() -> None:
    replica = Replica(60, SEED, profile="live", validators="strong")
    day0 = {p: replica.render(p)[1]["Last-Modified"] for p in replica.study_paths()}
    replica.advance(5)
    kept = [p for p in day0 if p in replica.study_paths()]
    same = [p for p in kept if replica.render(p)[1]["Last-Modified"] == day0[p]]
    assert len(same) / len(kept) >= 0.6
    assert all(isinstance(replica.view(p), StudyView) for p in kept)


POLL_S = 600  # a client that revalidates every study page every ten minutes


def test_if_modified_since_alone_sees_every_change_made_later_the_same_day() -> None:
    """Last-Modified is the instant of the page's last revision, to the second: a client that
    sends back the Last-Modified it was given sees a page's second change of a day. A whole day's
    Last-Modified (its midnight) answered that client 304 and hid the change."""
    replica = Replica(150, SEED, profile="live", validators="strong", change_rates=8)
    replica.advance(1)  # midnight of day 1: the whole day's changes lie ahead
    midnight = replica.now
    given = {p: replica.render(p)[1]["Last-Modified"] for p in replica.study_paths()}
    changed_again_the_same_day = 0
    for _ in range(DAY_S // POLL_S - 1):  # until 23:50, so no new day re-ages the pages
        polled = replica.now
        changed = set(replica.pass_time(POLL_S).changed)
        for path, last_modified in given.items():
            status, headers, _ = replica.render(path, headers={"If-Modified-Since": last_modified})
            if status in (404, 410):  # removed today
                continue
            if path not in changed:
                assert status == 304, path
                continue
            assert status == 200, path  # the change is not missed
            instant = parsedate_to_datetime(headers["Last-Modified"])
            assert polled < instant <= replica.now  # the change's own instant, to the second
            changed_again_the_same_day += parsedate_to_datetime(last_modified) > midnight
            for since in (headers["Last-Modified"], http_date(replica.now)):
                assert replica.render(path, headers={"If-Modified-Since": since})[0] == 304
            given[path] = headers["Last-Modified"]
    assert changed_again_the_same_day > 0  # the case a day's midnight hid did happen


def test_sitemap_lastmod_is_the_instant_of_the_page_last_revision() -> None:
    """Where a page changed within the day its `<lastmod>` is a W3C datetime, which the
    crawler's sitemap parsing reads as the same instant as the page's Last-Modified."""
    replica = Replica(150, SEED, profile="live", validators="strong", change_rates=8)
    replica.advance(1)
    changed = [p for p in replica.pass_time(DAY_S // 2).changed if p in replica.study_paths()]
    assert changed
    lastmods: dict[str, datetime | None] = {}
    index = parse_sitemap(replica.render("/sitemap.xml")[2], max_bytes=10_000_000)
    for child in index.entries:
        body = replica.render(urlsplit(child.loc).path)[2]
        sitemap = parse_sitemap(body, max_bytes=10_000_000)
        lastmods |= {urlsplit(e.loc).path: e.lastmod for e in sitemap.entries}
    for path in replica.study_paths():
        last_modified = parsedate_to_datetime(replica.render(path)[1]["Last-Modified"])
        assert lastmods[path] == last_modified, path
    assert all((lastmods[p] or EPOCH).time() != time() for p in changed)  # not midnights
    assert max(e.lastmod or EPOCH for e in index.entries) == max(
        at or EPOCH for at in lastmods.values()
    )


def test_change_rates_make_the_same_studies_change_more_often() -> None:
    def changes(replica: Replica) -> Counter[str]:
        paths = replica.study_paths()
        seen = {p: _visible(replica.truth(p)) for p in paths}
        counted: Counter[str] = Counter()
        for _ in range(3):
            replica.advance(1)
            for path in paths:
                record = _visible(replica.truth(path))
                counted[path] += record != seen[path]
                seen[path] = record
        return counted

    calm, busy = Replica(150, 12, profile="live"), Replica(150, 12, profile="live", change_rates=8)
    assert [r * 8 for r in calm.live_world.rates] == busy.live_world.rates
    calm_changes, busy_changes = sum(changes(calm).values()), sum(changes(busy).values())
    assert 0 < 3 * calm_changes < busy_changes
    with pytest.raises(ReplicaError, match="change_rates"):
        Replica(10, SEED, profile="live", change_rates=0)
    with pytest.raises(ReplicaError, match="change_rates needs the live profile"):
        Replica(10, SEED, change_rates=8)


def test_bad_profile_and_validators_are_refused() -> None:
    with pytest.raises(ReplicaError, match="profile"):
        Replica(10, SEED, profile="wild")  # type: ignore[arg-type]
    with pytest.raises(ReplicaError, match="validators"):
        Replica(10, SEED, validators="medium")  # type: ignore[arg-type]
    with pytest.raises(ReplicaError, match="live profile"):
        Replica(10, SEED).appeared_at("/research/x-Abc")
    result = CliRunner().invoke(replica_app, ["serve", "--profile", "wild"])
    assert result.exit_code == 2
    assert "--profile must be one of kind, live" in result.output


def test_live_site_serves_and_answers_for_the_benchmark() -> None:
    with LiveSite(studies=40, seed=SEED, validators="weak") as site:
        truth = site.truth()
        url = next(iter(truth))
        assert url.startswith(site.base_url + "/research/")
        response = httpx.get(url)  # httpx asks for gzip: the per-request gzip must decode
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        page = dataclasses.replace(parse_study(response.content, url), parser_version="")
        assert dataclasses.replace(page, warnings=()) == truth[url]
        start = site.now
        assert site.appeared_at(url) is not None
        assert site.appeared_at(url) < start  # type: ignore[operator]
        done = site.advance(10)
        assert site.now > start
        new_urls = set(site.truth()) - set(truth)
        assert all(start < site.appeared_at(u) <= site.now for u in new_urls)  # type: ignore[operator]
        assert site.removed() == {site.base_url + p for p in done.removed}
