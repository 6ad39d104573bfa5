"""The transport contract, checked on every transport against the same server.

Each transport must: report status and headers (repeated headers kept);
send bytes and ``StreamBody`` bodies byte for byte with a Content-Length,
never chunked; stream the answer in chunks no larger than asked; release the
connection on an early close; map failures onto ``ConnectError``,
``RequestTimeout`` and ``TransportError``; close only what it owns.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
from collections.abc import AsyncIterator

import aiohttp
import anyio
import httpx
import pytest

from signing_async import ConnectError, RequestTimeout, Timeout, TransportError
from signing_async.transports import (
    AiohttpTransport,
    HttpxTransport,
    MockTransport,
    Request,
    StreamBody,
    Transport,
)

from .conftest import ContractServer, KeepAliveServer, Target, make_transport, pattern

SHORT = Timeout(connect=2.0, read=0.3)
"""Deadlines for tests that wait for a timeout on purpose."""

WAIT = 10.0
"""An upper bound on waits that must end: a hang fails the test instead of stalling the run."""


def stream_body(data: bytes, piece: int = 1000) -> StreamBody:
    async def produce() -> AsyncIterator[bytes]:
        for start in range(0, len(data), piece):
            yield data[start : start + piece]

    return StreamBody(len(data), produce)


async def get(transport: Transport, url: str, deadlines: Timeout | None = None) -> bytes:
    response = await transport.send(Request("GET", url, timeout=deadlines or Timeout()))
    return await response.read()


async def test_status_and_headers(target: Target) -> None:
    response = await target.transport.send(Request("GET", target.url("/status/201")))
    assert response.status == 201
    assert response.headers.getall("X-Multi") == ["one", "two"]
    assert response.headers["x-single"] == "yes"
    assert await response.read() == b"hello"


async def test_error_status_is_an_answer_not_an_exception(target: Target) -> None:
    response = await target.transport.send(Request("GET", target.url("/status/503")))
    assert response.status == 503
    assert await response.read() == b"hello"


@pytest.mark.parametrize("streamed", [False, True], ids=["bytes", "stream"])
async def test_request_body_arrives_exactly_with_content_length(
    target: Target, streamed: bool
) -> None:
    data = pattern(300_001)
    body = stream_body(data) if streamed else data
    request = Request("POST", target.url("/upload"), {"Content-Type": "application/x-test"}, body)
    report = json.loads(await (await target.transport.send(request)).read())
    assert report == {
        "length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_length": str(len(data)),
        "transfer_encoding": None,
    }


async def test_stream_body_is_replayable_across_sends(target: Target) -> None:
    data = pattern(5000)
    body = stream_body(data, piece=7)
    for _ in range(2):
        request = Request("POST", target.url("/upload"), body=body)
        report = json.loads(await (await target.transport.send(request)).read())
        assert report["sha256"] == hashlib.sha256(data).hexdigest()


async def test_response_body_is_streamed_in_chunks(target: Target) -> None:
    size = 1_000_003
    response = await target.transport.send(Request("GET", target.url(f"/stream/{size}")))
    assert response.content_length == size
    chunks = [chunk async for chunk in response.stream.iter_chunks(65536)]
    await response.aclose()
    assert len(chunks) >= size // 65536
    assert all(0 < len(chunk) <= 65536 for chunk in chunks)
    assert b"".join(chunks) == pattern(size)


@pytest.mark.parametrize("size", [1, 1000, 65_536, 1 << 20])
async def test_chunked_answer_streams_whole_in_chunks_no_larger_than_asked(
    target: Target, size: int
) -> None:
    # HTTP chunk boundaries are no end of the body, and pieces larger than
    # asked (the ~95 000-byte HTTP chunk) are cut.
    length = 100_003
    response = await target.transport.send(Request("GET", target.url(f"/chunked/{length}")))
    chunks = [chunk async for chunk in response.stream.iter_chunks(size)]
    await response.aclose()
    assert all(0 < len(chunk) <= size for chunk in chunks)
    assert b"".join(chunks) == pattern(length)


async def test_answers_without_a_body_stream_nothing_every_time(target: Target) -> None:
    # aiohttp hands every bodiless answer one shared reader, which behaves
    # differently once it has been read: several in a row must all end. A
    # transport that loops would never give the event loop back, so a
    # watchdog fails the run (with the stack) instead of hanging it.
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        for _ in range(3):
            response = await target.transport.send(Request("GET", target.url("/no-content")))
            assert response.status == 204
            assert [chunk async for chunk in response.stream.iter_chunks(4096)] == []
            await response.aclose()
            response = await target.transport.send(Request("GET", target.url("/no-content")))
            assert await response.read(4096) == b""  # how the session reads an error body
    finally:
        faulthandler.cancel_dump_traceback_later()


async def test_body_arrives_as_sent_not_decompressed_behind_the_core(target: Target) -> None:
    # Content-Length checks and JSON decoding need the bytes the server meant:
    # the transport must not negotiate a compressed answer it then passes on raw.
    response = await target.transport.send(Request("GET", target.url("/compressible")))
    assert "Content-Encoding" not in response.headers
    assert await response.read() == b"a" * 100_000


async def test_connect_refused_is_a_connect_error(target: Target) -> None:
    with pytest.raises(ConnectError) as caught:
        await target.transport.send(Request("GET", target.unreachable, timeout=SHORT))
    assert caught.value.request_sent is False


async def test_no_answer_is_a_read_timeout(target: Target) -> None:
    with anyio.fail_after(WAIT), pytest.raises(RequestTimeout) as caught:
        await target.transport.send(Request("GET", target.url("/hang"), timeout=SHORT))
    assert caught.value.request_sent is True


async def test_stalled_body_is_a_read_timeout(target: Target) -> None:
    with anyio.fail_after(WAIT), pytest.raises(RequestTimeout):
        await get(target.transport, target.url("/stall"), SHORT)


async def test_connection_dropped_mid_body_is_a_transport_error(target: Target) -> None:
    response = await target.transport.send(Request("GET", target.url("/drop")))
    assert response.status == 200
    with anyio.fail_after(WAIT), pytest.raises(TransportError) as caught:
        await response.read()
    assert not isinstance(caught.value, RequestTimeout)


async def test_connection_dropped_before_the_answer_may_have_sent_the_request(
    target: Target,
) -> None:
    with anyio.fail_after(WAIT), pytest.raises(TransportError) as caught:
        await target.transport.send(Request("GET", target.url("/drop-before-headers")))
    assert not isinstance(caught.value, ConnectError)
    assert caught.value.request_sent is True


async def test_aclose_twice_is_harmless(target: Target) -> None:
    assert await get(target.transport, target.url("/status/200")) == b"hello"
    await target.transport.aclose()
    await target.transport.aclose()


async def test_mock_aclose_marks_it_closed() -> None:
    transport = MockTransport(lambda request: pytest.fail("no request expected"))
    await transport.aclose()
    await transport.aclose()
    assert transport.closed


# Below: what only a transport with real sockets can do.


async def test_connect_timeout_says_the_request_was_not_sent(
    network_kind: str, blackhole_port: int
) -> None:
    transport = make_transport(network_kind)
    timeout = Timeout(connect=0.3, read=5.0)
    try:
        with anyio.fail_after(WAIT), pytest.raises(RequestTimeout) as caught:
            await get(transport, f"http://127.0.0.1:{blackhole_port}/", timeout)
    finally:
        await transport.aclose()
    assert caught.value.request_sent is False


async def test_total_deadline_covers_the_body(network_kind: str, server_url: str) -> None:
    transport = make_transport(network_kind)
    # Each read is quick enough, the whole exchange is not.
    timeout = Timeout(connect=2.0, read=30.0, total=0.5)
    try:
        response = await transport.send(Request("GET", f"{server_url}/stall", timeout=timeout))
        with anyio.fail_after(WAIT), pytest.raises(RequestTimeout):
            await response.read()
    finally:
        await transport.aclose()


async def test_early_close_releases_the_connection(
    network_kind: str, server: ContractServer, server_url: str
) -> None:
    # One pooled connection: if the early close did not give it back (by
    # closing it), the next request would wait for it forever.
    transport = make_transport(network_kind, pool=1)
    try:
        response = await transport.send(Request("GET", f"{server_url}/endless"))
        async for chunk in response.stream.iter_chunks(65536):
            assert chunk
            break
        await response.aclose()
        with anyio.fail_after(WAIT):
            await server.disconnected.wait()
            assert await get(transport, f"{server_url}/status/200") == b"hello"
    finally:
        await transport.aclose()


async def test_a_body_read_to_the_end_keeps_the_connection(
    network_kind: str, keepalive_server: KeepAliveServer
) -> None:
    transport = make_transport(network_kind)
    try:
        for _ in range(3):
            assert await get(transport, keepalive_server.url) == b"ok"
        assert keepalive_server.requests == 3
        assert keepalive_server.connections == 1
        assert not keepalive_server.closed.is_set()
    finally:
        await transport.aclose()


async def test_aclose_closes_an_owned_session(
    network_kind: str, keepalive_server: KeepAliveServer
) -> None:
    transport = make_transport(network_kind)
    assert await get(transport, keepalive_server.url) == b"ok"
    await transport.aclose()
    with anyio.fail_after(WAIT):
        await keepalive_server.closed.wait()
    await transport.aclose()


async def test_a_session_passed_in_is_never_closed(server_url: str) -> None:
    async with aiohttp.ClientSession(headers={"X-Owner": "caller"}) as session:
        transport = AiohttpTransport(session)
        assert await get(transport, f"{server_url}/owner") == b"caller"
        await transport.aclose()
        await transport.aclose()
        assert not session.closed
        # Still the caller's session: the transport keeps using it, and no other.
        assert await get(transport, f"{server_url}/owner") == b"caller"
        await transport.aclose()
        async with session.get(f"{server_url}/status/200") as response:
            assert await response.read() == b"hello"


async def test_a_client_passed_in_is_never_closed(server_url: str) -> None:
    async with httpx.AsyncClient(headers={"X-Owner": "caller"}) as client:
        transport = HttpxTransport(client)
        assert await get(transport, f"{server_url}/owner") == b"caller"
        await transport.aclose()
        await transport.aclose()
        assert not client.is_closed
        assert await get(transport, f"{server_url}/owner") == b"caller"
        await transport.aclose()
        assert (await client.get(f"{server_url}/status/200")).content == b"hello"
