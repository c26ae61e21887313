"""The README's promises: its two opening commands, CI running the test one, and its SQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from replica import Replica
from scraper import load
from scraper.cli import app
from scraper.parse import parse_study
from scraper.records import LoadItem
from tests.warehouse_fixtures import memory_warehouse

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, re.DOTALL)


def test_readme_opens_with_the_demo_and_test_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    assert README.index("```sh") < README.index("## ")  # before any section


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line for line in script.splitlines() if line.startswith("make")] == ["make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: setup", makefile, re.MULTILINE)
    assert re.search(r"^test: setup check", makefile, re.MULTILINE)


def test_every_command_the_readme_names_exists() -> None:
    named = set(re.findall(r"uv run scraper ([a-z]+)", README))
    registered = {command.name for command in app.registered_commands}
    registered |= {group.name for group in app.registered_groups}
    assert named
    assert named <= registered


@pytest.mark.parametrize("query", SQL_BLOCKS)
def test_readme_sql_runs_on_a_loaded_warehouse(query: str) -> None:
    con = memory_warehouse()
    replica = Replica(pages=40, seed=3)
    now = datetime.now(UTC)
    items = [
        LoadItem(page=parse_study(replica.render(path)[2], f"https://tressless.com{path}"))
        for path in replica.study_paths()
    ]
    load.load_pages(con, items, observed_at=now, run_id=None)
    for statement in filter(str.strip, query.split(";")):
        assert con.execute(statement).fetchall()
