"""The Dask worker processes of a `--workers N` crawl die with their parent, SIGKILL included:
Dask's nannies and workers watch their parent, so none of ours is needed (checked here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.test_cli_messages import alive, children

# The cluster a `--workers 2` crawl starts (`dask_runner`'s own settings), in a child process.
CHILD = """
from distributed import Client, LocalCluster
from scraper.flows.scaleout import dask_runner
cluster = LocalCluster(**dask_runner(2).cluster_kwargs)
Client(cluster).wait_for_workers(2, timeout=60)
print("ready", flush=True)
import time; time.sleep(120)
"""


def test_dask_workers_die_when_their_parent_is_killed() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline().strip() == "ready"
            workers = descendants(parent.pid)
            assert len(workers) >= 2
        finally:
            parent.kill()
            parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.5)
    survivors = [w for w in workers if alive(w)]
    for worker in survivors:  # never leave one behind, whatever the verdict
        os.kill(worker, signal.SIGKILL)
    assert not survivors, f"Dask processes outlived their killed parent: {survivors}"


def descendants(pid: int) -> set[int]:
    found = children(pid)
    for child in set(found):
        found |= descendants(child)
    return found
