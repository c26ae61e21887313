"""`scraper replica ...`, mounted from the optional `replica` package and imported only on use.

The replica (the synthetic site the tests, the demo and the bench crawl; starlette and uvicorn come
with it) is a package of its own, installed by `scraper[replica]` or the dev group. Nothing here
imports it until a replica command runs, so `scraper --help`, `scraper crawl` and the rest start
without it; when it is missing, a command that needs it ends in one line and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

MISSING = (
    "the replica is not installed: install scraper[replica]"
    " (uv sync installs it with the dev group)"
)
EXIT_MISSING = 2  # a usage error, like every other refusal of the CLI
# A missing one of these means the optional install is absent or incomplete; any other missing
# module is a bug inside the replica and keeps its traceback.
_REPLICA_MODULES = frozenset({"replica", "starlette", "uvicorn"})


@contextmanager
def replica_required() -> Iterator[None]:
    """Turn the replica's absence, met by imports inside the block, into one line and exit 2."""
    try:
        yield
    except ImportError as exc:
        if not _replica_absent(exc):
            raise
        typer.echo(f"scraper: error: {MISSING}", err=True)
        raise typer.Exit(EXIT_MISSING) from None


def _replica_absent(exc: ImportError) -> bool:
    top = (exc.name or "").partition(".")[0]
    if isinstance(exc, ModuleNotFoundError):
        return top in _REPLICA_MODULES
    # In a checkout the repository root can be on sys.path (pytest's rootdir, `python -m` from
    # it), and without the package its `replica/` folder imports as an empty namespace
    # package: `from replica import Replica` then fails with a plain ImportError instead.
    return top == "replica" and getattr(sys.modules.get("replica"), "__file__", None) is None


class _ReplicaGroup(TyperGroup):
    """Stands in for the replica's own command group and takes its commands on first use.

    `scraper --help` lists this group by its name and help alone, which import nothing; listing
    or running its commands imports `replica.cli`. Typer mounts only typer apps and builds their
    click groups eagerly, hence a group class of our own instead of `add_typer(replica_app)`.
    """

    def _load(self) -> None:
        if self.commands:
            return
        with replica_required():
            from replica.cli import replica_app  # noqa: PLC0415  # optional package: load on use
        self.commands.update(typer.main.get_group(replica_app).commands)

    # `Any` for click's types: typer vendors click under a private module name, which the
    # overrides would otherwise have to import.
    def list_commands(self, ctx: Any) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        self._load()
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._load()  # before any of the help is printed, so that a refusal comes alone
        super().format_help(ctx, formatter)


replica_app = typer.Typer(
    cls=_ReplicaGroup,
    name="replica",
    help="The synthetic replica of the research site (tests, demo, benchmarks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
