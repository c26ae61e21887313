"""What the flow tests share beyond the Prefect harness."""

from __future__ import annotations

import gc


def collect_prefect_sockets() -> None:
    """Collect now, under this test's warning filter, the socket Prefect's client leaves behind
    when a flow's event loop closes: left to the end of the session, it is an error there."""
    gc.collect()
