"""The commands that run Prefect flows: `scraper crawl`, `demo`, `reparse` and `serve`.

Prefect is imported only inside these commands (it takes seconds to import), after its settings
are given: analytics off, and its console logging quieted for interactive runs, where a progress
bar and a final summary say more. Without PREFECT_API_URL the flows run on Prefect's local
ephemeral server: no account, no cloud.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from scraper.budget import parse_duration, smallest_useful, worst_case_per_page
from scraper.children import start_ephemeral_server
from scraper.cli_errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    fail,
)
from scraper.config import CrawlConfig, default_user_agent
from scraper.replica_cli import replica_required
from scraper.urls import DEFAULT_SITE

# The demo lifts the politeness limits: it crawls our own replica on loopback, never a real site.
DEMO_RATE = 500.0
DEMO_CONCURRENCY = 8
DEMO_PAGES = 120
DEMO_SEED = 7
DEMO_QUERY_FILE = "most_cited_studies.sql"

DbOption = Annotated[Path, typer.Option("--db", help="The DuckDB warehouse file.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")]


def prefect_settings(*, verbose: bool) -> None:
    """Settings Prefect reads at import time; explicit environment values win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Without PREFECT_API_URL the flows run on an ephemeral server started in a subprocess; its
    # default start-up allowance (20 s) is too short on a loaded 2-core machine, and a timeout there
    # fails the whole run before its first request.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if not verbose:
        # The terminal only: the console handler's level. Prefect's own level stays INFO, so the
        # flow runs' INFO records (stats lines, batches) still reach the server and its UI.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    if not os.environ.get("PREFECT_API_URL"):
        _check_prefect_home(Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser())


def _check_prefect_home(home: Path) -> None:
    """The ephemeral server keeps its database in PREFECT_HOME; where it cannot, it fails over
    and over in the background for a minute, hundreds of lines, before the run gives up."""
    _check_directory(home, "PREFECT_HOME", create=True)


def _check_directory(directory: Path, what: str, *, create: bool = False) -> None:
    """One line and exit 1 now for a directory a run could not write into: inside the flow run
    the same error would end it with Prefect's traceback, after the site was already asked."""
    try:
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".scraper-probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        fail(f"{what} {directory} is not a writable directory: {exc.strerror or exc}", EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl_command)
    app.command("demo")(demo_command)
    app.command("reparse")(reparse_command)
    app.command("serve")(serve_command)


