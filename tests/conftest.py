"""Shared fixtures: anyio runs async tests on asyncio; flow tests share one Prefect harness."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for the whole session (it takes seconds to
    start), used by the flow tests only; analytics stay off."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness  # noqa: PLC0415  # slow import

    with prefect_test_harness(server_startup_timeout=60):
        yield
