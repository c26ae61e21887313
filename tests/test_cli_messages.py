"""How the `scraper` command ends when it cannot go on: one line and a documented exit code
(0 ok, 1 failed, 2 bad input, 130 interrupted, 143 terminated), no traceback, and no process
left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from replica import Replica, ReplicaServer
from tests.test_cli import one_line_error, scraper

LONG_QUERY = "SELECT count(*) FROM range(1000000000000) t(x) WHERE x % 7 = 3"


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """`scraper ARGS` in the background, with Ctrl-C and SIGTERM at their defaults."""
    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(cwd / ".prefect"),
    }
    env.pop("PREFECT_API_URL", None)  # the ephemeral server: the child we want to see die
    return subprocess.Popen(
        [sys.executable, "-c", "from scraper.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # a background shell ignores SIGINT and its children inherit that: undo it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def empty_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    return path


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-2", "-inf"])
def test_rate_must_be_positive_and_finite(value: str) -> None:
    result = scraper("crawl", "--rate", value, "--base-url", "http://127.0.0.1:9")
    assert "--rate" in one_line_error(result)
    assert result.returncode == 2


def test_an_unclosed_ipv6_base_url_is_bad_input() -> None:
    result = scraper("crawl", "--base-url", "http://[::1")
    assert "--base-url" in one_line_error(result)
    assert result.returncode == 2


def test_sql_file_that_is_not_text_is_one_line(tmp_path: Path, empty_warehouse: Path) -> None:
    binary = tmp_path / "query.sql"
    binary.write_bytes(b"\xff\xfe\x00\x81SELECT")
    result = scraper("sql", "--file", str(binary), "--db", str(empty_warehouse))
    assert "not UTF-8 text" in one_line_error(result)
    assert result.returncode == 2


def test_parse_reads_no_more_than_a_crawl_would(tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    big.write_bytes(b"<p>" + b"x" * (6 * 2**20))
    result = scraper("parse", str(big))
    assert "larger than 5 MiB" in one_line_error(result)
    assert result.returncode == 2
    endless = scraper("parse", "/dev/zero", timeout=60)  # without the cap: read until memory ends
    assert "larger than 5 MiB" in one_line_error(endless)


def test_sql_json_writes_null_for_nan_and_infinity(empty_warehouse: Path) -> None:
    query = (
        "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, '-inf'::FLOAT AS c, 1.5 AS d,"
        " ['nan'::DOUBLE, 2.0] AS e"
    )
    result = scraper("sql", query, "--db", str(empty_warehouse), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout, parse_constant=pytest.fail) == [
        {"a": None, "b": None, "c": None, "d": 1.5, "e": [None, 2.0]}
    ]


def test_ctrl_c_during_a_long_query_exits_130(tmp_path: Path, empty_warehouse: Path) -> None:
    process = start("sql", LONG_QUERY, "--db", str(empty_warehouse), cwd=tmp_path)
    try:
        time.sleep(3)  # the query is running (it takes minutes); typer is imported
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)  # without the fix: minutes, unkillable
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert stderr.strip().splitlines() == ["scraper: interrupted"]


def test_sigterm_during_sql_is_one_line(tmp_path: Path, empty_warehouse: Path) -> None:
    process = start("sql", LONG_QUERY, "--db", str(empty_warehouse), cwd=tmp_path)
    try:
        time.sleep(3)
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 143
    assert stderr.strip().splitlines() == ["scraper: terminated"]


def test_kill_9_of_a_crawl_takes_its_children_with_it(tmp_path: Path) -> None:
    with ReplicaServer(Replica(pages=200, seed=3)) as server:
        process = start(
            "crawl", "--base-url", server.base_url, "--db", "w.duckdb", "--rate", "5",
            cwd=tmp_path,
        )  # fmt: skip
        try:
            # the ephemeral Prefect server is up and the crawl is fetching pages
            assert wait_for(lambda: len(server.request_log) > 5, 150), process.stderr
            kids = children(process.pid)
            assert kids
        finally:
            process.kill()
            process.wait()
            assert process.stderr is not None
            process.stderr.close()
        assert wait_for(lambda: not any(alive(kid) for kid in kids), 30)


def test_an_unusable_prefect_home_is_one_line_before_any_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {**os.environ, "PREFECT_HOME": str(blocker / "prefect")}
    env.pop("PREFECT_API_URL", None)
    with ReplicaServer(Replica(pages=3, seed=1)) as server:
        result = subprocess.run(
            [
                *[sys.executable, "-c", "from scraper.cli import main; main()", "crawl"],
                *["--base-url", server.base_url, "--db", str(tmp_path / "w.duckdb")],
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    assert "PREFECT_HOME" in one_line_error(result)
    assert result.returncode == 1


def test_a_demo_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    result = scraper("demo", "--db", str(tmp_path / "missing" / "demo.duckdb"), "--pages", "3")
    assert "not a writable directory" in one_line_error(result)
    assert result.returncode == 1


def test_an_archive_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with ReplicaServer(Replica(pages=3, seed=1)) as server:
        result = scraper(
            "crawl", "--base-url", server.base_url, "--db", str(tmp_path / "w.duckdb"),
            "--archive-dir", str(blocker / "warc"), cwd=tmp_path, timeout=120,
        )  # fmt: skip
    assert "--archive-dir" in one_line_error(result)
    assert result.returncode == 1
