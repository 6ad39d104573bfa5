"""Lifecycle edges: a client belongs to one event loop; a cancelled upload cleans up at once.

The servers here run in threads of their own (plain sockets, no event loop),
so that the client can be driven from several event loops in turn, and from
trio as well as asyncio.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socketserver
import sys
import threading
import types
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import anyio.to_thread
import httpx
import pytest

import signing_async as sa
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import Call, CoreSession
from signing_async.transports import AiohttpTransport, HttpxTransport, StreamBody, Transport

GUARD = 30.0
"""A bound on every wait: there only so that a regression fails instead of hanging."""

TEMPLATE = json.dumps({"objectId": "7", "name": "contract"}).encode()
TOKEN = json.dumps({"access_token": "at-life", "expires_in": 3600}).encode()


class _Handler(socketserver.StreamRequestHandler):
    server: ThreadedServer

    def handle(self) -> None:
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = self.rfile.readline()
                if not line:
                    return
                head += line
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            length = int(headers.get("content-length", "0"))
            if path == "/oauth2/token" or not self.server.hold_uploads:
                self.rfile.read(length)
                body = TOKEN if path == "/oauth2/token" else TEMPLATE
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                self.wfile.flush()
                continue
            # An upload: take its first byte, then never read again nor answer.
            self.rfile.read(1)
            self.server.upload_started.set()
            self.server.release.wait(GUARD)
            return


class ThreadedServer(socketserver.ThreadingTCPServer):
    """Answers a template and a token, or holds uploads after their first byte.

    Attributes:
        url: Where it listens.
        hold_uploads: Whether a request other than the token's is held unanswered.
        upload_started: Set when a held upload's first body byte arrived.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, hold_uploads: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hold_uploads = hold_uploads
        self.upload_started = threading.Event()
        self.release = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def threaded_server(*, hold_uploads: bool = False) -> Iterator[ThreadedServer]:
    server = ThreadedServer(hold_uploads=hold_uploads)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(GUARD)


def make_transport(kind: str) -> Transport:
    return AiohttpTransport() if kind == "aiohttp" else HttpxTransport()


def danasign(url: str, transport: Transport) -> sa.SigningClient:
    return sa.SigningClient(
        danasign=sa.DanaSignConfig(server_url=url, api_token="tok-life"), transport=transport
    )


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
def test_a_client_used_from_a_second_event_loop_says_it_belongs_to_one(kind: str) -> None:
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        with threaded_server() as server:
            client = danasign(server.url, make_transport(kind))
            template = first.run_until_complete(client.templates.get("7"))
            assert template.name == "contract"
            with pytest.raises(sa.ConfigurationError, match="belongs to one event loop"):
                second.run_until_complete(client.templates.get("7"))
            with pytest.raises(sa.ConfigurationError, match="belongs to one event loop"):
                second.run_until_complete(client.aclose())
            # Its own loop still has it, whole.
            assert first.run_until_complete(client.templates.get("7")) == template
            first.run_until_complete(client.aclose())
    finally:
        first.close()
        second.close()


def test_asyncio_run_twice_with_one_client_raises_a_configuration_error() -> None:
    """The usual way into the mistake: the first loop is gone when the second one starts."""
    with threaded_server() as server:
        holder: dict[str, sa.SigningClient] = {}

        async def first() -> aiohttp.ClientSession:
            # A pool of the test's own, closed with its loop so that nothing
            # outlives the test; the client is left open, as a careless program leaves it.
            pool = aiohttp.ClientSession()
            holder["client"] = danasign(server.url, AiohttpTransport(pool))
            await holder["client"].templates.get("7")
            await pool.close()
            return pool

        async def again() -> None:
            await holder["client"].templates.get("7")

        asyncio.run(first())
        with pytest.raises(sa.ConfigurationError, match=r"asyncio\.run"):
            asyncio.run(again())


