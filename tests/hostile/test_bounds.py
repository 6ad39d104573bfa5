"""Answers read whole are bounded in size and time; stalled uploads end, on every transport.

Each server here misbehaves on purpose: an endless or oversized JSON answer,
a token endpoint that never stops, a drip of one byte at a time, a server
that takes the request headers and then never reads the body. The SDK must
stop reading at ``max_answer_size`` (the server sees the connection close),
give up on an answer that has not arrived whole within ``Timeout.read``, and
give up on an upload that made no progress for ``Timeout.write``. Every test
runs under a generous ``anyio.fail_after`` so that a regression fails
instead of hanging the run; no test asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import Call, CoreSession
from signing_async.transports import AiohttpTransport, HttpxTransport, StreamBody, Transport

from .server import HostileServer, RawRequest, answer_json

GUARD = 30.0
"""A bound on each test: far above what it needs, there only so a hang fails."""

LIMIT = 256 * 1024
"""A small max_answer_size, so that the tests move few bytes."""

TOKEN = "tok-bounds-5f1c9e"
PDF_HEAD = b"%PDF-1.4\n"


def transport(kind: str) -> Transport:
    return AiohttpTransport() if kind == "aiohttp" else HttpxTransport()


@pytest.fixture(params=["aiohttp", "httpx"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def danasign(url: str, kind: str, **options: object) -> sa.SigningClient:
    config = sa.DanaSignConfig(server_url=url, api_token=TOKEN)
    return sa.SigningClient(danasign=config, transport=transport(kind), **options)  # type: ignore[arg-type]


class Endless:
    """Serves an endless answer and records how it ended.

    Attributes:
        sent: Body bytes written so far.
        stopped: Set when the client closed the connection and writing failed.
    """

    def __init__(self, status: int = 200, *, content_length: int | None = None) -> None:
        self.status = status
        self.content_length = content_length
        self.sent = 0
        self.stopped = asyncio.Event()

    async def __call__(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        framing = (
            f"Content-Length: {self.content_length}"
            if self.content_length is not None
            else "Transfer-Encoding: chunked"
        )
        head = f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
        piece = b"x" * 65536  # the rest of a JSON string that never closes
        if self.content_length is None:
            piece = b"%x\r\n%s\r\n" % (len(piece), piece)
        opening = b'{"message": "'
        if self.content_length is None:
            opening = b"%x\r\n%s\r\n" % (len(opening), opening)
        try:
            writer.write(head.encode() + opening)
            while True:
                writer.write(piece)
                await writer.drain()
                self.sent += len(piece)
        except (ConnectionError, OSError):
            self.stopped.set()
            writer.close()


async def test_an_endless_json_answer_is_refused_and_the_connection_dropped(kind: str) -> None:
    endless = Endless()
    with anyio.fail_after(GUARD):
        async with (
            HostileServer(endless) as server,
            danasign(server.url, kind, max_answer_size=LIMIT) as client,
        ):
            with pytest.raises(sa.ResponseDecodeError) as caught:
                await client.templates.get("7")
            # The client stopped reading and hung up: the server's writes fail.
            await endless.stopped.wait()
    message = str(caught.value)
    assert "DANAsign" in message
    assert "template 7" in message
    assert "max_answer_size" in message
    # Bounded by the limit plus what socket buffers hold, nowhere near endless.
    assert endless.sent < 64 * 2**20


async def test_the_limit_is_16_mib_by_default(kind: str) -> None:
    endless = Endless()
    with anyio.fail_after(GUARD):
        async with HostileServer(endless) as server, danasign(server.url, kind) as client:
            with pytest.raises(sa.ResponseDecodeError, match="max_answer_size"):
                await client.api_tokens.whoami()
            await endless.stopped.wait()
    assert 16 * 2**20 <= endless.sent < 80 * 2**20


async def test_an_answer_announcing_more_than_the_limit_is_refused_unread(kind: str) -> None:
    endless = Endless(content_length=2 * 2**30)
    with anyio.fail_after(GUARD):
        async with (
            HostileServer(endless) as server,
            danasign(server.url, kind, max_answer_size=LIMIT) as client,
        ):
            with pytest.raises(sa.ResponseDecodeError, match=r"announces 2147483648 bytes"):
                await client.api_tokens.whoami()
            await endless.stopped.wait()


async def test_an_answer_within_the_limit_is_read(kind: str) -> None:
    body = b'{"objectId": "7", "name": "%s"}' % (b"x" * (LIMIT - 40))

    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer_json(writer, 200, body)

    with anyio.fail_after(GUARD):
        async with (
            HostileServer(handler) as server,
            danasign(server.url, kind, max_answer_size=LIMIT) as client,
        ):
            template = await client.templates.get("7")
    assert template.name == "x" * (LIMIT - 40)


async def test_an_endless_error_answer_is_cut_and_still_raises_the_api_error(kind: str) -> None:
    endless = Endless(status=400)
    with anyio.fail_after(GUARD):
        async with HostileServer(endless) as server, danasign(server.url, kind) as client:
            with pytest.raises(sa.BadRequestError) as caught:
                await client.templates.get("7")
            await endless.stopped.wait()
    assert caught.value.status == 400
    assert endless.sent < 64 * 2**20


async def test_an_endless_token_answer_is_refused(kind: str, pdf_bytes: bytes) -> None:
    endless = Endless()
    with anyio.fail_after(GUARD):
        async with HostileServer(endless) as server:
            config = sa.DanaConnectConfig(
                client_id="id",
                client_secret="secret-bounds-77",
                channel="acme",
                base_url=server.url,
                download_base_url=server.url,
            )
            async with sa.SigningClient(
                danaconnect=config, transport=transport(kind), max_answer_size=LIMIT
            ) as client:
                with pytest.raises(sa.ResponseDecodeError) as caught:
                    await client.circuits.start(
                        id="1", signer=sa.CircuitSigner("Ana", "ana@example.com", "1"),
                        docs=[pdf_bytes],
                    )  # fmt: skip
            await endless.stopped.wait()
    assert "get access token" in str(caught.value)
    assert [request.path for request in server.requests] == ["/oauth2/token"]


async def test_the_limit_can_be_set_per_call(kind: str) -> None:
    endless = Endless()
    errors = ErrorMapper("Probe")
    with anyio.fail_after(GUARD):
        async with HostileServer(endless) as server:
            session = CoreSession(transport(kind), retry=sa.RetryPolicy(), timeout=sa.Timeout())
            try:
                call = Call(
                    "Probe", "probe", "GET", server.url + "/x", errors, max_answer_size=1000
                )
                with pytest.raises(sa.ResponseDecodeError, match=r"Probe probe: .*\(1000 bytes\)"):
                    await session.json(call)
            finally:
                await session.aclose()
            await endless.stopped.wait()


def test_a_bad_limit_is_a_configuration_error() -> None:
    for bad in (0, -1, 1.5, "16M", True):
        with pytest.raises(sa.ConfigurationError, match="max_answer_size"):
            sa.SigningClient(max_answer_size=bad)  # type: ignore[arg-type]


class Drip:
    """Answers one byte at a time, each well within the read timeout.

    Attributes:
        where: ``"body"`` drips the JSON body, ``"headers"`` the header block.
        cut: Set when the client hung up on the drip.
    """

    def __init__(self, where: str, *, every: float = 0.1) -> None:
        self.where = where
        self.every = every
        self.cut = asyncio.Event()

    async def __call__(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        body = b'{"name": "' + b"x" * 100_000 + b'", "id": 7}'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"X-Padding: " + b"p" * 8000 + b"\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        whole = head + body
        start = 12 if self.where == "headers" else len(head)
        writer.write(whole[:start])
        try:
            for index in range(start, len(whole)):
                await asyncio.sleep(self.every)
                writer.write(whole[index : index + 1])
                await writer.drain()
                if writer.transport.is_closing():
                    raise ConnectionResetError
        except (ConnectionError, OSError):
            self.cut.set()
            writer.close()


@pytest.mark.parametrize("where", ["body", "headers"])
async def test_a_drip_cannot_hold_a_call(kind: str, where: str) -> None:
    drip = Drip(where)
    timeout = sa.Timeout(connect=0.5, read=0.5)
    once = sa.RetryPolicy(max_retries=0)
    with anyio.fail_after(GUARD):
        async with (
            HostileServer(drip) as server,
            danasign(server.url, kind, timeout=timeout, retry=once) as client,
        ):
            with pytest.raises(sa.RequestTimeout) as caught:
                await client.templates.get("7")
            await drip.cut.wait()
    assert "DANAsign" in str(caught.value)
    assert "template 7" in str(caught.value)


async def test_a_streamed_download_keeps_per_read_timeouts(kind: str, tmp_path: Path) -> None:
    """A download slower than ``read`` in total, but never idle that long, completes."""
    payload = b"PK\x05\x06" + b"\0" * 18

    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.path == "/oauth2/token":
            await answer_json(writer, 200, '{"access_token": "at", "expires_in": 3600}')
            return
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(payload))
        for byte in range(len(payload)):
            await asyncio.sleep(0.05)  # 22 bytes in ~1.1 s, against a 0.5 s read timeout
            writer.write(payload[byte : byte + 1])
            await writer.drain()

    with anyio.fail_after(GUARD):
        async with HostileServer(handler) as server:
            config = sa.DanaConnectConfig(
                client_id="id", client_secret="s", channel="acme",
                base_url=server.url, download_base_url=server.url,
            )  # fmt: skip
            async with sa.SigningClient(
                danaconnect=config, transport=transport(kind), timeout=sa.Timeout(read=0.5)
            ) as client:
                done = await client.circuits.download_to("9", tmp_path / "signed.zip")
    assert done.size == len(payload)


class NeverReads:
    """Hands out a token, then takes a request's headers and never reads its body nor answers.

    Attributes:
        arrived: Set when the upload's headers arrived.
    """

    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    async def __call__(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        assert request.reader is not None
        if request.path == "/oauth2/token":
            await request.reader.readexactly(int(request.headers["content-length"]))
            await answer_json(writer, 200, '{"access_token": "at-9", "expires_in": 3600}')
            return
        self.arrived.set()
        await asyncio.sleep(3600)


async def test_an_upload_that_stops_moving_raises_request_timeout(
    kind: str, tmp_path: Path
) -> None:
    document = tmp_path / "large.pdf"
    document.write_bytes(PDF_HEAD + bytes(range(256)) * (96 * 1024))  # 24 MiB, more than buffers
    never = NeverReads()
    timeout = sa.Timeout(connect=5, read=600, write=0.5)
    with anyio.fail_after(GUARD):
        async with HostileServer(never, read_body=False) as server:
            config = sa.DanaConnectConfig(
                client_id="id", client_secret="s", channel="acme",
                base_url=server.url, download_base_url=server.url,
            )  # fmt: skip
            async with sa.SigningClient(
                danaconnect=config, transport=transport(kind), timeout=timeout
            ) as client:
                with pytest.raises(sa.RequestTimeout) as caught:
                    await client.circuits.start(
                        id="c-1", signer=sa.CircuitSigner("Ana", "ana@example.com", "1"),
                        docs=[document],
                    )  # fmt: skip
    assert never.arrived.is_set()
    assert "made no progress" in str(caught.value)
    assert "DANAconnect" in str(caught.value)
    # Part of it went out: whether the server acted is unknown, and a create is not replayed.
    assert caught.value.request_sent
    assert [request.path for request in server.requests][1:] == [
        "/api/v1/biometric/start_circuit/acme"
    ]


async def test_a_slow_upload_that_keeps_moving_is_not_cut(kind: str) -> None:
    """``write`` bounds the time without progress, not the upload's length."""
    received = []

    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        assert request.reader is not None
        size = int(request.headers["content-length"])
        got = 0
        while got < size:
            await asyncio.sleep(0.05)
            got += len(await request.reader.read(64 * 1024))
        received.append(got)
        await answer_json(writer, 200, b'{"ok": true}')

    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(12):
            await asyncio.sleep(0.1)  # ~1.2 s in all, against a 0.5 s write timeout
            yield b"y" * 1000

    errors = ErrorMapper("Probe")
    with anyio.fail_after(GUARD):
        async with HostileServer(handler, read_body=False) as server:
            session = CoreSession(
                transport(kind), retry=sa.RetryPolicy(), timeout=sa.Timeout(write=0.5, read=5)
            )
            try:
                body = StreamBody(12_000, pieces)
                call = Call("Probe", "upload", "POST", server.url + "/u", errors, body=body)
                assert await session.json(call) == {"ok": True}
            finally:
                await session.aclose()
    assert received == [12_000]


