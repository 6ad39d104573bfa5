"""MockTransport: records what would have gone on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import signing_async as sa
from signing_async.transports import RecordedRequest, StreamBody


async def test_sync_handler_and_recording() -> None:
    transport = sa.MockTransport(lambda request: sa.Response(201, content=request.content[::-1]))

    response = await transport.send(sa.Request("POST", "https://x.example/a", {"H": "v"}, b"abc"))

    assert response.status == 201
    assert await response.read() == b"cba"
    (recorded,) = transport.requests
    assert (recorded.method, recorded.url, recorded.headers, recorded.content) == (
        "POST",
        "https://x.example/a",
        {"H": "v"},
        b"abc",
    )
    assert recorded.request.body == b"abc"


async def test_async_handler_reads_stream_bodies() -> None:
    async def handler(request: RecordedRequest) -> sa.Response:
        return sa.Response(200, content=request.content)

    async def produce() -> AsyncIterator[bytes]:
        yield b"one,"
        yield b"two"

    transport = sa.MockTransport(handler)
    response = await transport.send(
        sa.Request("PUT", "https://x.example", {}, StreamBody(7, produce))
    )

    assert await response.read() == b"one,two"
    assert transport.requests[0].content == b"one,two"


async def test_stream_body_with_a_wrong_length_is_caught() -> None:
    async def produce() -> AsyncIterator[bytes]:
        yield b"12345"

    transport = sa.MockTransport(lambda request: sa.Response(200))
    with pytest.raises(AssertionError, match="yielded 5 bytes, announced 6"):
        await transport.send(sa.Request("POST", "https://x.example", {}, StreamBody(6, produce)))


async def test_handler_failures_propagate() -> None:
    def handler(request: RecordedRequest) -> sa.Response:
        raise sa.ConnectError("refused")

    transport = sa.MockTransport(handler)
    with pytest.raises(sa.ConnectError):
        await transport.send(sa.Request("GET", "https://x.example"))
    assert len(transport.requests) == 1


async def test_close() -> None:
    transport = sa.MockTransport(lambda request: sa.Response(200))
    assert not transport.closed
    await transport.aclose()
    await transport.aclose()
    assert transport.closed
    assert isinstance(transport, sa.Transport)


async def test_response_read_limit() -> None:
    response = sa.Response(200, content=b"0123456789")
    assert await response.read(4) == b"0123"
    assert repr(response) == "<Response 200>"
