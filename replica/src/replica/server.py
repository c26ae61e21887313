"""`ReplicaServer`: a `Replica` served over HTTP on 127.0.0.1, in a background thread.

    ReplicaServerError     the server did not start (port taken, startup timeout)
    ConnectionHangup       raised inside the app on purpose: uvicorn then drops the connection
                           mid-response (the fault mode's `reset` and `truncated`)

A Starlette app with one catch-all route hands every request to `Replica.serve` and records it
in `request_log` (thread-safe); faults that live on the wire (a late answer, a connection closed
mid-body, a body streamed without Content-Length) are played here. uvicorn runs it on a socket
bound here, so the port is known before the first request and port 0 picks a free one. Control
endpoints, for other processes:

    POST /_replica/advance?days=N     advance the replica's time; answers JSON (`Advanced`)
    POST /_replica/layout?broken=1    `Replica.break_layout` (0 restores); answers JSON
    GET  /_replica/truth?path=/...    the ground truth of a page as parse JSON (or null)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from replica.faults import Served
from replica.site import Replica, ReplicaError

HOST = "127.0.0.1"  # loopback only: the replica never listens on a public interface
STARTUP_TIMEOUT = 10.0  # seconds to wait for uvicorn to accept connections
SHUTDOWN_TIMEOUT = 10.0
CONTROL_PREFIX = "/_replica/"
STREAM_CHUNK = 64 * 1024  # bytes per chunk of a body streamed without Content-Length


class ReplicaServerError(RuntimeError):
    """The replica server could not start."""


class ConnectionHangup(Exception):
    """Raised inside the app after part of a response: uvicorn closes the connection."""


class _QuietHangups(logging.Filter):
    """uvicorn logs every exception of the app with a traceback; our deliberate hang-ups are not
    news."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionHangup)


_QUIET_HANGUPS = _QuietHangups()


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the server saw it. `at` is `time.monotonic()` when it was answered."""

    method: str
    path: str  # with the query string, if any
    headers: dict[str, str]  # lower-case names
    status: int
    bytes_sent: int  # body bytes on the wire (compressed when gzipped; 0 for HEAD and 304)
    at: float
    fault: str | None = None  # the fault mode's kind behind this answer, if any
    response_headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    client: str = ""  # the client's "host:port": one port per TCP connection (keep-alive checks)


class _Log:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def build_app(replica: Replica, log: _Log) -> Starlette:
    async def endpoint(request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.url.path.startswith(CONTROL_PREFIX) or request.method == "POST":
            response = _control(replica, request)
            served = Served(response.status_code, {}, bytes(response.body))
        else:
            served = replica.serve("GET", path, request.headers)
            if served.delay_s:
                await asyncio.sleep(served.delay_s)
            response = _response(served, head=request.method == "HEAD")
        log.add(_logged(request, path, served, head=request.method == "HEAD"))
        return response

    route = Route("/{path:path}", endpoint, methods=["GET", "HEAD", "POST"])
    return Starlette(routes=[route])


def _response(served: Served, *, head: bool) -> Response:
    if head:
        headers = {**served.headers, "Content-Length": str(len(served.body))}
        return Response(b"", served.status, headers)
    if served.hangup_after is not None:
        return _HangUp(served)
    if served.chunked:
        headers = {k: v for k, v in served.headers.items() if k.lower() != "content-length"}
        return StreamingResponse(_chunks(served.body), served.status, headers)
    return Response(served.body, served.status, served.headers)


def _logged(request: Request, path: str, served: Served, *, head: bool) -> LoggedRequest:
    sent = len(served.body)
    if head:
        sent = 0
    elif served.hangup_after is not None:
        sent = min(sent, served.hangup_after)
    return LoggedRequest(
        method=request.method,
        path=path,
        headers=dict(request.headers),
        status=served.status,
        bytes_sent=sent,
        at=time.monotonic(),
        fault=served.fault,
        response_headers={name.lower(): value for name, value in served.headers.items()},
        client=f"{request.client.host}:{request.client.port}" if request.client else "",
    )


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), STREAM_CHUNK):
        yield body[start : start + STREAM_CHUNK]


class _HangUp(Response):
    """Headers announcing the whole body, `hangup_after` bytes of it, then a dropped connection."""

    def __init__(self, served: Served) -> None:
        super().__init__(b"", served.status)
        self.partial = served.body[: served.hangup_after]
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in served.headers.items()
            if name.lower() != "content-length"
        ]
        self.raw_headers = [*headers, (b"content-length", str(len(served.body)).encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        if self.partial:
            await send({"type": "http.response.body", "body": self.partial, "more_body": True})
        raise ConnectionHangup(f"hung up after {len(self.partial)} body bytes")


def _control(replica: Replica, request: Request) -> Response:
    if not request.url.path.startswith(CONTROL_PREFIX):
        return Response(b"method not allowed\n", 405, {"Allow": "GET, HEAD"})
    name = request.url.path.removeprefix(CONTROL_PREFIX)
    if name == "advance" and request.method == "POST":
        try:
            done = replica.advance(int(request.query_params.get("days", "30")))
        except (ValueError, ReplicaError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(_advanced_json(done))
    if name == "layout" and request.method == "POST":
        broken = request.query_params.get("broken", "1") not in ("0", "false", "no")
        replica.break_layout(broken)
        return JSONResponse({"broken": broken})
    if name == "truth" and request.method == "GET":
        record = replica.truth(request.query_params.get("path", "/"))
        return JSONResponse(record.to_json() if record else None)
    return JSONResponse({"error": f"unknown control endpoint {request.url.path}"}, 404)


def _advanced_json(done: Any) -> dict[str, Any]:
    return {
        "day": done.day,
        "changed": list(done.changed),
        "added": list(done.added),
        "removed": list(done.removed),
        "moved": done.moved,
    }


class ReplicaServer:
    """`with ReplicaServer(replica) as server:` serves `replica` at `server.base_url`.

    While serving, `replica.base_url` is the server's base URL, so the ground truth's URLs match
    the URLs a crawler sees.
    """

    def __init__(self, replica: Replica, port: int = 0) -> None:
        self.replica = replica
        self._requested_port = port
        self._log = _Log()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def request_log(self) -> list[LoggedRequest]:
        """A copy of every request answered so far, oldest first."""
        return self._log.snapshot()

    def clear_log(self) -> None:
        self._log.clear()

    def start(self) -> None:
        # proto=IPPROTO_TCP matters: asyncio disables Nagle only on sockets that say they are
        # TCP, and with Nagle on every keep-alive response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, self._requested_port))
        except OSError as exc:
            sock.close()
            raise ReplicaServerError(
                f"cannot listen on {HOST}:{self._requested_port}: {exc}"
            ) from exc
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.replica.base_url = self.base_url
        logging.getLogger("uvicorn.error").addFilter(_QUIET_HANGUPS)
        config = uvicorn.Config(
            build_app(self.replica, self._log),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="replica-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ReplicaServerError(f"replica server did not start on {self.base_url}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> ReplicaServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