async def test_a_large_body_in_one_piece_is_watched_as_well(kind: str) -> None:
    """A body given as bytes, too large for socket buffers, stalls like a stream would."""
    errors = ErrorMapper("Probe")
    never = NeverReads()
    with anyio.fail_after(GUARD):
        async with HostileServer(never, read_body=False) as server:
            session = CoreSession(
                transport(kind),
                retry=sa.RetryPolicy(max_retries=0),
                timeout=sa.Timeout(write=0.3, read=600),
            )
            try:
                body = b"[" + b"1," * (12 * 2**20) + b"1]"
                call = Call("Probe", "big post", "POST", server.url + "/b", errors, body=body)
                with pytest.raises(sa.RequestTimeout, match=r"Probe big post: .*no progress"):
                    await session.json(call)
            finally:
                await session.aclose()
    assert never.arrived.is_set()


async def test_a_small_content_length_beside_endless_chunks_is_not_trusted(kind: str) -> None:
    """``Content-Length: 10`` and ``Transfer-Encoding: chunked``: h11 follows the chunks."""
    stopped = asyncio.Event()

    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while True:
                writer.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            stopped.set()
            writer.close()

    with anyio.fail_after(GUARD):
        async with HostileServer(handler) as server:
            async with danasign(server.url, kind, max_answer_size=LIMIT) as client:
                # aiohttp refuses the pair outright; httpx reads on, up to the limit.
                with pytest.raises((sa.ResponseDecodeError, sa.TransportError)):
                    await client.templates.get("7")
            await stopped.wait()
