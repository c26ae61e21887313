"""WARC records: a fetch encoded as `response`/`revisit` and `request` records, read back, scanned.

Files and bytes only, no database: the shards of a split crawl write their own files here, on
machines without the warehouse, while `scraper.archive` indexes the records in the warehouse.

Each response (status, headers, body) is a WARC `response` record, followed by the `request`
record that asked for it. A revisit that brought nothing new is a `revisit` record without a body
(profile server-not-modified for a 304, identical-payload-digest for a body we already hold), so
an unchanged site costs headers, not pages. Redirect hops are archived too. Bodies are stored as
decoded (what was hashed and parsed); the original `Content-Encoding` is kept in an
`X-Archive-Content-Encoding` header and the length headers are made to match. Every gzip member
holds one record, so any record is read back with one seek.

    ArchiveError
     ├── TornRecord      a gzip member cut short (a crash mid-write)
     └── MissingRecord   the index points at bytes that are not a record
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from scraper.config import PROJECT_NAME, PROJECT_VERSION
from scraper.responses import FetchResult, Headers, RawResponse

RecordType = Literal["response", "revisit"]

WARC_VERSION = "1.1"  # allows microsecond WARC-Date
REVISIT_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
REVISIT_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# Our own WARC fields: the frontier URL a record was fetched for, and the crawl.
PAGE_URL_FIELD = "X-Scraper-Page-URL"
CRAWL_ID_FIELD = "X-Scraper-Crawl-Id"
ERROR_FIELD = "X-Scraper-Error"
ORIGINAL_ENCODING_HEADER = "X-Archive-Content-Encoding"
# Headers that describe the wire form of the body, not the decoded body we store.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_READ_CHUNK = 1 << 16
# What warcio raises on bytes that are not a record, and what a record without HTTP headers or
# with a status or date that is not one raises while it is read.
_UNPARSABLE = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    EOFError,
    ValueError,
    AttributeError,
    TypeError,
)


class ArchiveError(Exception):
    """The archive cannot give back what was asked."""


class TornRecord(ArchiveError):
    """A gzip member ends before it is complete: the writer died in the middle of it."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class MissingRecord(ArchiveError):
    """The index points at bytes that are not a readable record."""


# --- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveEntry:
    """Where one response or revisit record lives (a row of `archive_records`)."""

    warc_file: str
    offset: int
    length: int
    url: str  # the frontier URL the fetch was for
    target_uri: str  # the URL this response answered (a redirect hop's own URL)
    record_type: RecordType
    status_code: int
    content_sha256: str | None
    error: str | None
    fetched_at: datetime
    crawl_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedResponse:
    """A response read back from the archive."""

    url: str
    target_uri: str
    record_type: RecordType
    status: int
    headers: Headers
    body: bytes  # empty for revisits and refused bodies
    fetched_at: datetime
    crawl_id: str | None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """What a walk through one WARC file found."""

    path: Path
    entries: tuple[ArchiveEntry, ...]  # response and revisit records, in file order
    records: int  # every complete record (warcinfo and request included)
    torn_at: int | None  # offset of a torn last record, skipped; None when the file is whole


# --- writing --------------------------------------------------------------------------------------


