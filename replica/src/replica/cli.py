"""`scraper replica ...`: serve the synthetic site from the command line.

`replica_app` is a typer sub-app; `scraper.replica_cli` mounts it as `scraper replica`, importing
it only when one of its commands runs. While `serve` runs, another process can advance time with
`POST /_replica/advance?days=N` (or read a page's ground truth with
`GET /_replica/truth?path=/research/...`).
"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Annotated, NoReturn

import typer

from replica.faults import DEFAULT_SLOW_S, FaultPlan, FaultPlanError, parse_kinds
from replica.live import PROFILES, VALIDATORS
from replica.server import ReplicaServer, ReplicaServerError
from replica.site import SITEMAP_MODES, Replica, ReplicaError

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
def serve(  # noqa: PLR0917  # typer passes options by keyword; this is the CLI's form
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
    faults: Annotated[
        float,
        typer.Option(
            help="Share of study-page requests that misbehave (0..1; 0 = fault mode off)."
        ),
    ] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault mode.")] = 0,
    fault_kinds: Annotated[
        str | None,
        typer.Option(help="Comma-separated fault kinds (default: every transient kind)."),
    ] = None,
    slow_s: Annotated[
        float, typer.Option(help="How late a `slow` fault answers (seconds).")
    ] = DEFAULT_SLOW_S,
    profile: Annotated[
        str,
        typer.Option(
            help="kind: stable bytes and validators; live: noisy 50-300 KB pages that change "
            "at per-study rates, as the live site."
        ),
    ] = "kind",
    validators: Annotated[
        str,
        typer.Option(
            help="Live profile: none, weak (W/ ETag over the noisy bytes, never 304) or "
            "strong (ETag over what a reader sees, 304 on If-None-Match)."
        ),
    ] = "strong",
    sitemap: Annotated[
        str,
        typer.Option(
            help="served, missing (robots.txt names none, /sitemap.xml is 404) or broken "
            "(/sitemap.xml is an HTML page)."
        ),
    ] = "served",
) -> None:
    """Serve a deterministic synthetic site on 127.0.0.1 until Ctrl-C."""
    if not 0 <= port <= MAX_PORT:
        _fail(f"--port must be between 0 and {MAX_PORT}, got {port}")
    if crawl_delay is not None and crawl_delay < 0:
        _fail(f"--crawl-delay must not be negative, got {crawl_delay}")
    if profile not in PROFILES:
        _fail(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if validators not in VALIDATORS:
        _fail(f"--validators must be one of {', '.join(VALIDATORS)}, got {validators!r}")
    if sitemap not in SITEMAP_MODES:
        _fail(f"--sitemap must be one of {', '.join(SITEMAP_MODES)}, got {sitemap!r}")
    try:
        plan = _fault_plan(faults, fault_seed, fault_kinds, slow_s)
        replica = Replica(
            pages,
            seed,
            disallow=disallow or (),
            crawl_delay=crawl_delay,
            faults=plan,
            profile=profile,
            validators=validators,
            sitemap=sitemap,  # narrowed by the SITEMAP_MODES check above
        )
        server = ReplicaServer(replica, port=port)
        server.start()
    except (ReplicaError, ReplicaServerError, FaultPlanError) as exc:
        _fail(str(exc))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops as cleanly as Ctrl-C
    typer.echo(server.base_url)
    typer.echo(
        f"{len(replica.study_paths())} study pages (seed {seed}; profile {profile}"
        + (f"; faults at rate {plan.rate}: {', '.join(plan.kinds)}" if plan else "")
        + f"); POST {server.base_url}/_replica/advance?days=N moves time; Ctrl-C stops.",
        err=True,
    )
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    finally:
        server.stop()


def _fault_plan(rate: float, seed: int, kinds: str | None, slow_s: float) -> FaultPlan | None:
    if rate == 0 and kinds is None:
        return None
    if kinds is None:
        return FaultPlan(rate=rate, seed=seed, slow_s=slow_s)
    return FaultPlan(rate=rate, seed=seed, kinds=parse_kinds(kinds), slow_s=slow_s)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt
