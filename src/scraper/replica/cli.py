"""`scraper replica ...`: serve the synthetic site from the command line.

`replica_app` is a typer sub-app; `scraper.cli` mounts it as `replica`. While `serve` runs, another
process can advance time with `POST /_replica/advance?days=N` (or read a page's ground truth with
`GET /_replica/truth?path=/research/...`).
"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Annotated, NoReturn

import typer

from scraper.replica.server import ReplicaServer, ReplicaServerError
from scraper.replica.site import Replica, ReplicaError

DEFAULT_PORT = 8765  # a fixed default so a second terminal knows where to look
DEFAULT_PAGES = 60  # enough for every forced variant (40) plus a spread at real frequencies
DEFAULT_SEED = 7
MAX_PORT = 65535

replica_app = typer.Typer(
    name="replica",
    help="The synthetic replica of the research site (tests, demo, benchmarks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@replica_app.callback()
def replica_root() -> None:
    """The synthetic replica of the research site (tests, demo, benchmarks)."""


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"scraper replica: error: {message}", err=True)
    raise typer.Exit(code)


@replica_app.command("serve")
def serve(
    port: Annotated[
        int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")
    ] = DEFAULT_PORT,
    pages: Annotated[int, typer.Option(help="Number of studies in the world.")] = DEFAULT_PAGES,
    seed: Annotated[
        int, typer.Option(help="Seed: the same seed gives the same site.")
    ] = DEFAULT_SEED,
    crawl_delay: Annotated[
        float | None, typer.Option(help="Crawl-delay for robots.txt (seconds).")
    ] = None,
    disallow: Annotated[
        list[str] | None, typer.Option(help="A Disallow rule for robots.txt (repeatable).")
    ] = None,
) -> None:
    """Serve a deterministic synthetic site on 127.0.0.1 until Ctrl-C."""
    if not 0 <= port <= MAX_PORT:
        _fail(f"--port must be between 0 and {MAX_PORT}, got {port}")
    if crawl_delay is not None and crawl_delay < 0:
        _fail(f"--crawl-delay must not be negative, got {crawl_delay}")
    try:
        replica = Replica(pages, seed, disallow=disallow or (), crawl_delay=crawl_delay)
        server = ReplicaServer(replica, port=port)
        server.start()
    except (ReplicaError, ReplicaServerError) as exc:
        _fail(str(exc))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops as cleanly as Ctrl-C
    typer.echo(server.base_url)
    typer.echo(
        f"{len(replica.study_paths())} study pages (seed {seed}); "
        f"POST {server.base_url}/_replica/advance?days=N moves time; Ctrl-C stops.",
        err=True,
    )
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    finally:
        server.stop()


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt
