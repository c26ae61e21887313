"""Reading saved test pages (scrapy's `get_testdata` pattern)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PAGES = Path(__file__).parent / "pages"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAGES / name).read_text(encoding="utf-8"))
    return data
