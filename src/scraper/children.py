"""Child processes that die with the CLI: Prefect's ephemeral API server.

Without PREFECT_API_URL, Prefect runs its API in a subprocess (`uvicorn`) that it stops from an
atexit hook, which never runs when the CLI is killed with SIGKILL or crashes hard: the server
would live on, reparented to PID 1, holding a port and its SQLite database. On Linux the server
is therefore started here, from the main thread (the parent-death signal is tied to the thread
that forked, and Prefect may otherwise start it from a short-lived thread), with
`prctl(PR_SET_PDEATHSIG, SIGTERM)` set in the child before it runs: the kernel sends it SIGTERM
the moment the CLI's main thread ends, however it ends. Prefect keeps one server per process and
reuses the one started here.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from types import ModuleType
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def start_ephemeral_server() -> None:
    """Start Prefect's ephemeral API server now, as a child that dies with this process; nothing
    when runs go to a configured server (PREFECT_API_URL) or off Linux."""
    from prefect.server.api import server  # noqa: PLC0415
    from prefect.settings import PREFECT_API_URL  # noqa: PLC0415  # Prefect loads on use

    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        return
    # Only this module of Prefect sees the wrapped Popen; every other subprocess is untouched.
    server.subprocess = _DyingWithParent(os.getpid())  # type: ignore[attr-defined]
    server.SubprocessASGIServer().start()


class _DyingWithParent(ModuleType):
    """The `subprocess` module, with Popen's children given a parent-death signal."""

    def __init__(self, parent: int) -> None:
        super().__init__("subprocess")
        self._parent = parent
        # Loaded here: the child may call only what is already loaded (no dlopen after fork).
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, args: Any, **kwargs: Any) -> subprocess.Popen[Any]:  # subprocess's name
        # preexec_fn is unsafe with threads only for code that takes locks; ours takes none.
        child: subprocess.Popen[Any] = subprocess.Popen(
            args,
            preexec_fn=self._set_death_signal,  # noqa: PLW1509  # it takes no lock: see above
            **kwargs,
        )
        return child

    def _set_death_signal(self) -> None:
        """Runs in the child between fork and exec: only prctl and getppid, no locks."""
        self._prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != self._parent:  # the parent died before prctl: nobody would signal us
            os._exit(1)
