"""The replica is optional: the CLI starts without it and says so when a command needs it."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scraper.cli import app
from scraper.replica_cli import MISSING, replica_required

# What only the replica brings into a process: itself and its HTTP server stack.
REPLICA_ONLY = ("replica", "starlette", "uvicorn")

_LOADED_AFTER_CLI = """
import json, sys
from typer.testing import CliRunner
from scraper.cli import app
for args in (["--help"], ["sql", "--help"], ["crawl", "--help"], ["demo", "--help"]):
    assert CliRunner().invoke(app, args).exit_code == 0, args
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_the_cli_does_not_import_the_replica() -> None:
    # A fresh interpreter: this test process has long imported the replica for other tests.
    result = subprocess.run(
        [sys.executable, "-c", _LOADED_AFTER_CLI],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(result.stdout))
    assert "scraper" in loaded
    assert loaded.isdisjoint(REPLICA_ONLY), loaded & set(REPLICA_ONLY)


@pytest.fixture(params=["absent", "namespace"])
def replica_missing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import replica` fail as it does when the package is not installed: either no such
    module, or (in a checkout whose root is on sys.path) the bare `replica/` folder imported as an
    empty namespace package."""
    for name in [n for n in sys.modules if n.partition(".")[0] == "replica"]:
        monkeypatch.setitem(sys.modules, name, None)
    if request.param == "absent":
        monkeypatch.setitem(sys.modules, "replica", None)
    else:
        folder = types.ModuleType("replica")
        folder.__path__ = []  # a package with nothing in it, and no __file__
        monkeypatch.setitem(sys.modules, "replica", folder)


@pytest.mark.usefixtures("replica_missing")
@pytest.mark.parametrize(
    "args",
    [
        ["replica", "serve", "--port", "0"],
        ["replica", "serve", "--help"],
        ["replica", "--help"],
        ["replica"],
    ],
    ids=" ".join,
)
def test_replica_commands_refuse_in_one_line_when_it_is_missing(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"scraper: error: {MISSING}"]
    assert result.stdout == ""


@pytest.mark.usefixtures("replica_missing")
def test_demo_refuses_in_one_line_when_it_is_missing(tmp_path: Path) -> None:
    db_path = tmp_path / "demo.duckdb"
    result = CliRunner().invoke(app, ["demo", "--db", str(db_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"scraper: error: {MISSING}"]
    assert not db_path.exists()


@pytest.mark.usefixtures("replica_missing")
def test_other_commands_work_without_it() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "replica" in result.output  # listed by name and help, not imported


def test_an_unrelated_missing_module_keeps_its_traceback() -> None:
    with pytest.raises(ModuleNotFoundError), replica_required():
        import no_such_module_of_the_replica  # type: ignore[import-not-found]  # noqa: F401, PLC0415
