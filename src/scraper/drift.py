"""Layout drift: how often each field is found, against earlier runs, and what a drop protects.

The site can change its layout under the parser; the parser then returns nulls (plus warnings),
never wrong values. A run measures each Contract 1 field's coverage (`field_coverage`: the share
of study pages on which it was found), compares it as the run goes with the mean of recent
completed runs (`baseline_coverage`, `DriftGuard`), and a field that falls by more than
`DEFAULT_MAX_COVERAGE_DROP` has drifted (`drifted_fields`) -- judged once `MIN_PAGES_FOR_DRIFT`
study pages were read, on the upper confidence bound of the coverage (`coverage_upper_bound`).
From then on the field is protected: the loader keeps its last good value instead of the empty
new one (`merge_protected`), and the run ends failed, naming the fields, so that a fixed parser
can `reparse` the archive. Each run's coverage is stored (`record_coverage`) to serve as a later
run's baseline; a run after one that failed on drift protects the same fields from its first page
(`inherited_drift`) until its own sample shows them back.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from scraper.db import registered
from scraper.records import LoadItem, StudyPage

# Completed runs averaged into the coverage baseline: enough to smooth one odd run, few enough
# that a deliberate site change becomes the new normal within a week of daily crawls.
DEFAULT_BASELINE_RUNS = 5
# A field whose coverage falls by more than this (absolute share of pages) against the baseline
# counts as drifted: a real site-wide change, not the few pages that lack the field anyway.
DEFAULT_MAX_COVERAGE_DROP = 0.25
# A drift verdict needs enough pages that a field missing on a few of them (as many legitimately
# are) cannot look like a site-wide change: a run stopped after a dozen pages judged none. At 30
# pages a field found on none of them is still plainly drifted against a baseline above 36%.
MIN_PAGES_FOR_DRIFT = 30
# The coverage judged is the upper end of its 95% confidence interval (Wilson score), not the raw
# share: a field counts as drifted only when even that falls more than the allowed drop, so a
# small or unlucky sample does not raise the alarm.
CONFIDENCE_Z = 1.96

# Fields whose last good value `protect_fields` can keep (Contract 1 content fields).
PROTECTABLE_FIELDS = frozenset(
    {
        "title",
        "published",
        "venue",
        "authors",
        "image_url",
        "tldr",
        "summary",
        "discussion_url",
        "source_url",
        "source_host",
        "sections",
        "cited_research",
        "related_research",
        "community_posts",
    }
)
# Fields measured by `field_coverage`: every Contract 1 field a page can lack.
COVERAGE_FIELDS: tuple[str, ...] = ("url", "study_id", *sorted(PROTECTABLE_FIELDS))

_COVERAGE_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("field", pa.string()),
        ("coverage", pa.float64()),
        ("pages", pa.int64()),
    ]
)


@dataclass(slots=True)
class DriftGuard:
    """Field coverage of this run so far against recent runs."""

    baseline: dict[str, float]
    max_drop: float = DEFAULT_MAX_COVERAGE_DROP
    pages: int = 0
    found: Counter[str] = field(default_factory=Counter)
    drifted: dict[str, tuple[float, float]] = field(default_factory=dict)
    # What the last run ended drifted on (`inherited_drift`): protected from this run's first
    # page, since a run an hour after a layout break would otherwise load its first
    # `MIN_PAGES_FOR_DRIFT` pages' nulls over good values, until its own sample clears a field.
    inherited: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.drifted.update(self.inherited)

    def observe(self, records: Sequence[StudyPage]) -> tuple[str, ...]:
        """Take in a batch's study records; returns the fields to protect while loading it."""
        studies = [r for r in records if r.page_kind == "study"]
        coverage = field_coverage(studies)
        self.found.update({name: round(share * len(studies)) for name, share in coverage.items()})
        self.pages += len(studies)
        if self.baseline and self.pages >= MIN_PAGES_FOR_DRIFT:
            current = self.coverage()
            bounds = {
                name: coverage_upper_bound(share, self.pages) for name, share in current.items()
            }
            fallen = drifted_fields(bounds, self.baseline, max_drop=self.max_drop)
            for name in [n for n in self.inherited if n not in fallen]:  # the layout is back
                del self.inherited[name]
                del self.drifted[name]
            self.drifted.update({name: (self.baseline[name], current[name]) for name in fallen})
        return tuple(sorted(name for name in self.drifted if name in PROTECTABLE_FIELDS))

    def coverage(self) -> dict[str, float]:
        if not self.pages:
            return {}
        return {name: self.found[name] / self.pages for name in COVERAGE_FIELDS}