def crawl_command(  # noqa: PLR0917  # typer passes options by keyword; this is the CLI's form
    db_path: DbOption = Path("warehouse.duckdb"),
    base_url: Annotated[str, typer.Option(help="The site to crawl.")] = DEFAULT_SITE,
    max_pages: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many pages (resumable).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight per host.")] = 2,
    rate: Annotated[float, typer.Option(min=0.001, help="Requests per second per host.")] = 1.0,
    batch_size: Annotated[int, typer.Option(min=1, help="Pages per batch (one task).")] = 50,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Dask workers that fetch and parse shards of each round, sharing the host's rate"
            " and concurrency (for a site that allows more than one core keeps up with;"
            " 0 or 1: this process).",
        ),
    ] = 0,
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="Scheduler of a running Dask cluster for the --workers"
            " (default: a local cluster of --workers processes).",
        ),
    ] = None,
    full: Annotated[bool, typer.Option(help="Revisit every known page, due or not.")] = False,
    discover: Annotated[bool, typer.Option(help="Read robots.txt sitemaps first.")] = True,
    archive_dir: Annotated[
        Path | None,
        typer.Option(help="WARC directory.", show_default="<db>-warc beside the db"),
    ] = None,
    contact_url: Annotated[
        str | None,
        typer.Option(help="A page about you and this crawl, named in the User-Agent."),
    ] = None,
    seed_keyword: Annotated[
        list[str] | None,
        typer.Option(
            help="Read this keyword's research listings, page after page (repeatable; default:"
            " built-in keywords, read only when the site has no usable sitemap).",
        ),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            metavar="REQUESTS",
            help="HTTP requests this run may make (robots.txt, sitemaps, pages, retries,"
            " redirects); the run completes when they are spent, the rest stays due.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Crawl at most this long (8h, 90m, 1h30m, 45s, 2d): pages falling due meanwhile"
            " are fetched as they do; no page is claimed after it; the run ends early when"
            " nothing falls due before then.",
        ),
    ] = None,
    sweep: Annotated[
        bool,
        typer.Option(
            help="With --budget: once nothing is due or likely changed, spend what is left on the"
            " pages unread a day or more, longest unread first (--no-sweep: leave it unspent).",
        ),
    ] = True,
    verbose: VerboseOption = False,
) -> None:
    """Crawl the site (the live one by default, politely) into the warehouse via the flow."""
    requests_budget = _checked_budget(budget)
    _checked_until(until)
    config = _checked_config(base_url, rate, concurrency, batch_size)
    _check_budget_fetches_a_page(requests_budget, config)
    seed_keywords = _checked_keywords(seed_keyword)
    if workers > concurrency:
        fail(f"--workers {workers} is more than --concurrency {concurrency}: each needs a request")
    if dask_address is not None and workers < 2:
        fail("--dask-address needs --workers 2 or more: the shards of a round")
    _checked_contact_url(contact_url)
    if contact_url is not None:
        config = config.with_options(user_agent=default_user_agent(contact_url))
    _check_not_held(db_path)
    _check_writable(db_path)
    _check_archive_dir(archive_dir, db_path)
    reachable = _check_reachable_soon(config)
    prefect_settings(verbose=verbose)
    result = _run_crawl(
        ready=reachable,
        base_url=base_url,
        db=str(db_path),
        archive_dir=str(archive_dir) if archive_dir else None,
        max_pages=max_pages,
        concurrency=concurrency,
        rate=rate,
        batch_size=batch_size,
        discover_urls=discover,
        full=full,
        workers=workers,
        dask_address=dask_address,
        contact_url=contact_url,
        seed_keywords=seed_keywords,
        budget=requests_budget,
        until=until,
        sweep=sweep,
    )
    if result is not None:
        fail(result, EXIT_FAILED)


def _checked_keywords(keywords: list[str] | None) -> list[str] | None:
    """Keywords as the listing URLs spell them (`alopecia areata` -> `alopecia-areata`)."""
    if not keywords:
        return None
    cleaned = ["-".join(keyword.lower().split()) for keyword in keywords]
    for raw, keyword in zip(keywords, cleaned, strict=True):
        if not keyword or "/" in keyword or "?" in keyword or "#" in keyword:
            fail(f"--seed-keyword must be a word or words, not {raw!r}")
    return cleaned


def demo_command(
    db_path: DbOption = Path("demo.duckdb"),
    pages: Annotated[int, typer.Option(min=1, help="Studies in the replica.")] = DEMO_PAGES,
    seed: Annotated[int, typer.Option(help="The replica's seed.")] = DEMO_SEED,
    verbose: VerboseOption = False,
) -> None:
    """Serve the bundled replica on loopback, crawl it completely, and query the result."""
    with replica_required():
        from replica import Replica, ReplicaServer  # noqa: PLC0415  # optional package: load on use

    _check_directory(db_path.parent, "the --db directory")
    _replace_demo_warehouse(db_path)
    prefect_settings(verbose=verbose)
    with ReplicaServer(Replica(pages=pages, seed=seed)) as server:
        typer.echo(f"replica of {pages} studies serving at {server.base_url}", err=True)
        failure = _run_crawl(
            base_url=server.base_url,
            db=str(db_path),
            archive_dir=None,
            max_pages=None,
            concurrency=DEMO_CONCURRENCY,
            rate=DEMO_RATE,
            batch_size=50,
            discover_urls=True,
            full=False,
        )
    if failure is not None:
        fail(failure, EXIT_FAILED)
    typer.echo(f"\n-- warehouse/queries/{DEMO_QUERY_FILE}")
    typer.echo(demo_table(db_path))
    typer.echo(
        f"\nThe warehouse is {db_path.resolve()}. Query it with:\n"
        f'  uv run scraper sql "SELECT title, venue FROM studies LIMIT 5" --db {db_path}\n'
        f'  uv run scraper search "finasteride" --db {db_path}'
    )


