"""AiohttpTransport against real loopback sockets (and aioresponses for failures)."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import types
import warnings
from collections.abc import AsyncIterator

import aiohttp
import anyio
import pytest
from aiohttp import web
from aioresponses import aioresponses

import signing_async as sa
from signing_async.transports import StreamBody

from ..conftest import Serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def echo_app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "path": request.path_qs,
                "headers": dict(request.headers),
                "body": body.decode("latin-1"),
            },
            headers={"X-Request-ID": "rid-1"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def send(transport: sa.AiohttpTransport, request: sa.Request) -> tuple[int, bytes]:
    response = await transport.send(request)
    return response.status, await response.read()


async def test_sends_bytes_and_stream_bodies(serve: Serve) -> None:
    base = await serve(echo_app())
    transport = sa.AiohttpTransport()

    async def produce() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b"world"

    try:
        status, body = await send(
            transport,
            sa.Request(
                "POST",
                f"{base}/stream?x=1",
                {"Content-Length": "11", "Content-Type": "text/plain", "X-Key": "k"},
                StreamBody(11, produce),
            ),
        )
        streamed = json.loads(body)
        status2, body2 = await send(transport, sa.Request("PUT", f"{base}/bytes", {}, b"abc"))
        plain = json.loads(body2)
    finally:
        await transport.aclose()

    assert status == status2 == 200
    assert streamed["method"] == "POST"
    assert streamed["path"] == "/stream?x=1"
    assert streamed["body"] == "hello world"
    assert streamed["headers"]["Content-Length"] == "11"
    assert "Transfer-Encoding" not in streamed["headers"]
    assert streamed["headers"]["X-Key"] == "k"
    assert plain["body"] == "abc"
    # No Content-Type is invented for a body that did not declare one.
    assert "Content-Type" not in plain["headers"]


async def test_streams_the_answer(serve: Serve) -> None:
    payload = bytes(range(256)) * 12_288  # 3 MiB

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=payload, headers={"Content-Type": "application/zip"})

    app = web.Application()
    app.router.add_get("/big", big)
    base = await serve(app)

    transport = sa.AiohttpTransport()
    try:
        response = await transport.send(sa.Request("GET", f"{base}/big"))
        assert response.status == 200
        assert response.content_length == len(payload)
        assert response.headers["content-type"] == "application/zip"
        chunks = [chunk async for chunk in response.stream.iter_chunks(1 << 20)]
        await response.aclose()
    finally:
        await transport.aclose()

    assert b"".join(chunks) == payload
    assert all(len(chunk) <= 1 << 20 for chunk in chunks)


async def test_refused_connection_is_a_connect_error() -> None:
    transport = sa.AiohttpTransport()
    try:
        with pytest.raises(sa.ConnectError) as caught:
            await transport.send(sa.Request("POST", f"http://127.0.0.1:{free_port()}/x"))
    finally:
        await transport.aclose()
    assert caught.value.request_sent is False


async def test_dropped_connection_may_have_been_sent(serve: Serve) -> None:
    async def drop(request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    app = web.Application()
    app.router.add_post("/drop", drop)
    base = await serve(app)
    transport = sa.AiohttpTransport()
    try:
        with pytest.raises(sa.TransportError) as caught:
            await transport.send(sa.Request("POST", f"{base}/drop", {}, b"{}"))
    finally:
        await transport.aclose()
    assert type(caught.value) is sa.TransportError
    assert caught.value.request_sent is True


async def test_read_timeout(serve: Serve) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/stall", stall)
    base = await serve(app)
    transport = sa.AiohttpTransport()
    try:
        with pytest.raises(sa.RequestTimeout) as caught:
            await transport.send(sa.Request("GET", f"{base}/stall", timeout=sa.Timeout(read=0.05)))
    finally:
        release.set()
        await transport.aclose()
    assert caught.value.request_sent is True


async def test_truncated_body(serve: Serve) -> None:
    async def short(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"x" * 100)
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_get("/short", short)
    base = await serve(app)
    transport = sa.AiohttpTransport()
    try:
        response = await transport.send(sa.Request("GET", f"{base}/short"))
        with pytest.raises(sa.TransportError):
            await response.read()
    finally:
        await transport.aclose()


@pytest.mark.parametrize(
    ("failure", "cls", "sent"),
    [
        (
            aiohttp.ClientConnectorError(
                types.SimpleNamespace(host="h", port=443, ssl=True),  # type: ignore[arg-type]
                OSError(111, "refused"),
            ),
            sa.ConnectError,
            False,
        ),
        (aiohttp.ConnectionTimeoutError("connect"), sa.RequestTimeout, False),
        (aiohttp.SocketTimeoutError("read"), sa.RequestTimeout, True),
        (asyncio.TimeoutError(), sa.RequestTimeout, True),
        (aiohttp.ServerDisconnectedError(), sa.TransportError, True),
        (aiohttp.ClientOSError(104, "reset"), sa.TransportError, True),
    ],
)
async def test_failures_are_mapped(
    failure: BaseException, cls: type[sa.TransportError], sent: bool
) -> None:
    transport = sa.AiohttpTransport()
    try:
        with aioresponses() as mocked:
            mocked.post("https://api.example.com/x", exception=failure)
            with pytest.raises(sa.TransportError) as caught:
                await transport.send(sa.Request("POST", "https://api.example.com/x"))
    finally:
        await transport.aclose()
    assert type(caught.value) is cls
    assert caught.value.request_sent is sent


async def test_a_given_session_is_left_open(serve: Serve) -> None:
    base = await serve(echo_app())
    async with aiohttp.ClientSession() as session:
        transport = sa.AiohttpTransport(session)
        status, _ = await send(transport, sa.Request("GET", f"{base}/a"))
        await transport.aclose()
        assert not session.closed
        async with sa.SigningClient(transport=sa.AiohttpTransport(session)):
            pass
        assert not session.closed
        async with session.get(f"{base}/still-usable") as response:
            assert response.status == 200
    assert status == 200


async def test_an_owned_session_is_closed(serve: Serve) -> None:
    base = await serve(echo_app())
    transport = sa.AiohttpTransport()
    status, _ = await send(transport, sa.Request("GET", f"{base}/a"))
    await transport.aclose()
    await transport.aclose()  # twice is fine

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del transport
        gc.collect()
    assert status == 200
    assert not [w for w in caught if "Unclosed" in str(w.message)]


async def test_close_without_use() -> None:
    # Created and closed unused: no session was ever made, so none is left unclosed.
    transport = sa.AiohttpTransport()
    await transport.aclose()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del transport
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]


async def test_concurrent_requests_keep_their_own_timeouts(serve: Serve) -> None:
    # The transport remembers the last Timeout it converted. A request that
    # gathers a small stream body awaits in between: a request sent meanwhile
    # with another Timeout must not lend it its own.
    release = asyncio.Event()
    other_done = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await request.read()
        await release.wait()
        return web.Response()

    app = echo_app()
    app.router.add_post("/stall", stall)
    base = await serve(app)
    transport = sa.AiohttpTransport()

    async def body() -> AsyncIterator[bytes]:
        await other_done.wait()
        yield b"payload"

    async def stalled_with_a_short_read_timeout() -> None:
        request = sa.Request(
            "POST", f"{base}/stall", body=StreamBody(7, body), timeout=sa.Timeout(read=0.05)
        )
        with pytest.raises(sa.RequestTimeout):
            await transport.send(request)

    async def other_with_a_long_one() -> None:
        status, _ = await send(
            transport, sa.Request("GET", f"{base}/x", timeout=sa.Timeout(read=60))
        )
        assert status == 200
        other_done.set()

    try:
        with anyio.fail_after(30):  # a failure, not a hang, if the short one is lost
            await asyncio.gather(stalled_with_a_short_read_timeout(), other_with_a_long_one())
    finally:
        release.set()
        await transport.aclose()


async def test_a_chunk_boundary_read_on_its_own_is_not_the_end() -> None:
    # The client reads a chunk's data before the CRLF that closes it arrives;
    # aiohttp then reports the boundary as an empty piece of its own, and the
    # rest of the body must still come.
    first_read = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello")
        await writer.drain()
        await first_read.wait()
        writer.write(b"\r\n6\r\n world\r\n0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = sa.AiohttpTransport()
    try:
        response = await transport.send(sa.Request("GET", f"http://127.0.0.1:{port}/"))
        chunks = []
        async for chunk in response.stream.iter_chunks(1024):
            chunks.append(chunk)
            first_read.set()
        await response.aclose()
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    assert chunks == [b"hello", b" world"]


async def test_an_owned_session_reads_with_a_buffer_of_at_least_a_mebibyte(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp's own 64 KiB read buffer caps download speed. Seen on the
    # answer aiohttp really read into: each session the transport creates
    # gets a trace that records its responses' buffer limits.
    limits: list[tuple[int, int]] = []

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: types.SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        limits.append(params.response.content.get_read_buffer_limits())

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    real_session = aiohttp.ClientSession

    def traced_session(*args: object, **kwargs: object) -> aiohttp.ClientSession:
        return real_session(*args, trace_configs=[trace], **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aiohttp, "ClientSession", traced_session)
    base = await serve(echo_app())
    transport = sa.AiohttpTransport()
    try:
        status, _ = await send(transport, sa.Request("GET", f"{base}/a"))
    finally:
        await transport.aclose()

    assert status == 200
    ((low_water, _),) = limits
    assert low_water >= 1 << 20
