"""Proxies and CA bundles, through a real loopback proxy written here.

The proxy speaks just enough HTTP/1.1: ``CONNECT host:port`` opens a tunnel
(for https), an absolute-form request is forwarded (for http). It only ever
connects to 127.0.0.1 and records what it was asked. The HTTPS server's
certificate comes from a test CA made with trustme: unknown to the system,
so a request verifies only when the SDK is given that CA.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

import signing_async as sa
from signing_async import ConfigurationError, TransportError
from signing_async.transports import AiohttpTransport, HttpxTransport, Request, Transport

TRANSPORTS: dict[str, Callable[..., Transport]] = {
    "aiohttp": AiohttpTransport,
    "httpx": HttpxTransport,
}


class LoopbackProxy:
    """A CONNECT and forward proxy on 127.0.0.1 that records each request it gets."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> LoopbackProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = dict(line.split(": ", 1) for line in header_lines if line and ": " in line)
        self.seen.append((method, target))
        lowered = {name.lower(): value for name, value in headers.items()}
        self.authorizations.append(lowered.get("proxy-authorization"))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            if host != "127.0.0.1":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._pipe(reader, writer, up_reader, up_writer)
            return
        parts = urlsplit(target)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = [
            f"{name}: {value}"
            for name, value in headers.items()
            if name.lower() not in ("proxy-authorization", "proxy-connection", "connection")
        ]
        up_writer.write(
            "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""]).encode(
                "latin-1"
            )
        )
        await self._pipe(reader, writer, up_reader, up_writer)

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        async def copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            with contextlib.suppress(OSError, RuntimeError):
                target.write_eof()

        try:
            await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        finally:
            up_writer.close()


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world", "scheme": request.scheme})


async def authorization(request: web.Request) -> web.Response:
    return web.json_response({"authorization": request.headers.get("Authorization")})


async def whoami(request: web.Request) -> web.Response:
    # An independent fake of DANAsign's whoami, enough for one call.
    if request.headers.get("x-danassign-api-key") != "corp-token":
        return web.json_response({"error": "Invalid API token"}, status=405)
    return web.json_response({"data": {"userId": "u-1", "email": "ops@corp.example"}})


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@contextlib.asynccontextmanager
async def server(ca: trustme.CA | None) -> AsyncIterator[str]:
    """A loopback web server (HTTPS with a certificate from ``ca``); yields its base URL."""
    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/api/tokens/whoami", whoami)
    app.router.add_get("/authorization", authorization)
    context: ssl.SSLContext | None = None
    if ca is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
    test_server = TestServer(app, host="127.0.0.1", scheme="https" if context else "http")
    await test_server.start_server(ssl=context)
    try:
        yield str(test_server.make_url("")).rstrip("/")
    finally:
        await test_server.close()


async def get(transport: Transport, url: str) -> tuple[int, bytes]:
    try:
        response = await transport.send(Request("GET", url))
        return response.status, await response.read()
    finally:
        await transport.aclose()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE",
                 "SSL_CERT_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize("kind", sorted(TRANSPORTS))
async def test_an_https_request_goes_through_the_proxy_given_and_trusts_the_bundle_given(
    kind: str, ca: trustme.CA, ca_bundle: Path
) -> None:
    async with server(ca) as base, LoopbackProxy() as proxy:
        transport = TRANSPORTS[kind](proxy=proxy.url, verify=str(ca_bundle))
        status, body = await get(transport, f"{base}/hello")
    assert status == 200
    assert b'"scheme": "https"' in body
    port = urlsplit(base).port
    assert proxy.seen == [("CONNECT", f"127.0.0.1:{port}")]


@pytest.mark.parametrize("kind", sorted(TRANSPORTS))
async def test_proxy_credentials_in_the_url_are_sent_to_the_proxy(kind: str) -> None:
    async with server(None) as base, LoopbackProxy() as proxy:
        credentials = proxy.url.replace("http://", "http://ops:s3cret@")
        status, _ = await get(TRANSPORTS[kind](proxy=credentials), f"{base}/hello")
    assert status == 200
    assert proxy.seen == [("GET", f"{base}/hello")]
    assert proxy.authorizations == ["Basic b3BzOnMzY3JldA=="]  # base64("ops:s3cret")