def demo_table(db_path: Path) -> str:
    """The demo's closing query as a table as wide as COLUMNS or the terminal (160 without)."""
    from scraper import db, warehouse  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    query = (db.sql_dir() / "queries" / DEMO_QUERY_FILE).read_text(encoding="utf-8")
    width = shutil.get_terminal_size((warehouse.DEFAULT_TABLE_WIDTH, 24)).columns
    return warehouse.run_sql(db_path, query, "table", width=width)


def reparse_command(
    db_path: DbOption = Path("warehouse.duckdb"),
    archive_dir: Annotated[
        Path | None,
        typer.Option(help="WARC directory.", show_default="<db>-warc beside the db"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Dask workers that read and parse the archive (a LocalCluster); 0: a thread"
            " of this process.",
        ),
    ] = 0,
    verbose: VerboseOption = False,
) -> None:
    """Rebuild every record from the WARC archive with the current parser (no network)."""
    from scraper import db  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    if not db_path.exists():
        fail(db.missing_warehouse(db_path))
    if archive_dir is not None and not archive_dir.is_dir():  # read from, never created
        fail(f"no archive directory at {archive_dir}")
    _check_not_held(db_path)
    _check_writable(db_path)
    from scraper.spool import unloaded_message  # noqa: PLC0415  # pyarrow: on use

    if waiting := unloaded_message(db_path):
        fail(waiting)
    prefect_settings(verbose=verbose)
    from scraper.flows import run_reparse  # noqa: PLC0415  # Prefect loads only for flow commands

    archive = str(archive_dir) if archive_dir else None
    from scraper import progress  # noqa: PLC0415  # the HTTP stack's records: on use

    start_ephemeral_server()
    with progress.terminal_display("reparse") as display, progress.show_to(display):
        state: Any = run_reparse(db=str(db_path), archive_dir=archive, parse_workers=workers)
    if state.is_cancelled():
        _exit_cancelled(state)
    if not state.is_completed():
        fail(db.first_line(Exception(state.message or "the reparse failed")), EXIT_FAILED)
    typer.echo(state.message)


def serve_command(  # noqa: PLR0917  # typer passes options by keyword; this is the CLI's form
    db_path: DbOption = Path("warehouse.duckdb"),
    base_url: Annotated[str, typer.Option(help="The site to crawl.")] = DEFAULT_SITE,
    contact_url: Annotated[
        str | None,
        typer.Option(help="A page about you and this crawl, named in the User-Agent."),
    ] = None,
    rate: Annotated[float, typer.Option(min=0.001, help="Requests per second per host.")] = 1.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight per host.")] = 2,
    verbose: VerboseOption = False,
) -> None:
    """Serve the scheduled deployments (hourly incremental, weekly full) until stopped."""
    _checked_config(base_url, rate, concurrency, 1)
    _checked_contact_url(contact_url)
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo(_NO_SERVER_WARNING, err=True)
    prefect_settings(verbose=verbose)
    from prefect import serve  # noqa: PLC0415  # Prefect loads only for flow commands

    from scraper.flows.deployments import deployments  # noqa: PLC0415

    options = {"rate": rate, "concurrency": concurrency, "contact_url": contact_url}
    serve(*deployments(str(db_path.resolve()), base_url, **options))


