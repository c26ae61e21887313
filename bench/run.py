"""The bench: serve a replica, run the real flows in child processes, compare with floors.

    make bench                         full: a 10,000-study replica, then 50,000 for memory
    uv run python -m bench --quick     1,000 and 5,000: a couple of minutes, for trying things
    uv run python -m bench --write bench/RESULTS.md

Order of a run (each flow in its own process, all reporting to one local Prefect server):

    replica (N studies) -> exported to files -> nginx on 127.0.0.1
      1. crawl flow, politeness lifted         (a) pages/s   (d) peak RSS at N   (e) task runs
      2. floor: httpx + parse_study of the URLs that crawl fetched with 200
      3. crawl flow again, full, site unchanged (c) bytes and time against 1.
      4. the floor of 2. again (the faster of the two counts)
      5. reparse flow from the WARC archive    (b) pages/s
      6. floor: parse_study of the same archived bodies, in memory (twice, the faster counts)
    replica (5 x N studies) -> nginx
      7. crawl flow                             (d) peak RSS at 5 x N

The machine is shared: other work running at the same time slows whatever it overlaps. Floors
are taken twice and the faster kept, so a busy moment cannot flatter a ratio; the load averages
before and after are printed with the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ArgumentParser, floors, machine, report
from bench.prefect_api import count_task_runs, prefect_env, prefect_server
from bench.server import Served, free_port, serve
from replica import Replica

REPO = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 1800.0  # one flow; a hung crawl must not hold the bench forever


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What one bench run does. The crawl's knobs are flow parameters, not changed defaults."""

    pages: int  # studies in the main replica (it has about as many other pages besides)
    big_pages: int  # studies in the replica of the memory check
    concurrency: int = 8  # requests in flight, for the flow and its floor alike
    # Pages per crawl task: 10 tasks per 10,000 pages. Each task costs ~40 ms of Prefect (task
    # run, states, progress artifact): at 500 that was a tenth of an unchanged site's recrawl.
    batch_size: int = 1000
    # Dask workers that fetch and parse the shards of each round (the scale-out flow); 0 or 1:
    # the plain crawl flow in one process.
    workers: int = 2
    # DuckDB's block cache for the crawl: uncapped it keeps most of the warehouse in memory and
    # (d) would measure the database's size, not the crawler's. The writer needs little: the
    # blocks it writes are what fills the cache (~40 MB at 10,000 studies, ~140 at 50,000).
    db_memory_limit: str = "128MB"
    reparse_batch_size: int = 1000  # pages per reparse task
    reparse_workers: int = 2  # Dask workers that read and parse the archive; the flow only loads
    seed: int = 7
    use_nginx: bool = True
    install: bool = True  # apt-get install nginx when it is missing (root only)


QUICK = {"pages": 1000, "big_pages": 5000}
FULL = {"pages": 10_000, "big_pages": 50_000}


@dataclass(frozen=True, slots=True)
class Job:
    """A child process's result: its JSON line and its peak RSS."""

    data: dict[str, Any]
    wall_seconds: float

    @property
    def seconds(self) -> float:
        return float(self.data["seconds"])

    @property
    def pages(self) -> int:
        return int(self.data.get("pages", 0))

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def peak_rss_bytes(self) -> int:
        return int(self.data.get("peak_rss_bytes", 0))

    @property
    def workers_peak_rss_bytes(self) -> int:
        return int(self.data.get("workers_peak_rss_bytes", 0))


@dataclass(slots=True)
class Results:
    settings: Settings
    served: Served | None = None
    big_served: Served | None = None
    replica_pages: int = 0
    big_replica_pages: int = 0
    crawl: Job | None = None
    fetch_floor: floors.Floor | None = None  # the faster of `fetch_floors`
    fetch_floors: tuple[floors.Floor, ...] = ()
    recrawl: Job | None = None
    reparse: Job | None = None
    parse_floor: floors.Floor | None = None  # the faster of `parse_floors`
    parse_floors: tuple[floors.Floor, ...] = ()
    load_before: str = ""  # 1, 5 and 15 minute load averages when the bench started and ended
    load_after: str = ""
    big_crawl: Job | None = None
    task_runs: dict[str, int] = field(default_factory=dict)
    total_seconds: float = 0.0


def run(settings: Settings, workdir: Path) -> Results:
    results = Results(settings)
    results.load_before = _load_average()
    started = time.perf_counter()
    home = workdir / "prefect"
    with prefect_server(home, free_port()) as api_url:
        env = prefect_env(home, api_url)
        _main_site(settings, workdir, env, results)
        _big_site(settings, workdir, env, results)
        os.environ |= {"PREFECT_API_URL": api_url, "PREFECT_HOME": str(home)}
        assert results.crawl is not None
        results.task_runs = count_task_runs(results.crawl.data["flow_run_id"])
    results.total_seconds = time.perf_counter() - started
    results.load_after = _load_average()
    return results


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _main_site(settings: Settings, workdir: Path, env: dict[str, str], out: Results) -> None:
    db_path = workdir / "main.duckdb"
    replica = _replica(settings.pages, settings.seed)
    out.replica_pages = len(replica.page_paths())
    with serve(
        replica, workdir / "main", use_nginx=settings.use_nginx, install=settings.install
    ) as served:
        out.served = served
        _say(f"crawl of {settings.pages} studies ({served.server})")
        out.crawl = _child(["crawl", *_crawl_args(settings, served, db_path)], env, workdir)
        urls = floors.fetched_urls(db_path)
        _say("floor: httpx + parse_study of the same URLs")
        first_floor = floors.fetch_and_parse(urls, settings.concurrency)
        _say("recrawl of the unchanged site")
        out.recrawl = _child(
            ["crawl", *_crawl_args(settings, served, db_path), "--full"], env, workdir
        )
        _say("floor again")
        second_floor = floors.fetch_and_parse(urls, settings.concurrency)
        # The faster of two floors: a busy moment during one does not flatter the crawl's ratio.
        out.fetch_floors = (first_floor, second_floor)
        out.fetch_floor = max(out.fetch_floors, key=lambda floor: floor.rate)
    _say("reparse from the archive")
    out.reparse = _child(
        [
            "reparse",
            "--db",
            str(db_path),
            "--batch-size",
            str(settings.reparse_batch_size),
            "--parse-workers",
            str(settings.reparse_workers),
        ],
        env,
        workdir,
    )
    _say("floor: parse_study of the same archived bodies (twice)")
    bodies = floors.archived_bodies(db_path)
    out.parse_floors = (floors.parse_only(bodies), floors.parse_only(bodies))
    out.parse_floor = max(out.parse_floors, key=lambda floor: floor.rate)