@pytest.mark.parametrize("kind", sorted(TRANSPORTS))
async def test_the_environments_proxy_is_honoured_and_no_proxy_too(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with server(None) as base, LoopbackProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        status, _ = await get(TRANSPORTS[kind](), f"{base}/hello")
        through = list(proxy.seen)
        ignored, _ = await get(TRANSPORTS[kind](trust_env=False), f"{base}/hello")
        after_ignored = list(proxy.seen)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        bypassed, _ = await get(TRANSPORTS[kind](), f"{base}/hello")
    assert (status, ignored, bypassed) == (200, 200, 200)
    assert through == [("GET", f"{base}/hello")]
    assert after_ignored == through  # trust_env=False: straight to the server
    assert proxy.seen == through  # NO_PROXY: straight to the server


@pytest.mark.parametrize("kind", sorted(TRANSPORTS))
async def test_an_unknown_authority_is_refused_unless_ssl_cert_file_names_it(
    kind: str, ca: trustme.CA, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with server(ca) as base:
        with pytest.raises(TransportError):
            await get(TRANSPORTS[kind](), f"{base}/hello")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
        status, _ = await get(TRANSPORTS[kind](), f"{base}/hello")
        context = ssl.create_default_context()
        ca.configure_trust(context)
        with_context, _ = await get(TRANSPORTS[kind](verify=context, trust_env=False),
                                    f"{base}/hello")  # fmt: skip
    assert (status, with_context) == (200, 200)


async def test_from_env_takes_the_proxy_and_the_ca_bundle_from_signing_variables(
    ca: trustme.CA, ca_bundle: Path
) -> None:
    async with server(ca) as base, LoopbackProxy() as proxy:
        env = {
            "SIGNING_DANASIGN_SERVER_URL": base,
            "SIGNING_DANASIGN_API_TOKEN": "corp-token",
            "SIGNING_PROXY": proxy.url,
            "SIGNING_CA_BUNDLE": str(ca_bundle),
        }
        async with sa.SigningClient.from_env(env) as client:
            who = await client.api_tokens.whoami()
    assert (who.user_id, who.email) == ("u-1", "ops@corp.example")
    assert proxy.seen == [("CONNECT", f"127.0.0.1:{urlsplit(base).port}")]


@pytest.mark.parametrize("kind", sorted(TRANSPORTS))
@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"verify": False}, "verify=False is refused"),
        ({"verify": "/nonexistent/ca.pem"}, "cannot load the CA bundle"),
        ({"proxy": "socks5://proxy:1080"}, "expected an http:// or https:// URL"),
        ({"proxy": "ftp://user:hunter2@proxy"}, "expected an http:// or https:// URL"),
    ],
)
def test_bad_settings_are_refused_at_once(kind: str, options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        TRANSPORTS[kind](**options)
    assert "hunter2" not in str(caught.value)


async def test_aiohttp_sends_a_netrc_entry_only_where_no_authorization_is_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ops password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    transport = AiohttpTransport()
    try:
        async with server(None) as base:
            bare = await transport.send(Request("GET", f"{base}/authorization"))
            own = await transport.send(
                Request("GET", f"{base}/authorization", {"Authorization": "Bearer t-1"})
            )
            answers = [json.loads(await bare.read()), json.loads(await own.read())]
    finally:
        await transport.aclose()
    assert answers == [
        {"authorization": "Basic b3BzOnMzY3JldA=="},  # base64("ops:s3cret")
        {"authorization": "Bearer t-1"},  # the SDK's own credentials win
    ]


@pytest.mark.parametrize("kind", sorted(TRANSPORTS))
async def test_the_environments_proxy_is_read_once_per_transport(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = TRANSPORTS[kind]()
    try:
        async with server(None) as base, LoopbackProxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            first = await transport.send(Request("GET", f"{base}/hello"))
            await first.read()
            monkeypatch.delenv("HTTP_PROXY")
            second = await transport.send(Request("GET", f"{base}/hello"))
            await second.read()
    finally:
        await transport.aclose()
    # Read when the first request went to the server, not again for each request.
    assert proxy.seen == [("GET", f"{base}/hello")] * 2
