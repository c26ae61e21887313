"""The first thing a spawned worker process runs: it leaves out the optional parts of its
libraries that no worker uses, then starts the worker.

A worker is a fresh interpreter, and what it imports is most of what it costs to start (~0.5 s on
a 2-core machine), which the crawl's first batch waits for. Three optional imports serve no worker:
httpx's command-line client (rich, click and pygments: a quarter of the start; encode/httpx#3547),
tenacity's Tornado support and httpcore's HTTP/2 (the crawler speaks HTTP/1.1). Each library
imports them only when it can, and a None in `sys.modules` is Python's way of saying a module is
absent. Only workers do this: the crawl process, Prefect and Dask keep them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

UNUSED_IN_WORKERS = ("httpx._main", "tornado", "h2")


def run(start: str | None, *args: Any) -> None:
    """Leave the unused modules out, then call `start` ("module:function") with `args`."""
    for name in UNUSED_IN_WORKERS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: known to be absent
    if start is not None:
        module, _, function = start.partition(":")
        getattr(importlib.import_module(module), function)(*args)
