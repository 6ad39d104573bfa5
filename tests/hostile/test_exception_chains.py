"""No exception the SDK raises leads to a credential, however deep one looks.

The HTTP libraries' own exceptions hold the request they failed on (httpx's
``err.request.headers``, aiohttp's ``ClientResponseError.request_info``),
credentials included. The SDK must not chain them: these tests provoke every
kind of failure on both transports, then walk everything reachable from the
raised exception (``__cause__``, ``__context__``, ``args``, attributes,
containers, recursively) looking for the credentials in any form. Frames and
tracebacks are not walked: every Python exception's traceback reaches the
locals of the code that raised it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import socket
import types
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async.transports import AiohttpTransport, HttpxTransport, Transport

from .server import HostileServer, RawRequest, answer_json

GUARD = 30.0
API_TOKEN = "tok-chain-SECRET-4b2d"
CLIENT_SECRET = "cs-chain-SECRET-91aa"
ACCESS_TOKEN = "at-chain-SECRET-0c7e"
BASIC = base64.b64encode(f"chain-client:{CLIENT_SECRET}".encode()).decode()
# A presigned download URL's signature, in its query string.
SIGNATURE = "X-Amz-Signature=sig-chain-SECRET-77f1"
SECRETS = (API_TOKEN, CLIENT_SECRET, ACCESS_TOKEN, BASIC, SIGNATURE)

_LEAVES = (str, bytes, bytearray, memoryview, int, float, complex, bool, type(None))
_SKIPPED = (
    types.FrameType,
    types.TracebackType,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    type,
)


def reachable(root: object, *, depth: int = 10) -> Iterator[object]:
    """Every object reachable from ``root`` through chains, attributes and containers."""
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(root, 0)]
    while stack:
        current, level = stack.pop()
        if id(current) in seen or level > depth or isinstance(current, _SKIPPED):
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, _LEAVES):
            continue
        children: list[object] = []
        if isinstance(current, BaseException):
            children += [current.__cause__, current.__context__, *current.args]
            children += getattr(current, "exceptions", ())
        if isinstance(current, Mapping):
            # A mapping that cannot list itself holds nothing this walk could see.
            with contextlib.suppress(Exception):
                children += [item for pair in current.items() for item in pair]
        elif isinstance(current, list | tuple | set | frozenset):
            children += list(current)
        children += list(getattr(current, "__dict__", {}).values())
        for cls in type(current).__mro__:
            for name in getattr(cls, "__slots__", ()):
                children.append(getattr(current, name, None))
        stack += [(child, level + 1) for child in children]


def leaks(error: BaseException) -> list[str]:
    """The secrets found anywhere reachable from ``error``, in text or bytes."""
    found = set()
    for item in reachable(error):
        if isinstance(item, BaseException):
            texts = [str(item), repr(item)]
        elif isinstance(item, str):
            texts = [item]
        elif isinstance(item, bytes | bytearray | memoryview):
            texts = [bytes(item).decode("latin-1")]
        else:
            continue
        found |= {secret for secret in SECRETS for text in texts if secret in text}
    return sorted(found)


@pytest.fixture(params=["aiohttp", "httpx"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def transport(kind: str) -> Transport:
    return AiohttpTransport() if kind == "aiohttp" else HttpxTransport()


def client_for(url: str, kind: str, **options: object) -> sa.SigningClient:
    return sa.SigningClient(
        danasign=sa.DanaSignConfig(server_url=url, api_token=API_TOKEN),
        danaconnect=sa.DanaConnectConfig(
            client_id="chain-client",
            client_secret=CLIENT_SECRET,
            channel="acme",
            base_url=url,
            download_base_url=url,
        ),
        transport=transport(kind),
        retry=sa.RetryPolicy(max_retries=0),
        **options,  # type: ignore[arg-type]
    )


Handler = Callable[[RawRequest, asyncio.StreamWriter], Awaitable[None]]


async def _never_answers(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def _cut_mid_body(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n")
    writer.write(b'\r\n{"objectId": "')
    await writer.drain()
    writer.close()


async def _garbage_status(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 2x0 Nonsense\r\nContent-Length: 2\r\n\r\n{}")
    await writer.drain()
    writer.close()


async def _bad_header(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBroken header line\r\n\r\n{}")
    await writer.drain()
    writer.close()


async def _hang_up(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _drip(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        await asyncio.sleep(0.05)
        writer.write(b" ")
        await writer.drain()


async def _bad_chunk(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    # aiohttp's error for it quotes the URL whole: url='...?X-Amz-Signature=...'.
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n")
    await writer.drain()
    writer.close()


SERVERS: dict[str, Handler] = {
    "bad-chunk": _bad_chunk,
    "read-timeout": _never_answers,
    "cut-mid-body": _cut_mid_body,
    "garbage-status": _garbage_status,
    "bad-header": _bad_header,
    "hang-up": _hang_up,
    "drip": _drip,
}


@pytest.mark.parametrize("server_kind", sorted(SERVERS))
async def test_no_credential_is_reachable_from_a_failed_danasign_call(
    kind: str, server_kind: str
) -> None:
    timeout = sa.Timeout(connect=1, read=0.3)
    with anyio.fail_after(GUARD):
        async with (
            HostileServer(SERVERS[server_kind]) as server,
            client_for(server.url, kind, timeout=timeout) as client,
        ):
            with pytest.raises(sa.SigningError) as caught:
                await client.templates.get("7")
    assert leaks(caught.value) == []


@pytest.mark.parametrize("server_kind", sorted(SERVERS))
async def test_a_presigned_urls_signature_is_in_no_error_and_no_log_line(
    kind: str, server_kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signing_async")
    with anyio.fail_after(GUARD):
        async with HostileServer(SERVERS[server_kind]) as server:
            config = sa.SofiaConfig(
                client_id="chain-client",
                client_secret=CLIENT_SECRET,
                tenant_id="tenant-1",
                base_url=server.url,
            )
            async with sa.SigningClient(
                sofia=config,
                transport=transport(kind),
                retry=sa.RetryPolicy(max_retries=0),
                timeout=sa.Timeout(connect=1, read=0.3),
            ) as client:
                with pytest.raises(sa.SigningError) as caught:
                    await client.otp_signatures.download_signed(
                        f"{server.url}/storage/signed.pdf?{SIGNATURE}", tmp_path / "signed.pdf"
                    )
    assert leaks(caught.value) == []
    # The SDK's own lines (httpx logs each request's full URL at INFO itself).
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("signing_async")]
    assert ours
    assert not [line for line in ours if SIGNATURE in line]
    assert os.listdir(tmp_path) == []  # nothing written


@pytest.mark.parametrize("server_kind", ["garbage-status", "cut-mid-body", "read-timeout"])
async def test_no_credential_is_reachable_from_a_failed_token_request(
    kind: str, server_kind: str, pdf_bytes: bytes
) -> None:
    timeout = sa.Timeout(connect=1, read=0.3)
    with anyio.fail_after(GUARD):
        async with (
            HostileServer(SERVERS[server_kind]) as server,
            client_for(server.url, kind, timeout=timeout) as client,
        ):
            with pytest.raises(sa.SigningError) as caught:
                await client.circuits.start(
                    id="1", signer=sa.CircuitSigner("Ana", "ana@example.com", "1"),
                    docs=[pdf_bytes],
                )  # fmt: skip
    assert [request.path for request in server.requests] == ["/oauth2/token"]
    assert leaks(caught.value) == []


async def test_no_bearer_token_is_reachable_from_a_failed_call(kind: str, pdf_bytes: bytes) -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.path == "/oauth2/token":
            body = f'{{"access_token": "{ACCESS_TOKEN}", "expires_in": 3600}}'
            await answer_json(writer, 200, body)
        else:
            await _garbage_status(request, writer)

    with anyio.fail_after(GUARD):
        async with HostileServer(handler) as server, client_for(server.url, kind) as client:
            with pytest.raises(sa.SigningError) as caught:
                await client.circuits.start(
                    id="1", signer=sa.CircuitSigner("Ana", "ana@example.com", "1"),
                    docs=[pdf_bytes],
                )  # fmt: skip
    assert server.requests[-1].headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert leaks(caught.value) == []


async def test_no_credential_is_reachable_from_a_connect_error(kind: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with client_for(url, kind) as client:
            with pytest.raises(sa.ConnectError) as caught:
                await client.api_tokens.whoami()
    assert leaks(caught.value) == []


async def test_no_credential_is_reachable_from_a_connect_timeout(kind: str) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # The accept queue is full and never drained: connecting hangs.
        with socket.create_connection(("127.0.0.1", port)):
            url = f"http://127.0.0.1:{port}"
            timeout = sa.Timeout(connect=0.3)
            with anyio.fail_after(GUARD):
                async with client_for(url, kind, timeout=timeout) as client:
                    with pytest.raises(sa.TransportError) as caught:
                        await client.templates.get("7")
    assert leaks(caught.value) == []


async def test_no_credential_is_reachable_from_a_stalled_upload(kind: str, tmp_path: Path) -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        assert request.reader is not None
        if request.path == "/oauth2/token":
            await request.reader.readexactly(int(request.headers["content-length"]))
            body = f'{{"access_token": "{ACCESS_TOKEN}", "expires_in": 3600}}'
            await answer_json(writer, 200, body)
            return
        await asyncio.sleep(3600)  # takes the headers, never the body

    document = tmp_path / "large.pdf"
    document.write_bytes(b"%PDF-1.4\n" + b"z" * (24 * 2**20))
    timeout = sa.Timeout(write=0.3, read=600)
    with anyio.fail_after(GUARD):
        async with (
            HostileServer(handler, read_body=False) as server,
            client_for(server.url, kind, timeout=timeout) as client,
        ):
            with pytest.raises(sa.RequestTimeout) as caught:
                await client.circuits.start(
                    id="1", signer=sa.CircuitSigner("Ana", "ana@example.com", "1"),
                    docs=[document],
                )  # fmt: skip
    assert leaks(caught.value) == []


def test_the_walk_finds_a_credential_where_there_is_one() -> None:
    """The check itself: a header mapping hidden behind a cause and an attribute is found."""

    class Holder:
        def __init__(self) -> None:
            self.headers = {"x-api-token": API_TOKEN.encode()}

    inner = RuntimeError("inner")
    inner.request = Holder()  # type: ignore[attr-defined]
    outer = sa.TransportError("outer")
    outer.__cause__ = inner
    assert leaks(outer) == [API_TOKEN]
