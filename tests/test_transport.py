"""The crawler's HTTP transport: pooled connections checked cheaply, and still checked."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from scraper.config import CrawlConfig
from scraper.fetch import make_client
from scraper.transport import PoolFriendlyStream, readable

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def test_readable_sees_data_eof_and_closed_sockets() -> None:
    ours, theirs = socket.socketpair()
    try:
        assert not readable(ours)  # idle and open: fit for reuse
        theirs.send(b"x")
        assert readable(ours)  # unexpected bytes on an idle connection
        ours.recv(1)
        theirs.close()
        assert readable(ours)  # the peer hung up: EOF waiting
    finally:
        ours.close()
    assert readable(ours)  # closed here
    assert not readable(None)


@asynccontextmanager
async def one_answer_per_connection() -> AsyncIterator[tuple[str, list[int]]]:
    """A server that answers one request per connection, then hangs up without saying so
    (no `Connection: close`): what a server closing idle keep-alive connections looks like."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer.get_extra_info("peername")[1])
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", connections


@pytest.mark.anyio
async def test_client_uses_the_pool_friendly_stream_and_drops_closed_connections() -> None:
    async with one_answer_per_connection() as (base, connections):
        config = CrawlConfig().with_options(base_url=base, concurrency=1)
        async with make_client(config) as client:
            first = await client.get(f"{base}/a")
            assert isinstance(first.extensions["network_stream"], PoolFriendlyStream)
            await asyncio.sleep(0.05)  # the server's hang-up reaches us
            second = await client.get(f"{base}/b")  # a dead pooled connection is not reused
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(connections) == 2