def _big_site(settings: Settings, workdir: Path, env: dict[str, str], out: Results) -> None:
    replica = _replica(settings.big_pages, settings.seed)
    out.big_replica_pages = len(replica.page_paths())
    with serve(
        replica, workdir / "big", use_nginx=settings.use_nginx, install=settings.install
    ) as served:
        out.big_served = served
        _say(f"crawl of {settings.big_pages} studies, for memory")
        db_path = workdir / "big.duckdb"
        out.big_crawl = _child(["crawl", *_crawl_args(settings, served, db_path)], env, workdir)


def _replica(pages: int, seed: int) -> Replica:
    _say(f"building a replica of {pages} studies")
    return Replica(pages=pages, seed=seed)


def _crawl_args(settings: Settings, served: Served, db_path: Path) -> list[str]:
    return [
        "--base-url",
        served.base_url,
        "--db",
        str(db_path),
        "--batch-size",
        str(settings.batch_size),
        "--concurrency",
        str(settings.concurrency),
        "--workers",
        str(settings.workers),
        "--db-memory-limit",
        settings.db_memory_limit,
    ]


def _child(args: list[str], env: dict[str, str], workdir: Path) -> Job:
    """Run `python -m bench.child ARGS`; its last stdout line is JSON (with its peak RSS)."""
    log = workdir / f"child-{args[0]}-{time.monotonic_ns()}.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.child", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        status = _wait(process)
    wall = time.perf_counter() - started
    lines = log.read_text(errors="replace").strip().splitlines()
    if status != 0 or not lines or not lines[-1].startswith("{"):
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"bench child {args[0]} failed (exit {status}):\n{tail}")
    data = json.loads(lines[-1])
    if not data.get("completed"):
        raise RuntimeError(f"bench child {args[0]}: the flow did not complete: {data['message']}")
    _say(f"  {args[0]}: {data.get('pages', 0)} pages in {data['seconds']:.1f}s")
    return Job(data=data, wall_seconds=wall)


def _wait(process: subprocess.Popen[bytes]) -> int:
    """Exit code of the child, killing it past the deadline."""
    try:
        return process.wait(CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 studies (5,000 for memory)")
    parser.add_argument("--pages", type=int, help="studies in the main replica")
    parser.add_argument("--big-pages", type=int, help="studies in the memory-check replica")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, default=2, help="Dask workers of the crawl (0 or 1: in-process)"
    )
    parser.add_argument(
        "--reparse-workers", type=int, default=2, help="Dask workers of the reparse (0: a thread)"
    )
    parser.add_argument("--db-memory-limit", default="128MB", help="DuckDB cache of the crawl")
    parser.add_argument("--no-nginx", action="store_true", help="serve with the replica server")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install nginx")
    parser.add_argument("--write", type=Path, help="also write the report to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--readers",
        action="store_true",
        help="only the readers bench (bench/readers.py): --pages studies (default 100), --rate",
    )
    parser.add_argument("--rate", type=float, default=2.0, help="the readers bench's crawl rate")
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="readers bench: a reader also holds the file this many seconds (--pages default 400)",
    )
    parser.add_argument(
        "--hold-after", type=float, default=30.0, help="readers bench: when the hold starts (s)"
    )
    parser.add_argument(
        "--startup", action="store_true", help="only where a crawl's start-up seconds go"
    )
    args = parser.parse_args(argv)
    if args.readers:
        from bench import readers  # noqa: PLC0415  # the readers bench alone needs no Prefect

        if args.hold > 0:
            print(readers.run_hold(args.pages or 400, args.rate, args.hold, args.hold_after))
        else:
            print(readers.run(args.pages or 100, args.rate))
        return 0
    if args.startup:
        from bench import startup  # noqa: PLC0415  # a bench of its own

        return startup.main()
    sizes = QUICK if args.quick else FULL
    settings = Settings(
        pages=args.pages or sizes["pages"],
        big_pages=args.big_pages or sizes["big_pages"],
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        workers=args.workers,
        reparse_workers=args.reparse_workers,
        db_memory_limit=args.db_memory_limit,
        use_nginx=not args.no_nginx,
        install=not args.no_install,
    )
    # SIGTERM unwinds like Ctrl-C: nginx, the Prefect server and the work directory are cleaned up.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    workdir = Path(tempfile.mkdtemp(prefix="scraper-bench-"))
    workdir.chmod(0o755)  # nginx workers (an unprivileged user under root) read the export
    _say(f"work directory {workdir}")
    try:
        results = run(settings, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    server = results.served.server if results.served else "none"
    text = report.render(results, machine.describe(server))
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0
