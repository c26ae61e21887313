"""The WARC archive: records written, indexed, read back without network; torn tails skipped."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from warcio.archiveiterator import ArchiveIterator

from replica import Replica, ReplicaServer
from scraper import db
from scraper.archive import Archive, index, latest_entries
from scraper.config import CrawlConfig
from scraper.responses import FetchResult, RawResponse
from scraper.session import CrawlSession
from scraper.warc import ORIGINAL_ENCODING_HEADER, TornRecord, WarcWriter, read_record, scan

BASE = "https://site.test"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = db.connect(tmp_path / "crawl.duckdb")
    yield connection
    connection.close()


def response(
    url: str, status: int = 200, body: bytes | None = b"", **changes: object
) -> RawResponse:
    fields: dict[str, object] = {
        "url": url,
        "status": status,
        "headers": (("Content-Type", "text/html; charset=utf-8"), ("ETag", '"e1"')),
        "body": body,
        "request_headers": (("Host", "site.test"), ("User-Agent", "test")),
        "received_at": T0,
    }
    fields.update(changes)
    return RawResponse(**fields)  # type: ignore[arg-type]


def page(path: str, body: bytes, *, at: datetime = T0, **changes: object) -> FetchResult:
    url = BASE + path
    raw = response(url, body=body, received_at=at)
    fields: dict[str, object] = {
        "url": url,
        "final_url": url,
        "status": 200,
        "headers": raw.headers,
        "body": body,
        "content_sha256": hashlib.sha256(body).hexdigest(),
        "fetched_at": at,
        "response": raw,
    }
    fields.update(changes)
    return FetchResult(**fields)  # type: ignore[arg-type]


def test_pages_read_back_from_index(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    with Archive(tmp_path / "warc", con, CrawlConfig()) as archive:
        archive.append([page("/a", b"<html>a1</html>"), page("/b", b"<html>b</html>")])
        later = T0 + timedelta(days=1)
        archive.append([page("/a", b"<html>a2</html>", at=later)], crawl_id="c2")
        a = archive.read(f"{BASE}/a")
        assert a is not None
        assert (a.body, a.status, a.crawl_id, a.fetched_at) == (
            b"<html>a2</html>",
            200,
            "c2",
            later,
        )
        assert ("Content-Type", "text/html; charset=utf-8") in a.headers
        bodies = {r.url: r.body for r in archive.iter_latest(pages_only=False)}
        several = archive.read_many([f"{BASE}/a", f"{BASE}/b", f"{BASE}/never"])
    assert bodies == {f"{BASE}/a": b"<html>a2</html>", f"{BASE}/b": b"<html>b</html>"}
    assert {url: r.body for url, r in several.items()} == bodies  # the newest; absent: left out


def test_unchanged_visits_are_bodiless_revisits(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    body = b"<html>" + hashlib.sha512(b"seed").digest() * 40 + b"</html>"
    first = page("/a", body)
    not_modified = FetchResult(
        url=first.url,
        final_url=first.url,
        status=304,
        content_sha256=first.content_sha256,
        not_modified=True,
        unchanged=True,
        response=response(first.url, 304, None),
    )
    same = page("/a", body, unchanged=True)
    with Archive(tmp_path / "warc", con) as archive:
        entries = archive.append([first, not_modified, same])
        assert [e.record_type for e in entries] == ["response", "revisit", "revisit"]
        assert {e.content_sha256 for e in entries} == {first.content_sha256}
        assert entries[1].length < entries[0].length
        latest = archive.read(first.url)
    assert latest is not None
    assert latest.body == body


def test_redirects_errors_and_cut_bodies_archived_but_not_served(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    hop = response(f"{BASE}/old", 301, b"", headers=(("Location", "/new"),))
    moved = replace(page("/new", b"<html>new</html>", redirects=(hop,)), url=f"{BASE}/old")
    cut = response(f"{BASE}/big", body=b"x" * 10, truncated=True)
    big = replace(page("/big", b""), body=None, error="too-large", failure="refused", response=cut)
    gone = response(f"{BASE}/gone", 404, b"nope")
    missing = replace(page("/gone", b"nope"), status=404, error="http-404", response=gone)
    with Archive(tmp_path / "warc", con) as archive:
        entries = archive.append([moved, big, missing])
        assert [(e.target_uri, e.status_code) for e in entries] == [
            (f"{BASE}/old", 301),
            (f"{BASE}/new", 200),
            (f"{BASE}/big", 200),
            (f"{BASE}/gone", 404),
        ]
        assert archive.read(f"{BASE}/old") is not None  # the body the old URL leads to
        assert archive.read(f"{BASE}/big") is None  # cut short: never served for parsing
    with (tmp_path / "warc" / entries[0].warc_file).open("rb") as fh:
        truncated = [r.rec_headers.get_header("WARC-Truncated") for r in ArchiveIterator(fh)]
    assert "length" in truncated


def test_stored_body_is_decoded_and_headers_match(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    body = b"<html>" + b"z" * 500 + b"</html>"
    headers = (
        ("Content-Type", "text/html"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "40"),
    )
    result = page("/z", body)
    result = replace(result, response=response(result.url, body=body, headers=headers))
    with Archive(tmp_path / "warc", con) as archive:
        archive.append([result])
        back = archive.read(result.url)
    assert back is not None
    assert back.body == body
    assert (ORIGINAL_ENCODING_HEADER, "gzip") in back.headers
    assert ("Content-Length", str(len(body))) in back.headers
    assert all(name.lower() != "content-encoding" for name, _ in back.headers)


def test_files_rotate_by_size_and_all_stay_readable(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    config = CrawlConfig(warc_max_bytes=2_000)
    bodies = {f"/p{i}": bytes(range(256)) * 20 + str(i).encode() for i in range(6)}
    with Archive(tmp_path / "warc", con, config) as archive:
        for path, body in bodies.items():
            archive.append([page(path, body)])
        files = {e.warc_file for e in latest_entries(con)}
        assert len(files) > 1
        assert {r.url: r.body for r in archive.iter_latest(pages_only=False)} == {
            BASE + path: body for path, body in bodies.items()
        }


def test_torn_last_record_detected_and_skipped(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    with WarcWriter(tmp_path) as writer:
        entries = writer.write([page(f"/p{i}", f"<html>{i}</html>".encode()) for i in range(3)])
    path = tmp_path / entries[0].warc_file
    whole = path.read_bytes()
    last = entries[-1]
    for cut in (last.offset + 20, last.offset + last.length - 4):
        path.write_bytes(whole[:cut])
        report = scan(path)
        assert report.torn_at == last.offset
        assert [e.url for e in report.entries] == [e.url for e in entries[:2]]
        with pytest.raises(TornRecord):
            read_record(tmp_path, last)
    path.write_bytes(whole)
    assert scan(path).torn_at is None
    assert read_record(tmp_path, last).body == b"<html>2</html>"


def test_reindex_restores_lost_index_rows(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    with WarcWriter(tmp_path / "warc") as writer:
        written = writer.write([page("/a", b"<html>a</html>")], crawl_id="c1")
    assert latest_entries(con) == []
    with Archive(tmp_path / "warc", con) as archive:
        reports = archive.reindex()
        assert [len(r.entries) for r in reports] == [1]
        assert latest_entries(con) == written
        assert index(con, written) == 1  # idempotent: already there
        assert len(latest_entries(con)) == 1


def test_files_are_standard_warc(tmp_path: Path) -> None:
    with WarcWriter(tmp_path) as writer:
        [entry] = writer.write([page("/a", b"<html>a</html>")])
    with (tmp_path / entry.warc_file).open("rb") as fh:
        types = [record.rec_type for record in ArchiveIterator(fh)]
    assert types == ["warcinfo", "response", "request"]


def test_a_crawl_archives_robots_txt_too(tmp_path: Path) -> None:
    replica = Replica(pages=5, seed=2)
    with ReplicaServer(replica) as server:
        config = CrawlConfig(base_url=server.base_url, rate=200.0, concurrency=4)

        async def crawl() -> None:
            async with CrawlSession.open(config, tmp_path / "w.duckdb") as session:
                await session.discover()
                while await session.run_batch():
                    pass
                session.finish()

        asyncio.run(crawl())
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    robots = con.execute(
        "SELECT count(*) FROM archive_records WHERE url LIKE '%/robots.txt'"
    ).fetchone()
    con.close()
    assert robots == (1,)
