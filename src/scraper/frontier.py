"""Crawl state in DuckDB: what is due, what each visit found, and when to look again (the rules
for when are `scraper.schedule`'s; this module stores what they decide).

The state is the `pages` table of migration 002 (Contract 3's `pages` plus scheduling columns) and
`frontier_crawls`. A crawl is one pass over what is due, and it survives a SIGKILL:

    crawl = frontier.begin_crawl()       resume the unfinished crawl, or start one
    frontier.add(discovery)              new URLs are due now; a newer sitemap lastmod brings a
                                         known page forward; rejected URLs are recorded
    targets = frontier.due(crawl, n)     claim up to n URLs due in this crawl (with validators)
    frontier.record(crawl, results)      one transaction: outcome, validators, hash, next visit;
                                         the claims are released and the pages are done in `crawl`
    frontier.finish_crawl(crawl)

Every write is its own transaction, so after a crash a page recorded in this crawl is not due again
in it, and a page that was claimed but never recorded comes back (`begin_crawl` releases the claims
a dead process left). A study id already known under another slug is the same study: the second URL
is stored as an alias and not fetched, until the first one is gone (404/410), when the alias takes
over.

    FrontierError        the frontier cannot do what was asked
     └── UnknownCrawl    no crawl with that id
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from scraper.config import CrawlConfig
from scraper.db import TIMESTAMP_UTC, registered, transaction
from scraper.discover import Discovered, Discovery, Rejected
from scraper.responses import FetchResult, FetchTarget
from scraper.schedule import (
    OUTCOMES,
    P_CHANGED_SQL,
    Outcome,
    PageState,
    Signature,
    Visit,
    due_order,
    newest_lastmods,
    seconds,
    visit,
)
from scraper.urls import page_kind_from_url, study_id_from_url

log = logging.getLogger(__name__)


class FrontierError(Exception):
    """The frontier cannot do what was asked."""


class UnknownCrawl(FrontierError):
    """No crawl with that id."""


# --- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Crawl:
    """One pass over the due pages; `resumed` when it was picked up after an interruption."""

    crawl_id: str
    started_at: datetime
    full: bool  # every known page is due, whatever its next visit says
    resumed: bool
    discovered: bool  # discovery (robots.txt, sitemaps, seeds) already ran to the end


@dataclass(frozen=True, slots=True, kw_only=True)
class AddSummary:
    new: int = 0  # URLs not known before (aliases included)
    aliases: int = 0  # of those, studies already known under another slug
    brought_forward: int = 0  # known pages due now because a sitemap says they changed
    rejected: int = 0  # rejected URLs recorded


@dataclass(frozen=True, slots=True, kw_only=True)
class CrawlStats:
    crawl_id: str
    known: int  # pages in the frontier that are fetched (aliases not counted)
    visited: int  # recorded in this crawl
    remaining: int  # still due in this crawl, claimed ones included
    claimed: int  # claimed by a batch and not yet recorded
    outcomes: dict[Outcome, int]  # visits of this crawl by outcome
    attempts: int  # requests made for those visits


@dataclass(frozen=True, slots=True, kw_only=True)
class Leftover:
    """What a run left due: how many pages, and seconds since the stalest was last read (or
    found, if never read: failed attempts read nothing); None when nothing is due."""

    pages_due: int
    stalest_s: float | None


# --- the frontier ---------------------------------------------------------------------------------


class Frontier:
    """The crawl state of one DuckDB connection (the single writer)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, config: CrawlConfig) -> None:
        self.con = con
        self.config = config

    # --- crawls -----------------------------------------------------------------------------------

    def begin_crawl(
        self,
        *,
        full: bool = False,
        crawl_id: str | None = None,
        resume: bool = True,
        now: datetime | None = None,
    ) -> Crawl:
        """The unfinished crawl if there is one (and `resume`), else a new one.

        Claims left by a process that died are released either way: DuckDB has one writer, so no
        other live process can hold them. `full` and `crawl_id` apply to a new crawl only; a full
        crawl asked for over an open incremental one closes it and begins anew.
        """
        now = now or self.config.clock()
        with transaction(self.con):
            self.con.execute(
                "UPDATE pages SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by IS NOT NULL"
            )
            open_crawl = self._open_crawl()
            # A full pass asked for over an open incremental crawl replaces it (what it left due
            # stays due): resuming would quietly skip the full pass.
            if open_crawl and resume and (open_crawl.full or not full):
                self.con.execute(
                    "UPDATE frontier_crawls SET resumed = resumed + 1 WHERE crawl_id = ?",
                    [open_crawl.crawl_id],
                )
                log.info("resuming crawl %s", open_crawl.crawl_id)
                return Crawl(
                    crawl_id=open_crawl.crawl_id,
                    started_at=open_crawl.started_at,
                    full=open_crawl.full,
                    resumed=True,
                    discovered=open_crawl.discovered,
                )
            if open_crawl:
                self._close(open_crawl.crawl_id, now)
            crawl = Crawl(
                crawl_id=crawl_id or _new_crawl_id(now),
                started_at=now,
                full=full,
                resumed=False,
                discovered=False,
            )
            self.con.execute(
                "INSERT INTO frontier_crawls (crawl_id, started_at, full_recrawl) VALUES (?, ?, ?)",
                [crawl.crawl_id, now, full],
            )
        return crawl

    def mark_discovered(self, crawl: Crawl, *, now: datetime | None = None) -> Crawl:
        """Discovery of this crawl ran to the end: a resume need not run it again."""
        self.con.execute(
            "UPDATE frontier_crawls SET discovered_at = ? WHERE crawl_id = ?",
            [now or self.config.clock(), crawl.crawl_id],
        )
        return dataclasses.replace(crawl, discovered=True)

    def discovered_at(self, crawl_id: str) -> datetime | None:
        """When the discovery of crawl `crawl_id` last ran to the end (None: never)."""
        rows = self.con.execute(
            "SELECT discovered_at FROM frontier_crawls WHERE crawl_id = ?", [crawl_id]
        ).fetchall()
        return rows[0][0] if rows else None

    def discovery_finished(self, crawl_id: str | None) -> bool:
        """Whether the discovery of crawl `crawl_id` ran to the end (False for an unknown id)."""
        if crawl_id is None:
            return False
        rows = self.con.execute(
            "SELECT discovered_at IS NOT NULL FROM frontier_crawls WHERE crawl_id = ?", [crawl_id]
        ).fetchall()
        return bool(rows and rows[0][0])

    def finish_crawl(self, crawl: Crawl, *, now: datetime | None = None) -> CrawlStats:
        """Close the crawl (pages still due stay due for the next one) and return its numbers."""
        with transaction(self.con):
            self._close(crawl.crawl_id, now or self.config.clock())
            self.con.execute(
                "UPDATE pages SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?",
                [crawl.crawl_id],
            )
        return self.stats(crawl)

    def crawl(self, crawl_id: str) -> Crawl:
        row = self.con.execute(
            "SELECT crawl_id, started_at, full_recrawl, resumed > 0, discovered_at IS NOT NULL"
            " FROM frontier_crawls WHERE crawl_id = ?",
            [crawl_id],
        ).fetchone()
        if row is None:
            raise UnknownCrawl(f"no crawl {crawl_id!r}")
        return Crawl(
            crawl_id=row[0], started_at=row[1], full=row[2], resumed=row[3], discovered=row[4]
        )

    # --- discovery --------------------------------------------------------------------------------

    def add(self, discovery: Discovery, *, now: datetime | None = None) -> AddSummary:
        """Record what discovery found (new URLs due now) and what it refused."""
        now = now or self.config.clock()
        found = newest_lastmods(discovery.found)
        with transaction(self.con):
            new, aliases = self._insert_new(found, now)
            forward = self._apply_lastmods(found, now)
            rejected = self._record_rejected(discovery.rejected, now)
        return AddSummary(new=new, aliases=aliases, brought_forward=forward, rejected=rejected)

    def _insert_new(self, found: list[Discovered], now: datetime) -> tuple[int, int]:
        known = self._existing_urls([item.url for item in found])
        fresh = [item for item in found if item.url not in known]
        primaries = self._primaries({item.study_id for item in fresh if item.study_id})
        rows: list[dict[str, Any]] = []
        aliases = 0
        for item in fresh:
            alias_of = primaries.get(item.study_id) if item.study_id else None
            if item.study_id and alias_of is None:
                primaries[item.study_id] = item.url
            aliases += alias_of is not None
            rows.append(self._new_row(item, alias_of, now))
        if rows:
            self._insert_pages(rows)
        return len(rows), aliases

    def _new_row(self, item: Discovered, alias_of: str | None, now: datetime) -> dict[str, Any]:
        return {
            "url": item.url,
            "study_id": item.study_id,
            "page_kind": item.kind,
            "alias_of": alias_of,
            "source": item.source,
            "referrer": item.referrer,
            "discovered_at": now,
            "sitemap_lastmod": item.lastmod,
            "next_visit_at": now,
            "revisit_seconds": seconds(self.config.revisit_initial),
        }

    def _insert_pages(self, rows: list[dict[str, Any]]) -> None:
        schema = pa.schema(
            [
                ("url", pa.string()),
                ("study_id", pa.string()),
                ("page_kind", pa.string()),
                ("alias_of", pa.string()),
                ("source", pa.string()),
                ("referrer", pa.string()),
                ("discovered_at", TIMESTAMP_UTC),
                ("sitemap_lastmod", TIMESTAMP_UTC),
                ("next_visit_at", TIMESTAMP_UTC),
                ("revisit_seconds", pa.int64()),
            ]
        )
        with self._registered("new_pages", pa.Table.from_pylist(rows, schema=schema)):
            self.con.execute(
                "INSERT INTO pages (url, study_id, page_kind, alias_of, source, referrer,"
                " discovered_at, sitemap_lastmod, next_visit_at, revisit_seconds)"
                " SELECT * FROM new_pages ON CONFLICT (url) DO NOTHING"
            )

    def _apply_lastmods(self, found: list[Discovered], now: datetime) -> int:
        """A sitemap lastmod that moved makes the page due now.

        Moved means newer than our last fetch, or newer than the lastmod the sitemap gave before:
        the second needs no agreement between the site's clock and ours (a needless revisit after
        that costs one 304).
        """
        dated = [item for item in found if item.lastmod is not None]
        if not dated:
            return 0
        table = pa.table(
            {
                "url": [i.url for i in dated],
                "lastmod": pa.array([i.lastmod for i in dated], TIMESTAMP_UTC),
            }
        )
        with self._registered("lastmods", table):
            row = self.con.execute(
                "SELECT count(*) FROM pages p JOIN lastmods l USING (url)"
                " WHERE l.lastmod > coalesce(p.sitemap_lastmod, '-infinity'::TIMESTAMPTZ)"
                " AND p.fetched_at IS NOT NULL"
                " AND (l.lastmod > p.fetched_at OR p.sitemap_lastmod IS NOT NULL)"
                " AND p.next_visit_at > ?",
                [now],
            ).fetchone()
            self.con.execute(
                "UPDATE pages SET sitemap_lastmod = l.lastmod,"
                " next_visit_at = CASE"
                "   WHEN pages.fetched_at IS NULL OR l.lastmod > pages.fetched_at"
                "     OR pages.sitemap_lastmod IS NOT NULL"
                "   THEN least(pages.next_visit_at, ?)"
                "   ELSE pages.next_visit_at END"
                " FROM lastmods l WHERE pages.url = l.url"
                " AND l.lastmod > coalesce(pages.sitemap_lastmod, '-infinity'::TIMESTAMPTZ)",
                [now],
            )
        return int(row[0]) if row else 0

    def _record_rejected(self, rejected: Sequence[Rejected], now: datetime) -> int:
        if not rejected:
            return 0
        counts: dict[str, tuple[Rejected, int]] = {}
        for item in rejected:
            first, seen = counts.get(item.url, (item, 0))
            counts[item.url] = (first, seen + 1)
        table = pa.table(
            {
                "url": list(counts),
                "reason": [first.reason for first, _ in counts.values()],
                "referrer": [first.referrer for first, _ in counts.values()],
                "seen": pa.array([seen for _, seen in counts.values()], pa.int64()),
            }
        )
        with self._registered("rejected", table):
            self.con.execute(
                "INSERT INTO frontier_rejected (url, reason, referrer, first_seen_at, last_seen_at,"
                " seen) SELECT url, reason, referrer, ?, ?, seen FROM rejected"
                " ON CONFLICT (url) DO UPDATE SET last_seen_at = excluded.last_seen_at,"
                " seen = frontier_rejected.seen + excluded.seen",
                [now, now],
            )
        return len(counts)

    # --- the work loop ----------------------------------------------------------------------------

    def due(
        self, crawl: Crawl, limit: int | None = None, *, now: datetime | None = None
    ) -> list[FetchTarget]:
        """Claim up to `limit` (default: batch size) URLs due in `crawl`, in the order of the
        configured priority policy (`_ORDER`)."""
        now = now or self.config.clock()
        limit = limit or self.config.batch_size
        stale = now - self.config.claim_timeout
        order, order_parameters = due_order(self.config, now)
        return self._claim(
            crawl,
            now,
            f"WHERE {_DUE} ORDER BY {order} LIMIT ?",
            [stale, crawl.crawl_id, crawl.full, now, *order_parameters, limit],
        )

    def likely_changed(
        self, crawl: Crawl, limit: int, *, now: datetime | None = None
    ) -> list[FetchTarget]:
        """Claim up to `limit` pages NOT yet due in `crawl`, likeliest changed first (estimated
        P(changed since the last visit) at or above the floor for its history, `_AHEAD_FLOOR`):
        what a run with a budget left and nothing due spends it on."""
        now = now or self.config.clock()
        stale = now - self.config.claim_timeout
        return self._claim(
            crawl,
            now,
            f"WHERE {_AHEAD} AND {P_CHANGED_SQL} >= {_AHEAD_FLOOR}"
            f" ORDER BY {P_CHANGED_SQL} DESC, next_visit_at, url LIMIT ?",
            [stale, crawl.crawl_id, now, now, now, limit],
        )

    def long_unread(
        self, crawl: Crawl, limit: int, *, now: datetime | None = None
    ) -> list[FetchTarget]:
        """Claim up to `limit` pages NOT yet due in `crawl` and unread for at least
        `config.sweep_after`, read longest ago first: what a budgeted run spends on once nothing
        is due and nothing is over its floor (`likely_changed` first). Longest unread first, not
        likeliest changed: it is a sweep, bounding how long any page waits while the budget
        covers it, and by P(changed) a page with a long quiet history would wait behind every
        younger one. Nothing unless the run sweeps (`CrawlConfig.sweeps`: a request budget)."""
        if not self.config.sweeps or self.config.sweep_after is None:
            return []
        now = now or self.config.clock()
        stale = now - self.config.claim_timeout
        return self._claim(
            crawl,
            now,
            f"WHERE {_AHEAD} AND judged_at <= ? ORDER BY judged_at, url LIMIT ?",
            [stale, crawl.crawl_id, now, now - self.config.sweep_after, limit],
        )

    def _claim(
        self, crawl: Crawl, now: datetime, which: str, parameters: list[Any]
    ) -> list[FetchTarget]:
        """Claim for `crawl` the pages `which` (a WHERE ... ORDER BY ... LIMIT clause) selects.
        Read, then claim what was read, in one transaction: an UPDATE ... RETURNING reads back
        every column of the rows it touches (~40 ms a batch of 1,000; this is ~8)."""
        with transaction(self.con):
            rows = self.con.execute(
                f"SELECT url, etag, last_modified, content_sha256 FROM pages {which}", parameters
            ).fetchall()
            self.con.execute(
                "UPDATE pages SET claimed_by = ?, claimed_at = ?"
                " WHERE url IN (SELECT unnest(?::VARCHAR[]))",
                [crawl.crawl_id, now, [row[0] for row in rows]],
            )
        return [
            FetchTarget(url=url, etag=etag, last_modified=modified, content_sha256=digest)
            for url, etag, modified, digest in rows
        ]

    def next_due(self, crawl: Crawl, *, now: datetime | None = None) -> datetime | None:
        """When the next page not claimable now falls due in `crawl` (None: none will), or, in a
        run that sweeps (`CrawlConfig.sweeps`), comes to be unread `sweep_after` (`long_unread`):
        a run of a day's length, one a day, would end before the pages it read at its start a
        day before come round."""
        now = now or self.config.clock()
        rows = self.con.execute(
            "SELECT min(next_visit_at) FROM pages WHERE alias_of IS NULL"
            " AND last_crawl_id IS DISTINCT FROM ? AND next_visit_at > ?",
            [crawl.crawl_id, now],
        ).fetchall()  # to its end: a result left unread keeps the connection busy
        due = rows[0][0] if rows else None
        sweep = self.config.sweep_after
        if not self.config.sweeps or sweep is None:
            return due
        rows = self.con.execute(
            f"SELECT min(judged_at) FROM pages WHERE {_AHEAD} AND judged_at > ?",
            [now - self.config.claim_timeout, crawl.crawl_id, now, now - sweep],
        ).fetchall()
        swept = rows[0][0] + sweep if rows and rows[0][0] is not None else None
        return min((t for t in (due, swept) if t is not None), default=None)

    def release(self, crawl: Crawl, urls: Iterable[str]) -> None:
        """Give claimed URLs back unvisited (a batch that was abandoned)."""
        table = pa.table({"url": pa.array(list(urls), pa.string())})
        with self._registered("released", table):
            self.con.execute(
                "UPDATE pages SET claimed_by = NULL, claimed_at = NULL FROM released"
                " WHERE pages.url = released.url AND pages.claimed_by = ?",
                [crawl.crawl_id],
            )

    def record(
        self,
        crawl: Crawl,
        results: Sequence[FetchResult],
        *,
        now: datetime | None = None,
        signatures: Mapping[str, Signature] | None = None,
    ) -> list[Outcome]:
        """Record a batch of visits in one transaction; returns each result's outcome.

        `signatures`: URL -> signature of the record a page was read into on this visit (study
        pages): their outcome is judged by it rather than by the body's bytes.
        """
        now = now or self.config.clock()
        signatures = signatures or {}
        latest = {result.url: result for result in results}  # one visit per URL and batch
        with transaction(self.con):
            self._ensure_known(list(latest.values()), now)
            known = self._known(list(latest))
            visits = {
                url: visit(r, known[url], now, self.config, signatures.get(url))
                for url, r in latest.items()
            }
            self._update_pages(crawl, list(visits.values()))
            self._alias_redirects(list(latest.values()), now)
            self._promote_aliases([v.url for v in visits.values() if v.outcome == "gone"], now)
        return [visits[result.url].outcome for result in results]

    def _ensure_known(self, results: list[FetchResult], now: datetime) -> None:
        """Results for URLs that never went through `add` (a direct fetch) get a row first."""
        known = self._existing_urls([result.url for result in results])
        missing = [
            self._new_row(
                Discovered(
                    url=r.url,
                    source="seed",
                    kind=page_kind_from_url(r.url),
                    study_id=study_id_from_url(r.url),
                ),
                None,
                now,
            )
            for r in results
            if r.url not in known
        ]
        if missing:
            self._insert_pages(missing)

    def _update_pages(self, crawl: Crawl, visits: list[Visit]) -> None:
        table = pa.table(
            {
                "url": [v.url for v in visits],
                "outcome": [v.outcome for v in visits],
                "status_code": pa.array([v.status_code for v in visits], pa.int32()),
                "fetched_at": pa.array([v.fetched_at for v in visits], TIMESTAMP_UTC),
                "etag": pa.array([v.etag for v in visits], pa.string()),
                "last_modified": pa.array([v.last_modified for v in visits], pa.string()),
                "content_sha256": pa.array([v.content_sha256 for v in visits], pa.string()),
                "signature": pa.array(
                    [v.signature.content_hash if v.signature else None for v in visits], pa.string()
                ),
                "signature_parser": pa.array(
                    [v.signature.parser_version if v.signature else None for v in visits],
                    pa.string(),
                ),
                "error": pa.array([v.error for v in visits], pa.string()),
                "next_visit_at": pa.array([v.next_visit_at for v in visits], TIMESTAMP_UTC),
                "revisit_seconds": pa.array([v.revisit_seconds for v in visits], pa.int64()),
                "failures": pa.array([v.failures for v in visits], pa.int64()),
                "attempts": pa.array([v.attempts for v in visits], pa.int64()),
                "judged": pa.array([v.judged for v in visits], pa.bool_()),
            }
        )
        with self._registered("visits", table):
            self.con.execute(
                "UPDATE pages SET status_code = v.status_code, fetched_at = v.fetched_at,"
                " etag = v.etag, last_modified = v.last_modified,"
                " content_sha256 = v.content_sha256, signature = v.signature,"
                " signature_parser = v.signature_parser, error = v.error,"
                " next_visit_at = v.next_visit_at, revisit_seconds = v.revisit_seconds,"
                " failures = v.failures, attempts = pages.attempts + v.attempts,"
                " visits = pages.visits + 1,"
                " changes = pages.changes + CASE WHEN v.outcome IN ('new', 'changed')"
                "   THEN 1 ELSE 0 END,"
                " last_changed_at = CASE WHEN v.outcome IN ('new', 'changed')"
                "   THEN v.fetched_at ELSE pages.last_changed_at END,"
                f" {_OBSERVED_HISTORY},"
                " last_outcome = v.outcome, last_crawl_id = ?,"
                " claimed_by = NULL, claimed_at = NULL"
                " FROM visits v WHERE pages.url = v.url",
                [crawl.crawl_id],
            )

    def _alias_redirects(self, results: list[FetchResult], now: datetime) -> None:
        """A study that redirected to another slug of itself: that slug is an alias, not work."""
        moved = [
            r
            for r in results
            if r.final_url != r.url
            and study_id_from_url(r.final_url)
            and study_id_from_url(r.final_url) == study_id_from_url(r.url)
        ]
        known = self._existing_urls([r.final_url for r in moved])
        rows = [
            self._new_row(
                Discovered(
                    url=r.final_url,
                    source="redirect",
                    kind="study",
                    study_id=study_id_from_url(r.final_url),
                    referrer=r.url,
                ),
                r.url,
                now,
            )
            for r in moved
            if r.final_url not in known
        ]
        if rows:
            self._insert_pages(rows)

    def _promote_aliases(self, gone: list[str], now: datetime) -> None:
        """A study gone from its URL lives on under an alias slug, if it has one: fetch that now."""
        for url in gone:
            row = self.con.execute(
                "SELECT url FROM pages WHERE alias_of = ? ORDER BY discovered_at DESC, url LIMIT 1",
                [url],
            ).fetchone()
            if row is None:
                continue
            successor = row[0]
            self.con.execute(
                "UPDATE pages SET alias_of = NULL, next_visit_at = least(next_visit_at, ?)"
                " WHERE url = ?",
                [now, successor],
            )
            self.con.execute(
                "UPDATE pages SET alias_of = ? WHERE (alias_of = ? AND url <> ?) OR url = ?",
                [successor, url, successor, url],
            )
            log.info("study at %s is gone; its alias %s takes over", url, successor)

    # --- reading ----------------------------------------------------------------------------------

    def stats(self, crawl: Crawl, *, now: datetime | None = None) -> CrawlStats:
        now = now or self.config.clock()
        row = self.con.execute(
            "SELECT count(*) FILTER (WHERE alias_of IS NULL),"
            " count(*) FILTER (WHERE last_crawl_id = ?),"
            " count(*) FILTER (WHERE claimed_by = ?),"
            " coalesce(sum(attempts) FILTER (WHERE last_crawl_id = ?), 0)"
            " FROM pages",
            [crawl.crawl_id] * 3,
        ).fetchone()
        remaining = self.con.execute(
            f"SELECT count(*) FROM pages WHERE {_DUE_IGNORING_CLAIMS}",
            [crawl.crawl_id, crawl.full, now],
        ).fetchone()
        by_outcome = dict.fromkeys(OUTCOMES, 0)
        for outcome, count in self.con.execute(
            "SELECT last_outcome, count(*) FROM pages WHERE last_crawl_id = ? GROUP BY ALL",
            [crawl.crawl_id],
        ).fetchall():
            by_outcome[outcome] = int(count)
        known, visited, claimed, attempts = row if row else (0, 0, 0, 0)
        return CrawlStats(
            crawl_id=crawl.crawl_id,
            known=int(known),
            visited=int(visited),
            remaining=int(remaining[0]) if remaining else 0,
            claimed=int(claimed),
            outcomes=by_outcome,
            attempts=int(attempts),
        )

    def leftover(self, crawl: Crawl, *, now: datetime | None = None) -> Leftover:
        """The pages still due in `crawl` and how stale the stalest of them is."""
        now = now or self.config.clock()
        # fetchall, not fetchone: a result left unfinished blocks registering Arrow tables next
        rows = self.con.execute(
            "SELECT count(*), max(epoch(?::TIMESTAMPTZ)"
            "   - epoch(coalesce(judged_at, discovered_at)))"
            f" FROM pages WHERE {_DUE_IGNORING_CLAIMS}",
            [now, crawl.crawl_id, crawl.full, now],
        ).fetchall()
        count, stalest = rows[0] if rows else (0, None)
        return Leftover(pages_due=int(count), stalest_s=None if stalest is None else float(stalest))

    def outcomes(self, crawl: Crawl) -> dict[str, Outcome]:
        """URL -> outcome of its visit in `crawl`, for the pages visited in it."""
        rows = self.con.execute(
            "SELECT url, last_outcome FROM pages WHERE last_crawl_id = ? ORDER BY url",
            [crawl.crawl_id],
        ).fetchall()
        return dict(rows)

    def not_recorded(self, results: Sequence[FetchResult]) -> list[FetchResult]:
        """The visits among `results` not recorded yet: a crash between recording a spooled
        batch and removing its file must not count its visits twice."""
        rows = self.con.execute(
            "SELECT url, fetched_at FROM pages WHERE list_contains(?, url)",
            [[result.url for result in results]],
        ).fetchall()
        recorded = {(url, fetched_at) for url, fetched_at in rows}
        return [r for r in results if (r.url, r.fetched_at) not in recorded]

    # --- helpers ----------------------------------------------------------------------------------

    def _registered(self, name: str, table: pa.Table) -> contextlib.AbstractContextManager[None]:
        return registered(self.con, {name: table})

    def _open_crawl(self) -> Crawl | None:
        row = self.con.execute(
            "SELECT crawl_id FROM frontier_crawls WHERE finished_at IS NULL"
            " ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        return self.crawl(row[0]) if row else None

    def _close(self, crawl_id: str, now: datetime) -> None:
        self.con.execute(
            "UPDATE frontier_crawls SET finished_at = ? WHERE crawl_id = ?", [now, crawl_id]
        )

    def _existing_urls(self, urls: list[str]) -> set[str]:
        if not urls:
            return set()
        with self._registered("probe", pa.table({"url": pa.array(urls, pa.string())})):
            rows = self.con.execute("SELECT url FROM pages JOIN probe USING (url)").fetchall()
        return {row[0] for row in rows}

    def _primaries(self, study_ids: set[str]) -> dict[str, str]:
        """study id -> the URL we fetch it under, for ids already known."""
        if not study_ids:
            return {}
        table = pa.table({"study_id": pa.array(sorted(study_ids), pa.string())})
        with self._registered("ids", table):
            rows = self.con.execute(
                "SELECT study_id, min(url) FROM pages JOIN ids USING (study_id)"
                " WHERE alias_of IS NULL GROUP BY study_id"
            ).fetchall()
        return dict(rows)

    def _known(self, urls: list[str]) -> dict[str, PageState]:
        with self._registered("probe", pa.table({"url": pa.array(urls, pa.string())})):
            rows = self.con.execute(
                "SELECT url, revisit_seconds, failures, etag, last_modified, content_sha256,"
                " signature, signature_parser FROM pages JOIN probe USING (url)"
            ).fetchall()
        return {
            url: PageState(
                revisit_seconds=interval,
                failures=failures,
                etag=etag,
                last_modified=modified,
                content_sha256=sha256,
                signature=Signature(digest, parser) if digest else None,
            )
            for url, interval, failures, etag, modified, sha256, digest, parser in rows
        }


# The due predicate; parameters: stale-claim cutoff, crawl id, full flag, now.
_DUE_IGNORING_CLAIMS = (
    "alias_of IS NULL AND last_crawl_id IS DISTINCT FROM ? AND (? OR next_visit_at <= ?)"
)
_DUE = f"(claimed_by IS NULL OR claimed_at < ?) AND {_DUE_IGNORING_CLAIMS}"

# Pages a budgeted run may visit ahead of their time: unclaimed, not visited in this crawl, not due
# yet (what is due goes through `due`), and last read so there is an estimate to rank by.
# Parameters: stale-claim cutoff, crawl id, now.
_AHEAD = (
    "(claimed_by IS NULL OR claimed_at < ?) AND alias_of IS NULL"
    " AND last_crawl_id IS DISTINCT FROM ? AND next_visit_at > ?"
    " AND judged_at IS NOT NULL AND last_outcome IN ('new', 'changed', 'unchanged')"
)

# The least estimated P(changed) for which a budgeted run spends a request ahead of a page's due
# time; an unspent request costs nothing, whereas a wasted one is a request the polite rate could
# have given the site back. For a page never seen changing the estimate is only the benefit of the
# doubt (`schedule.UNSEEN_CHANGES`: half a change over its history), an upper bound, and the bar
# is 1 in 20: such a page is revisited ahead at most every tenth of its history, so a quiet site
# is read less and less. For a page seen changing `CHANGES_FOR_THE_LOW_FLOOR` times the estimate
# is its own record, and the bar is 1 in 100, so that slow pages known to change are not left to
# their growing intervals: with one bar of 1 in 20 for all, the crawler's lead over a daily
# revisit of everything shrank as the histories grew (bench/RESULTS.md, six simulated weeks).
# Twice, not once: one change may be a one-off (a correction; a template or parser change that
# every page shows once), and one that every page shows would lower every page's bar for good.
SPEND_AHEAD_FLOOR = 0.05
SPEND_AHEAD_FLOOR_SEEN_CHANGING = 0.01
CHANGES_FOR_THE_LOW_FLOOR = 2
_AHEAD_FLOOR = (
    f"CASE WHEN observed_changes >= {CHANGES_FOR_THE_LOW_FLOOR}"
    f" THEN {SPEND_AHEAD_FLOOR_SEEN_CHANGING} ELSE {SPEND_AHEAD_FLOOR} END"
)


# The visit history the change-rate estimate reads (migration 007): a revisit judged changed or
# unchanged adds one visit, its change, and the time since the judged visit before it (one that
# could not be judged, `Visit.judged`, adds nothing, and the next counts from it).
_REVISIT = "v.judged AND v.outcome IN ('changed', 'unchanged') AND pages.judged_at IS NOT NULL"
_OBSERVED_HISTORY = (
    "observed_visits = coalesce(pages.observed_visits, 0)"
    f"   + CASE WHEN {_REVISIT} THEN 1 ELSE 0 END,"
    " observed_changes = coalesce(pages.observed_changes, 0)"
    f"   + CASE WHEN {_REVISIT} AND v.outcome = 'changed' THEN 1 ELSE 0 END,"
    " observed_seconds = coalesce(pages.observed_seconds, 0) + CASE WHEN"
    f"   {_REVISIT} THEN greatest(epoch(v.fetched_at) - epoch(pages.judged_at), 0) ELSE 0 END,"
    " judged_at = CASE WHEN v.outcome IN ('new', 'changed', 'unchanged') THEN v.fetched_at"
    "   ELSE pages.judged_at END"
)


def _new_crawl_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