class WarcWriter:
    """Appends fetch results to `<prefix>-<UTC time>-<pid>-<seq>.warc.gz` files in `directory`.

    Knows nothing of the database, so a shard can write WARC files and leave indexing to the
    coordinator (`scan` + `index`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "crawl",
        max_bytes: int = 256 * 1024 * 1024,
        user_agent: str = "",
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self._stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}"
        self._seq = 0
        self._file: IO[bytes] | None = None
        self._name = ""
        self._writer: WARCWriter | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None

    def write(
        self, results: Sequence[FetchResult], *, crawl_id: str | None = None
    ) -> list[ArchiveEntry]:
        """Append every response of `results`; flushed and fsynced before returning."""
        return self.write_encoded([ex for r in results for ex in encode_result(r, crawl_id)])

    def write_encoded(self, exchanges: Sequence[EncodedExchange]) -> list[ArchiveEntry]:
        """Append exchanges already encoded by `encode_result`;
        flushed and fsynced before returning (nothing to write: no fsync)."""
        entries = [self._write_exchange(exchange) for exchange in exchanges]
        if entries and self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        return entries

    def _write_exchange(self, exchange: EncodedExchange) -> ArchiveEntry:
        file, _writer = self._current()
        offset = file.tell()
        file.write(exchange.data)
        return exchange.entry(self._name, offset)

    def _current(self) -> tuple[IO[bytes], WARCWriter]:
        """The open file, rotated to a new one once it passed `max_bytes`."""
        if self._file is not None and self._writer is not None:
            if self._file.tell() < self.max_bytes:
                return self._file, self._writer
            self.close()
        self._seq += 1
        self._name = f"{self.prefix}-{self._stamp}-{self._seq:05d}.warc.gz"
        self._file = (self.directory / self._name).open("xb")
        self._writer = WARCWriter(self._file, gzip=True, warc_version=WARC_VERSION)
        info = {
            "software": f"{PROJECT_NAME}/{PROJECT_VERSION} (warcio)",
            "format": f"WARC File Format {WARC_VERSION}",
            "http-header-user-agent": self.user_agent,
            "robots": "obey",
        }
        self._writer.write_record(self._writer.create_warcinfo_record(self._name, info))
        return self._file, self._writer


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedExchange:
    """One hop of a fetch as WARC bytes: its response (or revisit) record, then its request
    record, each its own gzip member; where it lands in a file is decided when it is written."""

    data: bytes
    unplaced: ArchiveEntry  # the response record's index entry, its file and offset still blank

    def entry(self, warc_file: str, offset: int) -> ArchiveEntry:
        return replace(self.unplaced, warc_file=warc_file, offset=offset)


def encode_result(result: FetchResult, crawl_id: str | None = None) -> list[EncodedExchange]:
    """Every hop of `result` (redirects, then the final answer) as WARC records, ready to append.

    Pure: encoding is kept apart from appending (`WarcWriter.write_encoded`), so a writer only
    places bytes and indexes where they landed.
    """
    writer = WARCWriter(io.BytesIO(), gzip=False, warc_version=WARC_VERSION)  # makes records
    exchanges = []
    for hop in (*result.redirects, result.response):
        if hop is None:
            continue
        final = hop is result.response
        record, kind, digest = _response_record(writer, result, hop, final, crawl_id)
        response = _gzip_member(record)
        request = _gzip_member(_request_record(writer, hop, record))
        entry = ArchiveEntry(
            warc_file="",
            offset=0,
            length=len(response),  # the first member: what the index points at
            url=result.url,
            target_uri=hop.url,
            record_type=kind,
            status_code=hop.status,
            content_sha256=digest,
            error=result.error if final else None,
            fetched_at=hop.received_at,
            crawl_id=crawl_id,
        )
        exchanges.append(EncodedExchange(data=response + request, unplaced=entry))
    return exchanges


# warcio gzips each record at zlib's level 9: a 50-300 KB page then takes ~4 ms, over twice
# level 6's time (gzip's own default), for files about 0.5% smaller. So records are written plain
# and compressed here, each its own gzip member as warcio makes them.
GZIP_LEVEL = 6


def _gzip_member(record: Any) -> bytes:
    """One WARC record as one gzip member."""
    plain = io.BytesIO()
    WARCWriter(plain, gzip=False, warc_version=WARC_VERSION).write_record(record)
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(plain.getvalue()) + compressor.flush()


def _response_record(
    writer: WARCWriter, result: FetchResult, hop: RawResponse, final: bool, crawl_id: str | None
) -> tuple[Any, RecordType, str | None]:
    """A `response` record, or a body-less `revisit` when the final answer brought nothing new."""
    fields = {
        "WARC-Date": datetime_to_iso_date(_naive_utc(hop.received_at), use_micros=True),
        PAGE_URL_FIELD: result.url,
    }
    if crawl_id:
        fields[CRAWL_ID_FIELD] = crawl_id
    if final and result.error:
        fields[ERROR_FIELD] = result.error
    if final and result.unchanged and result.content_sha256:
        profile = REVISIT_NOT_MODIFIED if result.not_modified else REVISIT_IDENTICAL
        fields |= {
            "WARC-Profile": profile,
            "WARC-Refers-To-Target-URI": hop.url,
            "WARC-Payload-Digest": _warc_digest(result.content_sha256),
        }
        headers = _http_headers(hop, body_length=None)
        record = writer.create_warc_record(
            hop.url, "revisit", http_headers=headers, warc_headers_dict=fields
        )
        return record, "revisit", result.content_sha256
    body = hop.body or b""
    digest = hashlib.sha256(body).hexdigest()
    fields["WARC-Payload-Digest"] = _warc_digest(digest)
    if hop.truncated or (hop.body is None and hop.status != 304):
        fields["WARC-Truncated"] = "length" if hop.truncated else "unspecified"
    record = writer.create_warc_record(
        hop.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=_http_headers(hop, body_length=len(body)),
        warc_headers_dict=fields,
    )
    return record, "response", digest if hop.body is not None else None


def _request_record(writer: WARCWriter, hop: RawResponse, response: Any) -> Any:
    target = hop.url.split("://", 1)[-1]
    path = "/" + target.split("/", 1)[1] if "/" in target else "/"
    headers = StatusAndHeaders(
        f"GET {path} {hop.http_version}", list(hop.request_headers), is_http_request=True
    )
    fields = {
        "WARC-Date": response.rec_headers.get_header("WARC-Date"),
        "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
    }
    return writer.create_warc_record(
        hop.url, "request", http_headers=headers, warc_headers_dict=fields
    )


def _http_headers(hop: RawResponse, *, body_length: int | None) -> StatusAndHeaders:
    """The response's headers, with the wire-form headers replaced to describe the stored body."""
    headers = [(k, v) for k, v in hop.headers if k.lower() not in _WIRE_HEADERS]
    encoding = hop.header("content-encoding")
    if encoding:
        headers.append((ORIGINAL_ENCODING_HEADER, encoding))
    if body_length is not None:
        headers.append(("Content-Length", str(body_length)))
    return StatusAndHeaders(
        f"{hop.status} {_reason(hop.status)}", headers, protocol=hop.http_version
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _warc_digest(sha256_hex: str) -> str:
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _naive_utc(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None)


# --- reading --------------------------------------------------------------------------------------


def read_record(directory: Path, entry: ArchiveEntry) -> ArchivedResponse:
    """The response an index entry points at (one seek, one gzip member)."""
    path = Path(directory) / entry.warc_file
    try:
        with path.open("rb") as fh:
            fh.seek(entry.offset)
            data = fh.read(entry.length)
    except OSError as exc:
        raise MissingRecord(f"cannot read {path}: {exc}") from exc
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(data)
    except zlib.error as exc:
        raise MissingRecord(f"no record at {entry.warc_file}:{entry.offset}") from exc
    if not inflater.eof:
        raise TornRecord(f"torn record at {entry.warc_file}:{entry.offset}", offset=entry.offset)
    try:
        return _parse_member(raw, entry.warc_file, entry.offset)
    except _UNPARSABLE as exc:  # a whole gzip member holding no WARC record we can read
        raise MissingRecord(f"bad record at {entry.warc_file}:{entry.offset}: {exc}") from exc


def _parse_member(raw: bytes, warc_file: str, offset: int) -> ArchivedResponse:
    for record in ArchiveIterator(io.BytesIO(raw)):
        if record.rec_type not in ("response", "revisit"):
            break
        headers = record.rec_headers
        http = record.http_headers
        return ArchivedResponse(
            url=headers.get_header(PAGE_URL_FIELD) or headers.get_header("WARC-Target-URI"),
            target_uri=headers.get_header("WARC-Target-URI"),
            record_type=record.rec_type,
            status=int(http.get_statuscode()),
            headers=tuple(http.headers),
            body=record.raw_stream.read(),
            fetched_at=_warc_date(headers.get_header("WARC-Date")),
            crawl_id=headers.get_header(CRAWL_ID_FIELD),
        )
    raise MissingRecord(f"no response record at {warc_file}:{offset}")


def scan(path: Path) -> ScanReport:
    """Walk a WARC file record by record; a torn last record is reported and skipped."""
    path = Path(path)
    with path.open("rb") as fh:
        members = _members(fh)
        torn_at = _torn_at(fh, members)
        whole = [member for member in members if torn_at is None or member.offset < torn_at]
        fh.seek(0)
        entries = _entries(fh, path.name, len(whole))
    return ScanReport(path=path, entries=tuple(entries), records=len(whole), torn_at=torn_at)


@dataclass(frozen=True, slots=True)
class _Member:
    """Where one record's gzip member lies in its file."""

    offset: int
    length: int


def _members(fh: IO[bytes]) -> list[_Member]:
    """Every record's gzip member that warcio can find, in file order.

    Only the WARC headers are parsed here (`no_record_parse`): on a record cut short warcio then
    fails with its own load errors, and those mean nothing more can be read.
    """
    members: list[_Member] = []
    records = ArchiveIterator(fh, no_record_parse=True)
    try:
        for _record in records:
            members.append(_Member(records.get_record_offset(), records.get_record_length()))
    except (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError, zlib.error):
        pass  # a torn tail: `_torn_at` says where it starts
    return members


def _torn_at(fh: IO[bytes], members: list[_Member]) -> int | None:
    """Where the file stops being whole records, or None.

    By hand because warcio cannot tell: it reads a gzip member cut short as far as it goes, yields
    the record if its headers made it, and stops at the cut without a word. So the tail is
    checked here: bytes after the last member warcio found are a torn record, and so is a last
    member that does not end as a gzip member ends (the writer died inside it).
    """
    end = members[-1].offset + members[-1].length if members else 0
    if end < os.fstat(fh.fileno()).st_size:
        return end
    if members and not _whole_member(fh, members[-1]):
        return members[-1].offset
    return None


def _whole_member(fh: IO[bytes], member: _Member) -> bool:
    fh.seek(member.offset)
    data = fh.read(member.length)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        while data and not inflater.eof:
            inflater.decompress(data, _READ_CHUNK)  # bounded: only the end matters
            data = inflater.unconsumed_tail
    except zlib.error:
        return False
    return inflater.eof


def _entries(fh: IO[bytes], warc_file: str, count: int) -> list[ArchiveEntry]:
    """The index entries among the first `count` records, all of them whole: warcio parses them
    in full and is never asked for the torn tail after them."""
    entries: list[ArchiveEntry] = []
    if count == 0:
        return entries
    records = ArchiveIterator(fh)
    for seen, record in enumerate(records, start=1):
        if (entry := _entry_of(record, records, warc_file)) is not None:
            entries.append(entry)
        if seen == count:
            break
    return entries


def _entry_of(record: Any, records: ArchiveIterator, warc_file: str) -> ArchiveEntry | None:
    """The index entry of a response or revisit record; None for the other records."""
    if record.rec_type not in ("response", "revisit"):
        return None
    headers = record.rec_headers
    body = record.raw_stream.read()
    return ArchiveEntry(
        warc_file=warc_file,
        offset=records.get_record_offset(),
        length=records.get_record_length(),
        url=headers.get_header(PAGE_URL_FIELD) or headers.get_header("WARC-Target-URI"),
        target_uri=headers.get_header("WARC-Target-URI"),
        record_type=record.rec_type,
        status_code=int(record.http_headers.get_statuscode()),
        content_sha256=_hex_digest(
            headers.get_header("WARC-Payload-Digest") or "", body, record.rec_type
        ),
        error=headers.get_header(ERROR_FIELD),
        fetched_at=_warc_date(headers.get_header("WARC-Date")),
        crawl_id=headers.get_header(CRAWL_ID_FIELD),
    )


def _hex_digest(field: str, body: bytes, record_type: str) -> str | None:
    if field.startswith("sha256:"):
        return base64.b32decode(field.removeprefix("sha256:")).hex()
    return hashlib.sha256(body).hexdigest() if record_type == "response" else None


def _warc_date(value: str) -> datetime:
    return iso_date_to_datetime(value).replace(tzinfo=UTC)  # type: ignore[no-any-return]
