"""The HTTP transport under the crawler's client: httpx's own, on a network backend that keeps the
connection pool's bookkeeping cheap.

Why a hand-written piece here: before it hands out a connection, httpcore's pool asks every idle
connection whether the server closed it (`has_expired` -> `get_extra_info("is_readable")`), about
ten times per request at a concurrency of 8 (encode/httpcore#928 describes it). Each ask goes
through anyio, which rebuilds a dict of socket attributes and calls `getpeername()` just to hand
back the raw socket. Measured on loopback, that was a fifth of the CPU of a request answered 304.
The stream below looks the socket up once per connection; the readability poll itself, which
notices a server that closed an idle keep-alive connection, is kept as httpcore does it.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


def make_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport (HTTP/1.1, certificates verified, no proxies from the environment) with
    `limits`, its connections made by `PoolFriendlyBackend`."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx takes no network backend, so its pool is rebuilt with the same settings plus ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PoolFriendlyBackend(),
    )
    return transport


class PoolFriendlyBackend(httpcore.AsyncNetworkBackend):
    """anyio's backend, its streams wrapped in `PoolFriendlyStream`."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return PoolFriendlyStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return PoolFriendlyStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PoolFriendlyStream(httpcore.AsyncNetworkStream):
    """A network stream that knows its socket, so readability checks cost one poll."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return PoolFriendlyStream(
            await self._inner.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return readable(self._socket)
        return self._inner.get_extra_info(info)


def readable(sock: socket.socket | None) -> bool:
    """True when the socket has data or an EOF waiting (an idle connection the server closed),
    or is closed itself: either way the pool must not hand it out."""
    if sock is None:
        return False
    fd = sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
