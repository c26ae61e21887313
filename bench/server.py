"""The site under test: a replica exported to files and served by nginx on loopback.

nginx is what the benchmarks want: a static server in C, one worker, gzip done ahead of time, so
the crawler's own cost is what the figures show. When nginx is missing the bench installs the
Debian package if it runs as root with apt-get at hand; otherwise it falls back to the replica's
own server (uvicorn + Starlette in a thread of the bench process) and says so, because then the
server's CPU is part of what is measured.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.static import StaticSite, export_static, nginx_config
from replica import Replica, ReplicaServer

NGINX_PACKAGE = "nginx"  # Debian package name
STARTUP_TIMEOUT_S = 15.0  # for nginx to accept connections
STOP_TIMEOUT_S = 10.0


class ServeError(RuntimeError):
    """The site could not be served."""


@dataclass(frozen=True, slots=True)
class Served:
    """A running site: where it is and what serves it."""

    base_url: str
    server: str  # "nginx 1.22.1" or "replica server (uvicorn, in the bench process)"
    note: str  # how it came to be this server
    export: StaticSite | None  # None for the fallback server
    export_seconds: float


def ensure_nginx(*, install: bool) -> tuple[str | None, str]:
    """The nginx binary (installing the Debian package when allowed), and what happened."""
    found = shutil.which("nginx") or _sbin("nginx")
    if found:
        return found, "nginx found"
    if not install:
        return None, "nginx not installed (--no-install)"
    if not shutil.which("apt-get"):
        return None, "nginx not installed and no apt-get to install it"
    print(f"bench: nginx missing, installing the Debian package {NGINX_PACKAGE!r} ...", flush=True)
    command = ["apt-get", "install", "-y", "--no-install-recommends", NGINX_PACKAGE]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env=_apt_env(), timeout=600
    )
    found = shutil.which("nginx") or _sbin("nginx")
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"installing nginx failed: {tail[0]}"
    return found, f"nginx installed now (apt-get install {NGINX_PACKAGE})"


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def _apt_env() -> dict[str, str]:
    return {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(replica: Replica, workdir: Path, *, use_nginx: bool, install: bool) -> Iterator[Served]:
    """Serve `replica` on loopback for the duration of the block (nginx, or the fallback)."""
    binary, note = ensure_nginx(install=install) if use_nginx else (None, "nginx not requested")
    if binary is None:
        print(f"bench: {note}; serving with the replica's own server instead", flush=True)
        with ReplicaServer(replica) as server:
            yield Served(
                base_url=server.base_url,
                server="replica server (uvicorn in the bench process: its CPU is measured too)",
                note=note,
                export=None,
                export_seconds=0.0,
            )
        return
    with _nginx(binary, replica, workdir, note) as served:
        yield served


@contextlib.contextmanager
def _nginx(binary: str, replica: Replica, workdir: Path, note: str) -> Iterator[Served]:
    port = free_port()
    replica.base_url = f"http://127.0.0.1:{port}"  # the pages' absolute links point at nginx
    started = time.perf_counter()
    site = export_static(replica, workdir / "site")
    export_seconds = time.perf_counter() - started
    runtime = workdir / "nginx"
    runtime.mkdir(parents=True, exist_ok=True)
    conf = runtime / "nginx.conf"
    conf.write_text(nginx_config(site, port=port, runtime_dir=runtime))
    # nginx workers drop to an unprivileged user when started as root: let them read the files.
    _open_up(workdir)
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(runtime), "-e", str(runtime / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(process, replica.base_url, runtime)
        yield Served(
            base_url=replica.base_url,
            server=_nginx_version(binary),
            note=note,
            export=site,
            export_seconds=export_seconds,
        )
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _open_up(workdir: Path) -> None:
    """mkdtemp makes 0700 directories; the files inside are created under the usual umask."""
    for path in (workdir, *(p for p in workdir.rglob("*") if p.is_dir())):
        path.chmod(path.stat().st_mode | 0o055)


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, runtime: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode() if process.stderr else ""
            log = (runtime / "error.log").read_text() if (runtime / "error.log").exists() else ""
            raise ServeError(f"nginx exited: {(errors or log).strip()[-500:]}")
        try:
            status = httpx.get(f"{base_url}/robots.txt", timeout=1.0).status_code
        except httpx.TransportError:
            status = None
        if status == 200:
            return
        time.sleep(0.05)
    raise ServeError(
        f"nginx did not serve {base_url}/robots.txt within {STARTUP_TIMEOUT_S:.0f}s"
        f" (last status: {status or 'no answer'})"
    )


def _nginx_version(binary: str) -> str:
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).strip().replace("nginx version: ", "") or "nginx"
