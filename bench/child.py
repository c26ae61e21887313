"""One measured job in a fresh process: a crawl or a reparse through the real Prefect flow.

    python -m bench.child crawl --base-url URL --db PATH --batch-size N --concurrency N [--full]
    python -m bench.child reparse --db PATH --batch-size N

Prints one JSON object on its last stdout line: the flow's wall time, its flow run id, the final
state, the run's own numbers and peak memory. Peak RSS is each process's VmHWM (the high-water
mark of its own address space): `wait4`/`getrusage` would not do, because a process started by
fork+exec inherits the high-water mark of its parent's memory at exec time, and the bench parent
holds a whole replica. Dask workers (`--workers` above 1, `--parse-workers` above 0) are sampled
from /proc while they live.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

# Politeness lifted for loopback: a rate no limiter will wait for.
UNLIMITED_RATE = 1_000_000.0


def crawl_job(args: argparse.Namespace) -> dict[str, Any]:
    from scraper.flows import run_crawl  # noqa: PLC0415  # import time is not the flow's time

    if args.workers > 1:
        importlib.import_module("scraper.flows.scaleout")  # Dask's import, not the flow's time
    started = time.perf_counter()
    state: Any = run_crawl(
        base_url=args.base_url,
        db=args.db,
        concurrency=args.concurrency,
        rate=UNLIMITED_RATE,
        batch_size=args.batch_size,
        full=args.full,
        workers=args.workers,
        db_memory_limit=args.db_memory_limit,
    )
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "seconds": seconds,
        "completed": state.is_completed(),
        "message": str(state.message or "")[:300],
        "flow_run_id": str(state.state_details.flow_run_id),
    }
    if state.is_completed():
        summary = state.result().summary
        out |= {
            "pages": summary.pages_fetched,
            "bytes": summary.bytes_received,
            "requests": summary.requests,
            "not_modified": summary.pages_not_modified,
            "failed": summary.pages_failed,
            "run_seconds": summary.duration_s,
        }
    return out


def reparse_job(args: argparse.Namespace) -> dict[str, Any]:
    from scraper.flows import run_reparse  # noqa: PLC0415

    if args.parse_workers:
        importlib.import_module("scraper.flows.scaleout")  # Dask's import, not the flow's time
    started = time.perf_counter()
    state: Any = run_reparse(
        db=args.db, batch_size=args.batch_size, parse_workers=args.parse_workers
    )
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "seconds": seconds,
        "completed": state.is_completed(),
        "message": str(state.message or "")[:300],
        "flow_run_id": str(state.state_details.flow_run_id),
    }
    if state.is_completed():
        out["pages"] = state.result()["pages"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    jobs = parser.add_subparsers(dest="job", required=True)
    crawl = jobs.add_parser("crawl")
    crawl.add_argument("--base-url", required=True)
    crawl.add_argument("--db", required=True)
    crawl.add_argument("--batch-size", type=int, required=True)
    crawl.add_argument("--concurrency", type=int, required=True)
    crawl.add_argument("--full", action="store_true")
    crawl.add_argument("--workers", type=int, default=0)
    crawl.add_argument("--db-memory-limit")
    reparse = jobs.add_parser("reparse")
    reparse.add_argument("--db", required=True)
    reparse.add_argument("--batch-size", type=int, required=True)
    reparse.add_argument("--parse-workers", type=int, default=0)
    args = parser.parse_args()
    sampler = WorkerPeaks()
    sampler.start()
    try:
        result = crawl_job(args) if args.job == "crawl" else reparse_job(args)
    finally:
        sampler.stop()
    result["peak_rss_bytes"] = high_water_mark(os.getpid())
    result["workers_peak_rss_bytes"] = sum(sampler.peaks.values())
    print(json.dumps(result), flush=True)


SAMPLE_EVERY_S = 0.25


def high_water_mark(pid: int) -> int:
    """VmHWM of a live process, in bytes (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class WorkerPeaks(threading.Thread):
    """The peak of each child process (Dask workers), read from /proc while it lives."""

    def __init__(self) -> None:
        super().__init__(name="worker-peaks", daemon=True)
        self.peaks: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_EVERY_S):
            for pid in _children():
                self.peaks[pid] = max(self.peaks.get(pid, 0), high_water_mark(pid))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


if __name__ == "__main__":
    main()
