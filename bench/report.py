"""The bench's output: each figure as a ratio against its floor or base, with the absolute numbers.

Markdown, so the same text goes to the terminal and to bench/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.run import Job, Results

MIB = 1024 * 1024
PAGES_PER_TASK_BASIS = 10_000  # (e) is stated per 10,000 pages


@dataclass(frozen=True, slots=True)
class Target:
    value: float
    at_least: bool  # True: ratio >= value passes; False: ratio <= value passes

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.at_least else ratio <= self.value

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.value:g}"


TARGETS = {
    "a": Target(0.7, at_least=True),
    "b": Target(0.8, at_least=True),
    "c_bytes": Target(0.05, at_least=False),
    "c_time": Target(0.3, at_least=False),
    "d": Target(1.2, at_least=False),
    "e": Target(100, at_least=False),
}


def render(results: Results, machine: dict[str, str]) -> str:
    rows = _rows(results)
    lines = [
        "# Bench results",
        "",
        _settings_line(results),
        "",
        "| figure | measured | against | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.name} | {row.measured} | {row.against} | {row.ratio:.3g} | {row.target} |"
        f" {'ok' if row.target.met(row.ratio) else 'MISSED'} |"
        for row in rows
    ]
    lines += ["", "Details:", ""]
    lines += [f"- {line}" for line in _details(results)]
    lines += ["", "Machine:", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    measured: str
    against: str
    ratio: float
    target: Target


def _rows(r: Results) -> list[_Row]:
    builders: list[Callable[[Results], _Row | None]] = [
        _crawl_row,
        _reparse_row,
        _recrawl_bytes_row,
        _recrawl_time_row,
        _memory_row,
        _tasks_row,
    ]
    return [row for build in builders if (row := build(r)) is not None]


def _crawl_row(r: Results) -> _Row | None:
    if r.crawl is None or r.fetch_floor is None:
        return None
    return _Row(
        "(a) crawl flow pages/s",
        f"{r.crawl.rate:.0f} ({r.crawl.pages} pages, {r.crawl.seconds:.1f} s)",
        f"fetch+parse floor {r.fetch_floor.rate:.0f} ({r.fetch_floor.seconds:.1f} s)",
        r.crawl.rate / r.fetch_floor.rate,
        TARGETS["a"],
    )


def _reparse_row(r: Results) -> _Row | None:
    if r.reparse is None or r.parse_floor is None:
        return None
    return _Row(
        "(b) reparse flow pages/s",
        f"{r.reparse.rate:.0f} ({r.reparse.pages} pages, {r.reparse.seconds:.1f} s)",
        f"parse floor {r.parse_floor.rate:.0f} ({r.parse_floor.seconds:.1f} s)",
        r.reparse.rate / r.parse_floor.rate,
        TARGETS["b"],
    )


def _recrawl_bytes_row(r: Results) -> _Row | None:
    if r.crawl is None or r.recrawl is None:
        return None
    first, again = int(r.crawl.data["bytes"]), int(r.recrawl.data["bytes"])
    return _Row(
        "(c) recrawl bytes",
        f"{again / MIB:.2f} MiB ({r.recrawl.data['not_modified']} answered 304)",
        f"first crawl {first / MIB:.1f} MiB",
        again / first,
        TARGETS["c_bytes"],
    )


def _recrawl_time_row(r: Results) -> _Row | None:
    if r.crawl is None or r.recrawl is None:
        return None
    return _Row(
        "(c) recrawl wall time",
        f"{r.recrawl.seconds:.1f} s ({r.recrawl.pages} pages)",
        f"first crawl {r.crawl.seconds:.1f} s",
        r.recrawl.seconds / r.crawl.seconds,
        TARGETS["c_time"],
    )


def _memory_row(r: Results) -> _Row | None:
    """Crawl process plus its Dask workers: all hold pages, all count."""
    if r.crawl is None or r.big_crawl is None:
        return None
    small = r.crawl.peak_rss_bytes + r.crawl.workers_peak_rss_bytes
    big = r.big_crawl.peak_rss_bytes + r.big_crawl.workers_peak_rss_bytes
    return _Row(
        "(d) peak RSS growth (crawl + Dask workers)",
        f"{big / MIB:.0f} MiB at {r.big_crawl.pages} pages ({_rss_split(r.big_crawl)})",
        f"{small / MIB:.0f} MiB at {r.crawl.pages} pages ({_rss_split(r.crawl)})",
        big / small,
        TARGETS["d"],
    )


def _rss_split(job: Job) -> str:
    return f"{job.peak_rss_bytes / MIB:.0f} + {job.workers_peak_rss_bytes / MIB:.0f}"


def _tasks_row(r: Results) -> _Row | None:
    if r.crawl is None or not r.task_runs or not r.crawl.pages:
        return None
    total = sum(r.task_runs.values())
    per_basis = total * PAGES_PER_TASK_BASIS / r.crawl.pages
    by_task = ", ".join(f"{name} {count}" for name, count in sorted(r.task_runs.items()))
    return _Row(
        "(e) Prefect task runs per 10k pages",
        f"{per_basis:.0f} ({total} for {r.crawl.pages} pages: {by_task})",
        "one per batch",
        per_basis,
        TARGETS["e"],
    )


def _settings_line(r: Results) -> str:
    s = r.settings
    return (
        f"Replica of {s.pages} studies ({r.replica_pages} pages in all) and {s.big_pages}"
        f" ({r.big_replica_pages}); concurrency {s.concurrency}, crawl batch {s.batch_size},"
        f" Dask workers {s.workers} (reparse {s.reparse_workers}),"
        f" DuckDB memory limit {s.db_memory_limit},"
        f" reparse batch {s.reparse_batch_size}, rate unlimited; whole bench"
        f" {r.total_seconds / 60:.1f} min."
    )


def _details(r: Results) -> list[str]:
    out: list[str] = []
    if r.served is not None:
        out.append(f"server: {r.served.server} ({r.served.note})")
        if r.served.export is not None:
            e = r.served.export
            out.append(
                f"static export: {e.pages} pages + {e.feeds} feeds, {e.bytes / MIB:.0f} MiB,"
                f" {r.served.export_seconds:.1f} s"
            )
    for name, job in (
        ("crawl", r.crawl),
        ("recrawl", r.recrawl),
        ("reparse", r.reparse),
        ("big crawl", r.big_crawl),
    ):
        if job is not None:
            extra = {k: v for k, v in job.data.items() if k not in ("completed", "flow_run_id")}
            out.append(
                f"{name}: peak RSS {job.peak_rss_bytes / MIB:.0f} MiB,"
                f" process wall {job.wall_seconds:.1f} s, {extra}"
            )
    if r.fetch_floor is not None:
        out.append(
            f"fetch+parse floor: {r.fetch_floor.pages} pages,"
            f" {r.fetch_floor.bytes / MIB:.1f} MiB on the wire; the faster of two runs"
            f" ({', '.join(f'{f.rate:.0f}' for f in r.fetch_floors)} pages/s)"
        )
    if r.parse_floor is not None:
        out.append(
            "parse floor: the faster of two runs"
            f" ({', '.join(f'{f.rate:.0f}' for f in r.parse_floors)} pages/s)"
        )
    out.append(f"load average (1, 5, 15 min): {r.load_before} at start, {r.load_after} at end")
    return out
