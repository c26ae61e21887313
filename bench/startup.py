"""`python -m bench --startup`: where the seconds before a crawl's first request go.

Each figure is the best of `--repeat` runs in fresh processes (start-up is what a new process
pays): importing the CLI, importing Prefect and the flows, starting Prefect's ephemeral server,
opening (and migrating) the warehouse, and a whole `scraper crawl --max-pages 1` against the
replica on loopback, timed from the process's spawn to the first request the replica saw (the
CLI's reachability probe or the crawl's own robots.txt) and to the first study page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from replica import Replica, ReplicaServer

_SNIPPETS = {
    "import scraper.cli (`scraper --help`)": "import scraper.cli",
    "import prefect + scraper.flows": "import scraper.flows",
    "ephemeral Prefect server start": (
        "from scraper.flow_cli import prefect_settings; prefect_settings(verbose=False);"
        " from scraper.children import start_ephemeral_server; start_ephemeral_server()"
    ),
}


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    return env


def _python(code: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return time.monotonic() - started


def _open(db_path: Path, env: dict[str, str]) -> float:
    """Seconds to open an existing warehouse as its writer (migrations checked), in-process
    time only (the import is measured above)."""
    code = (
        "import sys, time; from scraper import db; t = time.monotonic();"
        f" db.connect({str(db_path)!r}).close(); print(time.monotonic() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(done.stdout.strip())


def _crawl(server: ReplicaServer, db_path: Path, env: dict[str, str]) -> dict[str, float]:
    server.clear_log()
    command = [sys.executable, "-c", "from scraper.cli import main; main()", "crawl"]
    args = ["--db", str(db_path), "--base-url", server.base_url, "--max-pages", "1", "--full"]
    started = time.monotonic()  # CLOCK_MONOTONIC: the same clock as the replica's log
    done = subprocess.run(
        [*command, *args, "--rate", "100"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scraper crawl failed ({done.returncode}): {done.stderr[-2000:]}")
    ended = time.monotonic()
    requests = server.request_log
    first = min(r.at for r in requests)
    page = min(r.at for r in requests if r.path.startswith("/research/"))
    return {
        "spawn -> first request": first - started,
        "spawn -> first study page": page - started,
        "whole `scraper crawl --max-pages 1`": ended - started,
    }


def measure(repeat: int = 3) -> dict[str, float]:
    """The best of `repeat` runs of each figure, in seconds."""
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(seconds, best.get(name, seconds))

    with tempfile.TemporaryDirectory(prefix="scraper-startup-") as work:
        env = _env(Path(work) / "prefect")
        db_path = Path(work) / "w.duckdb"
        with ReplicaServer(Replica(pages=20, seed=3)) as server:
            for _ in range(repeat):
                for name, code in _SNIPPETS.items():
                    keep(name, _python(code, env))
                for name, seconds in _crawl(server, db_path, env).items():
                    keep(name, seconds)
                keep("open the warehouse as writer (migrations checked)", _open(db_path, env))
    return best


def report(best: dict[str, float]) -> str:
    lines = ["| step (best of runs, fresh process) | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in best.items()]
    return "\n".join(lines)


def main(repeat: int = 3) -> int:
    print(report(measure(repeat)))
    return 0
