"""`scraper serve` options and what reaches the Prefect UI: the crawl's options passed to the
deployments, a one-line warning without a Prefect server, the terminal quieted but not the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scraper.cli import app

PREFECT_ENV = (
    "PREFECT_API_URL",
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in PREFECT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    return monkeypatch


def test_serve_passes_contact_rate_and_concurrency_and_warns_without_a_server(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import prefect  # noqa: PLC0415  # slow import: only here

    served: list[Any] = []
    clean_env.setattr(prefect, "serve", lambda *found: served.extend(found))
    result = CliRunner().invoke(
        app,
        [
            "serve", "--db", str(tmp_path / "w.duckdb"), "--contact-url", "https://example.org/me",
            "--rate", "0.5", "--concurrency", "3",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if "PREFECT_API_URL" in line]
    assert len(warning) == 1
    assert "prefect server start" in warning[0]
    assert {d.name for d in served} == {"hourly-incremental", "weekly-full"}
    for deployment in served:
        assert deployment.parameters["contact_url"] == "https://example.org/me"
        assert deployment.parameters["rate"] == 0.5
        assert deployment.parameters["concurrency"] == 3


def test_serve_refuses_a_contact_url_that_is_not_http(clean_env: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["serve", "--contact-url", "mailto:me@example.org"])
    assert result.exit_code == 2
    assert "--contact-url must be an http(s) URL" in result.output


def test_quiet_terminal_keeps_info_going_to_the_prefect_api(clean_env: pytest.MonkeyPatch) -> None:
    from prefect.logging.configuration import (  # noqa: PLC0415  # slow import
        DEFAULT_LOGGING_SETTINGS_PATH,
        load_logging_config,
    )

    from scraper.flow_cli import prefect_settings  # noqa: PLC0415

    prefect_settings(verbose=False)
    config = load_logging_config(DEFAULT_LOGGING_SETTINGS_PATH)
    assert config["handlers"]["console"]["level"] == "WARNING"  # the terminal: quiet
    assert config["handlers"]["api"]["level"] == 0  # the server: everything
    assert config["loggers"]["prefect"]["level"] == "INFO"
