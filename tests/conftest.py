"""Shared fixtures: anyio runs async tests on asyncio; saved pages are read by `page()`."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
