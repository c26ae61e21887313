"""The `scraper` command line. Every command has `--help`; bad input ends in one line and exit 2.

Commands are thin: they turn options into library calls (or flow runs) and print the result.
"""

from __future__ import annotations

import json
import signal
import sys
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from scraper import flow_cli, replica_cli, warehouse_cli
from scraper.cli_errors import EXIT_INTERRUPTED, EXIT_TERMINATED, fail

app = typer.Typer(
    name="scraper",
    help="Crawl study pages into a DuckDB warehouse, and query it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: on/off flags read `--full / --no-full`, not a `<bool>` type column,
    # and no help text is taken for rich markup (`[default: ...]` was eaten as a tag)
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"scraper {metadata.version('scraper')}")
        raise typer.Exit


@app.callback()
def root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Crawl study pages into a DuckDB warehouse, and query it."""


@app.command("parse")
def parse_command(
    files: Annotated[
        list[Path], typer.Argument(help="Saved study or research listing pages (HTML).")
    ],
    url: Annotated[
        str | None,
        typer.Option(help="The URL the pages were fetched from (resolves relative links)."),
    ] = None,
) -> None:
    """Parse saved pages and print one JSON object per page (JSON Lines), in order."""
    from scraper.parse import parse_page  # noqa: PLC0415  # the parser: on use, not for `--help`

    for path in files:
        page = parse_page(_read_page(path), url)
        sys.stdout.write(json.dumps(page.to_json(), ensure_ascii=False) + "\n")


def _read_page(path: Path) -> bytes:
    """The saved page's bytes, read no further than the largest body a crawl accepts (a device
    or a runaway file would otherwise be read without end)."""
    from scraper.config import CrawlConfig  # noqa: PLC0415  # URL rules (w3lib): on use

    limit = CrawlConfig().max_body_bytes
    try:
        with path.open("rb") as file:
            html = file.read(limit + 1)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    if len(html) > limit:
        fail(f"{path} is larger than {limit // 2**20} MiB, the most a crawl reads of a page")
    return html


warehouse_cli.register(app)
flow_cli.register(app)
app.add_typer(replica_cli.replica_app, name="replica")


def main() -> None:
    """Run the CLI; usage errors are one line too, not click's boxed help."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # usage errors: bad option values, unknown commands
        context = getattr(exc, "ctx", None)
        hint = f" (see `{context.command_path} --help`)" if context else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"scraper: error: {message}{hint}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        code = EXIT_INTERRUPTED
    except Terminated:
        typer.echo("scraper: terminated", err=True)
        sys.exit(EXIT_TERMINATED)
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent exit 130
        typer.echo("scraper: interrupted", err=True)
    sys.exit(code if isinstance(code, int) else 0)


class Terminated(BaseException):  # named for the signal, like KeyboardInterrupt
    """SIGTERM, raised where the main thread is, so that a stop unwinds like Ctrl-C."""


def _terminated(_signum: int, _frame: object) -> None:
    raise Terminated
