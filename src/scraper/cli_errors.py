"""How a command ends when it cannot do its work: one line on stderr and an exit code, never a
traceback.

    2  bad input: wrong arguments or options, a query we refuse
    1  the work failed: a run ended Failed, the site is unreachable, the warehouse is unusable
    130  interrupted (Ctrl-C)
    143  terminated (SIGTERM)
"""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_BAD_INPUT = 2  # wrong arguments, a refused or malformed query
EXIT_FAILED = 1  # a run ended Failed, an unreachable site, a warehouse we cannot use
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # SIGTERM: 128 + SIGTERM


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One line on stderr and a non-zero exit: what a user sees instead of a traceback."""
    typer.echo(f"scraper: error: {message}", err=True)
    raise typer.Exit(code)