def test_a_client_used_from_a_second_trio_run_raises_a_configuration_error() -> None:
    with threaded_server() as server:
        pool = httpx.AsyncClient()
        client = danasign(server.url, HttpxTransport(pool))

        async def first() -> None:
            await client.templates.get("7")
            await pool.aclose()  # the connections go with their run

        async def again() -> None:
            await client.templates.get("7")

        anyio.run(first, backend="trio")
        with pytest.raises(sa.ConfigurationError, match="belongs to one event loop"):
            anyio.run(again, backend="trio")


def open_sdk_generators() -> list[str]:
    """The SDK's async generators that were started and are neither finished nor closed."""
    return sorted(
        obj.ag_code.co_qualname
        for obj in gc.get_objects()
        if isinstance(obj, types.AsyncGeneratorType)
        and obj.ag_frame is not None
        and obj.ag_frame.f_lasti >= 0
        and "signing_async" in obj.ag_code.co_filename
    )


@contextmanager
def every_warning_an_error() -> Iterator[list[str]]:
    """Warnings as errors; those the garbage collector could not raise about the
    body (its generators, its file) are collected.

    Left out: aiohttp closes a dropped connection gracefully, so a socket
    whose unsent bytes a server never reads stays "closing" until the server
    hangs up, and is reported if the loop ends first. That is the socket's
    lifecycle, not the body's.
    """
    unraisable: list[str] = []
    previous = sys.unraisablehook

    def hook(info: Any) -> None:
        text = repr(info.exc_value)
        if "unclosed transport" not in text and "unclosed <socket" not in text:
            unraisable.append(text)

    sys.unraisablehook = hook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield unraisable
    finally:
        sys.unraisablehook = previous


async def cancel_once_started(server: ThreadedServer, call: Callable[[], Any]) -> None:
    """Run ``call``; cancel it once the server got the first byte of its upload."""
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await anyio.to_thread.run_sync(server.upload_started.wait, GUARD)
            group.cancel_scope.cancel()


CASES = [("asyncio", "aiohttp"), ("asyncio", "httpx"), ("trio", "httpx")]


@pytest.mark.parametrize(("backend", "kind"), CASES)
def test_a_cancelled_upload_closes_its_body_at_once(backend: str, kind: str) -> None:
    closed: list[str] = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                # No await here: a cancellation can only find the transport
                # writing, never this generator running.
                yield b"u" * 65536
        finally:
            closed.append("closed")

    async def main(server: ThreadedServer) -> None:
        session = CoreSession(
            make_transport(kind), retry=sa.RetryPolicy(max_retries=0), timeout=sa.Timeout()
        )
        body = StreamBody(1 << 40, endless)
        call = Call("Probe", "upload", "POST", server.url + "/u", ErrorMapper("Probe"), body=body)
        try:
            await cancel_once_started(server, lambda: session.json(call))
            # Closed by the time the cancelled call is over: no garbage collection needed.
            assert closed == ["closed"]
        finally:
            await session.aclose()

    with threaded_server(hold_uploads=True) as server, every_warning_an_error() as unraisable:
        anyio.run(main, server, backend=backend)
        gc.collect()
    assert unraisable == []


@pytest.mark.parametrize(("backend", "kind"), CASES)
def test_a_cancelled_document_upload_leaves_no_generator_nor_file_open(
    backend: str, kind: str, tmp_path: Path
) -> None:
    document = tmp_path / "large.pdf"
    document.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * (96 * 1024))  # 24 MiB

    async def main(server: ThreadedServer) -> list[str]:
        config = sa.DanaConnectConfig(
            client_id="id", client_secret="s", channel="acme",
            base_url=server.url, download_base_url=server.url,
        )  # fmt: skip
        async with sa.SigningClient(danaconnect=config, transport=make_transport(kind)) as client:
            signer = sa.CircuitSigner("Ana", "ana@example.com", "1")
            await cancel_once_started(
                server, lambda: client.circuits.start(id="1", signer=signer, docs=[document])
            )
            gc.collect()
            left = open_sdk_generators()
            await anyio.sleep(0.1)  # a finalizer the collector scheduled would run now
        return left

    with threaded_server(hold_uploads=True) as server, every_warning_an_error() as unraisable:
        left = anyio.run(main, server, backend=backend)
        gc.collect()
    assert left == []
    assert unraisable == []