_NO_SERVER_WARNING = (
    "scraper: warning: PREFECT_API_URL is unset: the schedules run on a private ephemeral server"
    " whose UI nobody sees; for a UI, run `uv run prefect server start` and"
    " export PREFECT_API_URL=http://127.0.0.1:4200/api"
)


def _checked_contact_url(contact_url: str | None) -> None:
    if contact_url is not None and urlsplit(contact_url).scheme not in ("http", "https"):
        fail(f"--contact-url must be an http(s) URL, not {contact_url!r}")


# --- helpers ----------------------------------------------------------------------------------
def _checked_config(base_url: str, rate: float, concurrency: int, batch_size: int) -> CrawlConfig:
    if not _is_site_url(base_url):
        fail(f"--base-url must be an http(s) URL with a host, not {base_url!r}")
    # click's range check lets nan and inf through; an infinite rate would mean no spacing at all
    if not math.isfinite(rate) or rate <= 0:
        fail(f"--rate must be a positive, finite number of requests per second, not {rate}")
    try:
        return CrawlConfig(
            base_url=base_url, rate=rate, concurrency=concurrency, batch_size=batch_size
        )
    except ValueError as exc:
        fail(str(exc))


def _checked_budget(text: str | None) -> int | None:
    """--budget as a whole number of requests (typer's int type would print a framed usage
    error; this is one line like every other refusal). How small is too small is
    `_check_budget_fetches_a_page`'s to say, with the least that fetches a page."""
    if text is None:
        return None
    value = text.strip().replace("_", "")
    if not value.isdigit():
        fail(f"--budget must be a whole number of requests, not {text!r}")
    return int(value)


def _check_budget_fetches_a_page(budget: int | None, config: CrawlConfig) -> None:
    """A budget too small for robots.txt, a sitemap and one page at their worst case would end
    every run having fetched nothing: refused, rather than a run that "completes" empty."""
    worst, least = worst_case_per_page(config), smallest_useful(config)
    if budget is not None and budget < least:
        fail(
            f"--budget {budget} cannot fetch a page: robots.txt, a sitemap and a page may take"
            f" {worst} requests each, and a page starts only while its own and a robots.txt"
            f" read's worst case fit; give at least {least}"
        )


def _checked_until(text: str | None) -> None:
    if text is None:
        return
    try:
        parse_duration(text)
    except ValueError as exc:
        fail(f"--until: {exc}")


def _is_site_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return False


def _check_not_held(db_path: Path) -> None:
    """Exit 2, naming the run, when another run holds the warehouse: before Prefect starts, so
    the refusal is one line and takes no time."""
    from scraper import lease  # noqa: PLC0415  # small, but only the crawl needs it

    try:
        holder = lease.holder(db_path)
    except OSError:  # a directory we cannot write: _check_writable says so
        return
    if holder is not None:
        fail(str(lease.WarehouseBusy(db_path, holder)), EXIT_BAD_INPUT)


def _check_writable(db_path: Path) -> None:
    """Fail early, in one line, on a warehouse we could not write at the end of a long crawl."""
    import duckdb  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    from scraper import db  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    if db_path.parent and not db_path.parent.exists():
        fail(f"directory {db_path.parent} does not exist")
    try:
        db.connect(db_path).close()
    except db.WarehouseError as exc:
        fail(str(exc), EXIT_FAILED)
    except duckdb.Error as exc:
        fail(f"cannot use warehouse {db_path}: {db.first_line(exc)}", EXIT_FAILED)


def _check_archive_dir(archive_dir: Path | None, db_path: Path) -> None:
    from scraper.session import default_archive_dir  # noqa: PLC0415  # the HTTP stack: on use

    _check_directory(archive_dir or default_archive_dir(db_path), "--archive-dir", create=True)


