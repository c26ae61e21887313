"""Shared fixtures: anyio runs async tests on asyncio; flow tests share one Prefect harness."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the Prefect harness run last. Once it has started, Prefect's client threads
    keep running in this process and draw from the global `random` module (jittered backoff),
    which Hypothesis reports as a strategy using `random` when it happens during a draw."""
    items.sort(key=lambda item: "prefect_harness" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for the whole session (it takes seconds to
    start), used by the flow tests only; analytics stay off."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness  # noqa: PLC0415  # slow import

    with prefect_test_harness(server_startup_timeout=60):
        yield
