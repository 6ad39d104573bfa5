"""The server every transport is checked against, and the transports themselves.

One ``aiohttp.web`` app on 127.0.0.1 plays the server; ``MockTransport`` gets
a handler that answers the same routes the same way, for the part of the
contract a mock can honour (it has no sockets: no pool, no early close).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from signing_async import ConnectError, RequestTimeout, TransportError
from signing_async.transports import (
    AiohttpTransport,
    HttpxTransport,
    MockTransport,
    RecordedRequest,
    Response,
    Transport,
)

MOCK_BASE = "http://contract.invalid"
CHUNKED_PIECES = (1, 5000, 7, 300_000, 65_536, 13)
"""The sizes of the HTTP chunks ``/chunked/`` sends, over and over."""
STALL = 3600.0
"""How long a stalled handler sleeps: forever, as far as a test is concerned."""


def pattern(size: int) -> bytes:
    """``size`` bytes that are not all alike, so a reordered or lost chunk shows."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def upload_report(body: bytes, headers: Any) -> dict[str, Any]:
    """What the upload route answers: what it received, and how it was framed."""
    return {
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "content_length": headers.get("Content-Length"),
        "transfer_encoding": headers.get("Transfer-Encoding"),
    }


class ContractServer:
    """The loopback server, with what it observed.

    Attributes:
        disconnected: Set when a client hangs up on ``/endless`` mid-body.
    """

    def __init__(self) -> None:
        self.disconnected = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status/{code}", self.status)
        app.router.add_post("/upload", self.upload)
        app.router.add_get("/stream/{size}", self.stream)
        app.router.add_get("/chunked/{size}", self.chunked)
        app.router.add_get("/no-content", self.no_content)
        app.router.add_get("/compressible", self.compressible)
        app.router.add_get("/endless", self.endless)
        app.router.add_get("/hang", self.hang)
        app.router.add_get("/stall", self.stall)
        app.router.add_get("/drop", self.drop)
        app.router.add_get("/drop-before-headers", self.drop_before_headers)
        app.router.add_get("/owner", self.owner)
        return app

    async def status(self, request: web.Request) -> web.Response:
        headers = CIMultiDict([("X-Multi", "one"), ("X-Multi", "two"), ("X-Single", "yes")])
        return web.Response(status=int(request.match_info["code"]), body=b"hello", headers=headers)

    async def upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(upload_report(body, request.headers))

    async def stream(self, request: web.Request) -> web.StreamResponse:
        body = pattern(int(request.match_info["size"]))
        response = web.StreamResponse()
        response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 100_000):
            await response.write(body[start : start + 100_000])
        await response.write_eof()
        return response

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        """The body in HTTP chunks of uneven sizes (Transfer-Encoding: chunked)."""
        body = pattern(int(request.match_info["size"]))
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        start = 0
        for size in itertools.cycle(CHUNKED_PIECES):
            if start >= len(body):
                break
            await response.write(body[start : start + size])
            start += size
        await response.write_eof()
        return response

    async def no_content(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def compressible(self, request: web.Request) -> web.Response:
        response = web.Response(body=b"a" * 100_000, content_type="text/plain")
        # Compresses only if the client says it accepts a compressed answer.
        response.enable_compression()
        return response

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            # Far more than socket buffers hold: the writes block until the
            # client reads or hangs up.
            for _ in range(4096):
                await response.write(b"x" * 65536)
        except BaseException:
            self.disconnected.set()
            raise
        return response

    async def hang(self, request: web.Request) -> web.Response:
        await asyncio.sleep(STALL)
        return web.Response()

    async def stall(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b"x" * 10)
        await asyncio.sleep(STALL)
        return response

    async def drop(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b"x" * 100)
        assert request.transport is not None
        request.transport.close()
        # The client must see a body cut short; the handler is done either way.
        raise asyncio.CancelledError

    async def drop_before_headers(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError

    async def owner(self, request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("X-Owner", "nobody"))


class KeepAliveServer:
    """A bare HTTP/1.1 server that sees its connections open and close.

    Every request gets ``200 ok`` on a kept-alive connection; when the client
    closes one, ``closed`` is set.

    Attributes:
        url: Where it listens.
        connections: How many connections were opened.
        requests: How many requests were answered.
        closed: Set when a client closes a connection.
    """

    def __init__(self) -> None:
        self.url = ""
        self.connections = 0
        self.requests = 0
        self.closed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed.set()
                    return
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        finally:
            writer.close()


class _CutShort:
    """A mock response body that breaks after its first bytes, like a dropped connection."""

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        yield b"x" * 100
        raise TransportError("emulated: connection lost mid-body")

    async def aclose(self) -> None:
        return None


def mock_server(request: RecordedRequest) -> Response:
    """The contract server's routes, answered in memory for ``MockTransport``."""
    if not request.url.startswith(MOCK_BASE):
        raise ConnectError("emulated: connection refused")
    path = request.url[len(MOCK_BASE) :]
    if path.startswith("/status/"):
        headers = CIMultiDict([("X-Multi", "one"), ("X-Multi", "two"), ("X-Single", "yes")])
        return Response(int(path.rsplit("/", 1)[1]), headers=headers, content=b"hello")
    if path == "/upload":
        # A mock has no framing: the "server" sees exactly the bytes, with their length.
        report = upload_report(request.content, {"Content-Length": str(len(request.content))})
        return Response(200, content=json.dumps(report).encode())
    if path.startswith("/stream/"):
        body = pattern(int(path.rsplit("/", 1)[1]))
        return Response(200, headers={"Content-Length": str(len(body))}, content=body)
    if path.startswith("/chunked/"):
        return Response(200, content=pattern(int(path.rsplit("/", 1)[1])))
    if path == "/no-content":
        return Response(204)
    if path == "/compressible":
        return Response(200, content=b"a" * 100_000)
    if path in ("/hang", "/stall"):
        raise RequestTimeout("emulated: no answer in time")
    if path == "/drop":
        return Response(200, headers={"Content-Length": "1000"}, stream=_CutShort())
    if path == "/drop-before-headers":
        raise TransportError("emulated: server closed the connection")
    return Response(404)


@attrs.frozen
class Target:
    """A transport under test and where its server is.

    Attributes:
        kind: ``aiohttp``, ``httpx`` or ``mock``.
        transport: The transport, closed after the test.
        base: The server's base URL.
        unreachable: A loopback URL where nothing listens.
    """

    kind: str
    transport: Transport
    base: str
    unreachable: str

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, so nobody else takes it, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A loopback port where connecting hangs: its accept queue is full and never drained."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            yield port


@pytest.fixture
def server() -> ContractServer:
    return ContractServer()


@pytest.fixture
async def keepalive_server() -> AsyncIterator[KeepAliveServer]:
    """A :class:`KeepAliveServer` on 127.0.0.1."""
    state = KeepAliveServer()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/"
    try:
        yield state
    finally:
        listener.close()
        await listener.wait_closed()


@pytest.fixture
async def server_url(server: ContractServer) -> AsyncIterator[str]:
    """The contract server, running on 127.0.0.1 in the test's loop."""
    test_server = TestServer(server.app(), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield str(test_server.make_url("")).rstrip("/")
    finally:
        await test_server.close()


NETWORK_KINDS = ["aiohttp", "httpx"]
ALL_KINDS = [*NETWORK_KINDS, "mock"]

TransportFactory = Callable[..., Transport]


def make_transport(kind: str, *, pool: int | None = None) -> Transport:
    """A transport of ``kind`` that owns its session, with a pool of ``pool`` connections."""
    if kind == "aiohttp":
        return AiohttpTransport() if pool is None else AiohttpTransport(limit=pool)
    if kind == "httpx":
        limits = None if pool is None else httpx.Limits(max_connections=pool)
        return HttpxTransport(limits=limits)
    return MockTransport(mock_server)


@pytest.fixture(params=ALL_KINDS)
async def target(
    request: pytest.FixtureRequest, server_url: str, refused_port: int
) -> AsyncIterator[Target]:
    """Each transport in turn, pointed at the contract server (or its in-memory twin)."""
    kind: str = request.param
    transport = make_transport(kind)
    base = MOCK_BASE if kind == "mock" else server_url
    try:
        yield Target(kind, transport, base, f"http://127.0.0.1:{refused_port}/status/200")
    finally:
        await transport.aclose()


@pytest.fixture(params=NETWORK_KINDS)
def network_kind(request: pytest.FixtureRequest) -> str:
    """The transports that talk to a real socket."""
    kind: str = request.param
    return kind
