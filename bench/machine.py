"""The machine a bench ran on: enough to judge whether two results can be compared."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("prefect", "duckdb", "httpx", "selectolax", "pyarrow", "warcio", "uvicorn")


def describe(server: str) -> dict[str, str]:
    """nproc, memory, CPU model, OS, Python, package versions, the server and the commit."""
    info = {
        "nproc": str(os.cpu_count()),
        "memory": _memory(),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "server": server,
        "commit": _commit(),
    }
    info |= {name: _version(name) for name in PACKAGES}
    return info


def _memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return "unknown"


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"