def coverage_upper_bound(share: float, pages: int, z: float = CONFIDENCE_Z) -> float:
    """The upper end of the Wilson score interval of a coverage `share` seen on `pages` pages:
    the highest true coverage the sample does not rule out."""
    if pages <= 0:
        return 1.0
    spread = z * z / pages
    centre = share + spread / 2
    margin = z * math.sqrt(share * (1 - share) / pages + spread / (4 * pages))
    return min(1.0, (centre + margin) / (1 + spread))


def field_coverage(pages: Iterable[StudyPage | LoadItem]) -> dict[str, float]:
    """Share of study pages (0..1) on which each Contract 1 field is non-null and non-empty.

    Empty when there is no study page: nothing to compare.
    """
    records = [p.page if isinstance(p, LoadItem) else p for p in pages]
    studies = [r for r in records if r.page_kind == "study"]
    if not studies:
        return {}
    return {
        name: sum(not is_empty(getattr(r, name)) for r in studies) / len(studies)
        for name in COVERAGE_FIELDS
    }


def record_coverage(
    con: duckdb.DuckDBPyConnection, run_id: int, coverage: Mapping[str, float], pages: int
) -> None:
    """Store a run's field coverage (replacing what the run stored before)."""
    rows = [
        {"run_id": run_id, "field": f, "coverage": c, "pages": pages} for f, c in coverage.items()
    ]
    table = pa.Table.from_pylist(rows, schema=_COVERAGE_SCHEMA)
    with registered(con, {"stage_coverage": table}):
        con.execute(
            "INSERT INTO run_field_coverage BY NAME SELECT * FROM stage_coverage"
            " ON CONFLICT (run_id, field) DO UPDATE SET"
            " coverage = excluded.coverage, pages = excluded.pages"
        )


def baseline_coverage(
    con: duckdb.DuckDBPyConnection,
    *,
    before_run: int | None = None,
    runs: int = DEFAULT_BASELINE_RUNS,
) -> dict[str, float]:
    """Mean coverage per field over the last `runs` completed runs (before `before_run`)."""
    rows = con.execute(
        """
        WITH recent AS (
            SELECT run_id FROM crawl_runs
            WHERE status = 'completed' AND ($before IS NULL OR run_id < $before)
              AND run_id IN (SELECT run_id FROM run_field_coverage)
            ORDER BY run_id DESC LIMIT $runs
        )
        SELECT field, avg(coverage) FROM run_field_coverage
        WHERE run_id IN (SELECT run_id FROM recent) GROUP BY field
        """,
        {"before": before_run, "runs": runs},
    ).fetchall()
    return {field: float(value) for field, value in rows}


def inherited_drift(
    con: duckdb.DuckDBPyConnection,
    baseline: Mapping[str, float],
    *,
    before_run: int,
    max_drop: float = DEFAULT_MAX_COVERAGE_DROP,
) -> dict[str, tuple[float, float]]:
    """The fields the last run with a coverage (before `before_run`) ended drifted on, judged
    as it judged them: empty unless that run failed."""
    # fetchall, not fetchone: a result not read to its end keeps the connection busy.
    last = con.execute(
        "SELECT run_id, status FROM crawl_runs WHERE run_id < ?"
        " AND run_id IN (SELECT run_id FROM run_field_coverage) ORDER BY run_id DESC LIMIT 1",
        [before_run],
    ).fetchall()
    if not last or last[0][1] != "failed" or not baseline:
        return {}
    row = last[0]
    rows = con.execute(
        "SELECT field, coverage, pages FROM run_field_coverage WHERE run_id = ?", [row[0]]
    ).fetchall()
    if not rows or rows[0][2] < MIN_PAGES_FOR_DRIFT:
        return {}
    current = {name: float(share) for name, share, _ in rows}
    bounds = {name: coverage_upper_bound(share, rows[0][2]) for name, share in current.items()}
    fallen = drifted_fields(bounds, baseline, max_drop=max_drop)
    return {name: (baseline[name], current[name]) for name in fallen}


def drifted_fields(
    current: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    max_drop: float = DEFAULT_MAX_COVERAGE_DROP,
) -> dict[str, tuple[float, float]]:
    """Fields whose coverage fell by more than `max_drop`: field -> (baseline, current)."""
    return {
        name: (baseline[name], value)
        for name, value in current.items()
        if name in baseline and baseline[name] - value > max_drop
    }


def merge_protected(new: StudyPage, old: StudyPage, fields: Collection[str]) -> StudyPage:
    """`new`, with the `fields` it lacks and `old` had taken from `old` (their last good value)."""
    kept = {
        name: getattr(old, name)
        for name in fields
        if is_empty(getattr(new, name)) and not is_empty(getattr(old, name))
    }
    return dataclasses.replace(new, **kept) if kept else new


def is_empty(value: object) -> bool:
    """A field not found: None, or an empty text, list or mapping."""
    return value is None or (isinstance(value, str | tuple | dict | list) and len(value) == 0)