def _check_reachable_soon(config: CrawlConfig) -> Callable[[], None]:
    """One request for robots.txt (which the crawl reads first anyway): is anyone there? It
    runs in a thread while Prefect is imported, off the path to the first request; the returned call
    waits for it and fails in one line if nobody answered. A daemon thread: Ctrl-C does not
    wait for its timeout."""
    answer: Future[str | None] = Future()

    def probe() -> None:
        import httpx  # noqa: PLC0415  # the HTTP stack: on use, not for `--help`

        url = config.base_url.rstrip("/") + "/robots.txt"
        try:
            httpx.get(url, headers={"User-Agent": config.user_agent}, timeout=15.0)
        except httpx.HTTPError as exc:
            answer.set_result(f"cannot reach {config.base_url}: {exc or type(exc).__name__}")
        except BaseException as exc:  # anything else: the caller sees it, not the thread
            answer.set_exception(exc)
        else:
            answer.set_result(None)

    threading.Thread(target=probe, name="reachable", daemon=True).start()

    def reachable() -> None:
        failure = answer.result()
        if failure is not None:
            fail(failure, EXIT_FAILED)

    return reachable


def _replace_demo_warehouse(db_path: Path) -> None:
    """The demo starts afresh, but never over a warehouse that holds a real crawl."""
    import duckdb  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    from scraper import db  # noqa: PLC0415  # DuckDB: on use, not for `--help`

    if not db_path.exists():
        return
    try:
        con = db.connect(db_path, read_only=True)
        try:
            bases = {row[0] for row in con.execute("SELECT base_url FROM crawl_runs").fetchall()}
        finally:
            con.close()
    except (db.WarehouseError, duckdb.Error) as exc:
        fail(f"{db_path} exists and is not a demo warehouse ({exc}); choose another --db")
    if any(not (base or "").startswith("http://127.0.0.1") for base in bases):
        fail(f"{db_path} holds a crawl of a real site; choose another --db for the demo")
    db_path.unlink()
    Path(f"{db_path}.wal").unlink(missing_ok=True)
    from scraper.session import default_archive_dir  # noqa: PLC0415  # the HTTP stack: on use

    shutil.rmtree(default_archive_dir(db_path), ignore_errors=True)


def _run_crawl(*, ready: Callable[[], None] | None = None, **parameters: Any) -> str | None:
    """Run the crawl flow, its progress shown; None when it completed, else why not. `ready`
    is called once Prefect is imported, before its server starts (the reachability probe's
    answer)."""
    from scraper import db, progress  # noqa: PLC0415  # DuckDB, the HTTP stack: on use
    from scraper.flows import run_crawl  # noqa: PLC0415  # Prefect loads only for flow commands

    if ready is not None:  # after the imports it overlapped, before a server is started for nothing
        ready()
    start_ephemeral_server()
    with progress.terminal_display("crawl") as display, progress.show_to(display):
        state: Any = run_crawl(**parameters)
    from scraper.flows.crawl import STOPPED  # noqa: PLC0415  # Prefect: loaded already

    if state.name == STOPPED:
        _exit_stopped(state)
    if state.is_completed():
        typer.echo(state.message, err=True)
        return None
    if state.is_cancelled():
        _exit_cancelled(state)
    return db.first_line(Exception(state.message or "the crawl run failed"))


def _exit_cancelled(state: Any) -> None:
    """A run skipped because another held the warehouse (exit 2), or cancelled."""
    if state.name == "Skipped":
        fail(state.message or "the warehouse is in use by another run", EXIT_BAD_INPUT)
    _exit_stopped(state)


def _exit_stopped(state: Any) -> None:
    """A run stopped by a signal: its summary, then 130 or 143, as the shell reports it."""
    from scraper.flows.crawl import stop_signal  # noqa: PLC0415  # Prefect: loaded already

    typer.echo(f"scraper: stopped: {state.message}; the next run resumes", err=True)
    raise typer.Exit(EXIT_TERMINATED if stop_signal() == signal.SIGTERM else EXIT_INTERRUPTED)
