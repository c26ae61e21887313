"""The `scraper` command as a user runs it: help everywhere, one-line errors, the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from replica import Replica, ReplicaServer
from scraper.cli import app

COMMANDS = [
    [],
    ["parse"],
    ["crawl"],
    ["demo"],
    ["reparse"],
    ["serve"],
    ["sql"],
    ["search"],
    ["export"],
    ["replica"],
    ["replica", "serve"],
]


def scraper(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    if cwd is not None:
        env["PREFECT_HOME"] = str(cwd / ".prefect")  # the ephemeral server's database, isolated
    return subprocess.run(
        [sys.executable, "-c", "from scraper.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "scraper")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["crawl", "--rate", "-1"], "--rate"),
        (["crawl", "--concurrency", "0"], "--concurrency"),
        (["crawl", "--workers", "3", "--concurrency", "2"], "--workers 3"),
        (["crawl", "--base-url", "ftp://example.org"], "http(s) URL"),
        (["crawl", "--max-pages", "many"], "--max-pages"),
        (["nonsense"], "No such command"),
        (["sql"], "--db"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args: list[str], expected: str) -> None:
    result = scraper(*args)
    assert expected in one_line_error(result)
    assert result.returncode == 2


def test_unreachable_site_is_one_line(tmp_path: Path) -> None:
    result = scraper(
        "crawl", "--base-url", "http://127.0.0.1:9", "--db", str(tmp_path / "w.duckdb")
    )
    assert "cannot reach http://127.0.0.1:9" in one_line_error(result)
    assert result.returncode == 1


@pytest.fixture
def held_warehouse(tmp_path: Path) -> Iterator[Path]:
    """A warehouse file another process holds open for writing."""
    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "ready"
    try:
        yield path
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_locked_warehouse_is_one_line(held_warehouse: Path) -> None:
    replica = Replica(pages=5, seed=1)
    with ReplicaServer(replica) as server:
        result = scraper("crawl", "--base-url", server.base_url, "--db", str(held_warehouse))
    assert "in use by another process" in one_line_error(result)
    query = scraper("sql", "SELECT 1", "--db", str(held_warehouse))
    assert "in use by another process" in one_line_error(query)


def test_demo_from_a_fresh_directory_fills_a_warehouse(tmp_path: Path) -> None:
    result = scraper("demo", "--db", "demo.duckdb", "--pages", "40", cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "most_cited_studies.sql" in result.stdout
    with duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True) as con:
        (studies,) = con.execute("SELECT count(*) FROM studies").fetchone() or (0,)
        (runs,) = con.execute(
            "SELECT count(*) FROM crawl_runs WHERE status = 'completed'"
        ).fetchone() or (0,)
    assert studies >= 40
    assert runs == 1
