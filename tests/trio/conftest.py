"""Running the SDK under asyncio *and* trio, against a server in its own thread.

**pytest-asyncio and anyio's plugin.** The project runs pytest-asyncio in
auto mode, which claims every ``async def`` test, those marked
``@pytest.mark.anyio`` included: it would run the ``[trio]`` variants on an
asyncio loop, silently. pytest-asyncio's answer to mixed frameworks is its
strict mode, which is project-wide; so this directory hands its anyio-marked
tests back to anyio instead (see :func:`pytest_pycollect_makeitem`), and
``test_backend.py`` checks that each variant really runs where it says.
Fixtures here are synchronous, so pytest-asyncio's fixture handling (which
would also claim async fixtures) never comes into play.

**The servers.** A trio test cannot share its loop with ``aiohttp.web``, so
each server runs on its own asyncio loop in a background thread: a
hand-written DANAconnect fake (:class:`FakeDanaConnect`), and the real
:class:`signing_async.sandbox.Sandbox` for every provider
(:class:`ThreadedSandbox`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import anyio
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import signing_async as sa
from signing_async.sandbox import Sandbox

T = TypeVar("T")

CLIENT_ID = "trio-client"
CLIENT_SECRET = "trio-Secret-7c1f"
CHANNEL = "acme"
ACCESS_TOKEN = "at-trio-3b9e"
FIRST_CIRCUIT = 658936

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def big_pdf(size: int) -> bytes:
    """A PDF of ``size`` bytes: the minimal one, then a comment of varied filler."""
    filler = bytes(range(32, 127)) * (size // 95 + 1)
    return (PDF + b"%" + filler)[:size]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Any:
    """Give tests marked ``anyio`` back to anyio's plugin.

    ``tryfirst`` makes this the outermost wrapper, so it sees the items after
    pytest-asyncio's wrapper has turned them into its own asyncio items; each
    anyio-marked one is rebuilt as the plain ``pytest.Function`` pytest made
    in the first place, without the ``asyncio`` marker auto mode added.
    """
    result = yield
    if result is None:
        return None
    items = result if isinstance(result, list) else [result]
    return [_plain_function(item) for item in items]


def _plain_function(item: Any) -> Any:
    if (
        not isinstance(item, pytest.Function)
        or type(item) is pytest.Function
        or item.get_closest_marker("anyio") is None
    ):
        return item
    callspec = getattr(item, "callspec", None)
    plain = pytest.Function.from_parent(
        item.parent,
        name=item.name,
        callspec=callspec,
        callobj=item.obj,
        fixtureinfo=item._fixtureinfo,
        keywords={callspec.id: True} if callspec is not None else None,
        originalname=item.originalname,
    )
    plain.own_markers = [mark for mark in item.own_markers if mark.name != "asyncio"]
    return plain


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every anyio test here runs once on asyncio and once on trio."""
    backend: str = request.param
    return backend


class FakeDanaConnect:
    """DANAconnect's token, start-circuit and download endpoints, minimally.

    Circuit ids ``dropped`` and ``stalled`` download badly on purpose: the
    first sends part of its body and hangs up, the second part and then nothing.
    Starting a circuit with id ``refused-at-length`` gets a 400 with a 300 KB body.

    Attributes:
        token_requests: How many tokens were handed out.
        uploads: How each start-circuit body was framed (Content-Length, Transfer-Encoding).
        circuits: Each started circuit's documents, decoded: ``{circuit_id: {name: bytes}}``.
        downloads: How many download requests arrived, per circuit id.
    """

    def __init__(self) -> None:
        self.token_requests = 0
        self.uploads: list[tuple[str | None, str | None]] = []
        self.circuits: dict[str, dict[str, bytes]] = {}
        self.downloads: dict[str, int] = {}
        self._next_id = FIRST_CIRCUIT

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/oauth2/token", self.token)
        app.router.add_post("/api/v1/biometric/start_circuit/{channel}", self.start_circuit)
        app.router.add_get(
            "/api/v1/biometric/document_circuit/{channel}/circuit/{circuit_id}", self.download
        )
        return app

    async def token(self, request: web.Request) -> web.Response:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = await request.post()
        if request.headers.get("Authorization") != f"Basic {basic}":
            return web.json_response({"error": "invalid client"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported grant type"}, status=400)
        self.token_requests += 1
        return web.json_response(
            {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
        )

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return web.json_response({"error": "invalid token"}, status=401)
        if request.match_info["channel"] != CHANNEL:
            return web.json_response({"error": "unknown channel"}, status=404)
        return None

    async def start_circuit(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.uploads.append(
            (request.headers.get("Content-Length"), request.headers.get("Transfer-Encoding"))
        )
        payload = json.loads(await request.read())
        if payload["id"] == "refused-at-length":
            # An error body larger than the 64 KiB the SDK reads of one.
            return web.json_response({"error": "refused: " + "x" * 300_000}, status=400)
        docs: dict[str, bytes] = {}
        for doc in payload["docs"]:
            content = base64.b64decode(doc["content"], validate=True)
            if doc["size"] != len(content) or not content.startswith(b"%PDF-"):
                return web.json_response({"error": "bad document"}, status=400)
            docs[doc["name"]] = content
        circuit_id = str(self._next_id)
        self._next_id += 1
        self.circuits[circuit_id] = docs
        link = f"http://{request.host}/sign/{circuit_id}"
        return web.json_response({"circuitId": circuit_id, "link": link})

    async def download(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused(request)
        if refused is not None:
            return refused
        circuit_id = request.match_info["circuit_id"]
        self.downloads[circuit_id] = self.downloads.get(circuit_id, 0) + 1
        if circuit_id in ("dropped", "stalled"):
            response = web.StreamResponse(headers={"Content-Type": "application/zip"})
            response.content_length = 100_000
            await response.prepare(request)
            await response.write(b"PK\x03\x04" + b"\0" * 996)
            if circuit_id == "stalled":
                await asyncio.sleep(3600)
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        docs = self.circuits.get(circuit_id)
        if docs is None:
            return web.json_response({"error": "circuit not found"}, status=404)
        body = zip_of(docs)
        response = web.StreamResponse(headers={"Content-Type": "application/zip"})
        response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 256 * 1024):
            await response.write(body[start : start + 256 * 1024])
        await response.write_eof()
        return response


def zip_of(docs: dict[str, bytes]) -> bytes:
    """The ZIP the fake serves for a circuit: its documents, "signed" (unchanged)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in sorted(docs.items()):
            # A fixed timestamp: the same documents always make the same bytes.
            archive.writestr(zipfile.ZipInfo(f"signed-{name}", (2024, 5, 1, 12, 0, 0)), content)
    return buffer.getvalue()


def in_thread(open_: Callable[[], AbstractAsyncContextManager[T]], name: str) -> Iterator[T]:
    """Enter ``open_()`` on an asyncio loop of its own in a thread; yield what it gives.

    The loop keeps running (serving, say) until the generator is closed; then
    the context is left on that loop, and whatever it raised, there or while
    starting, is raised here.
    """
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            async with open_() as value:
                box["value"] = value
                box["stop"] = lambda: loop.call_soon_threadsafe(stop.set)
                started.set()
                await stop.wait()
        finally:
            started.set()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test thread below
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    started.wait(30)
    if "value" not in box:
        raise RuntimeError(f"{name} did not start: {box.get('error')!r}")
    try:
        yield box["value"]
    finally:
        box["stop"]()
        thread.join(30)
        if "error" in box:
            raise box["error"]


@asynccontextmanager
async def _test_server(app: web.Application) -> AsyncIterator[str]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def serve_in_thread(app: web.Application) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 in a thread with its own asyncio loop; yield its base URL."""
    yield from in_thread(lambda: _test_server(app), name="fake-danaconnect")


@pytest.fixture
def danaconnect() -> FakeDanaConnect:
    return FakeDanaConnect()


@pytest.fixture
def danaconnect_url(danaconnect: FakeDanaConnect) -> Iterator[str]:
    """The fake DANAconnect, served from a background thread."""
    yield from serve_in_thread(danaconnect.app())


@pytest.fixture
def config(danaconnect_url: str) -> sa.DanaConnectConfig:
    """Client settings pointing both DANAconnect hosts at the fake."""
    return sa.DanaConnectConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        channel=CHANNEL,
        base_url=danaconnect_url,
        download_base_url=danaconnect_url,
    )


SANDBOX_WAIT = 20.0
"""A bound on one call into the sandbox's thread: a hang fails instead of stalling the run."""


class ThreadedSandbox:
    """A :class:`~signing_async.sandbox.Sandbox` serving from its own loop and thread.

    Its URLs and credentials are fixed once it listens, so they are read
    directly; anything else (the request log, the helpers that act as a
    signer) runs on the sandbox's own loop through :meth:`call` and
    :meth:`run`, never on the test's.
    """

    def __init__(self, sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
        self._sandbox = sandbox
        self._loop = loop
        self.url = sandbox.url
        self.storage_url = sandbox.storage_url
        self.credentials = sandbox.credentials

    async def run(self, function: Callable[[Sandbox], Awaitable[T]]) -> T:
        """Await ``function(sandbox)`` on the sandbox's loop, from any backend."""
        future = asyncio.run_coroutine_threadsafe(_awaited(function(self._sandbox)), self._loop)
        # Waited for in a worker thread: the test's own loop keeps running.
        return await anyio.to_thread.run_sync(future.result, SANDBOX_WAIT)

    async def call(self, function: Callable[[Sandbox], T]) -> T:
        """Run ``function(sandbox)`` on the sandbox's loop, from any backend."""

        async def on_loop(sandbox: Sandbox) -> T:
            return function(sandbox)

        return await self.run(on_loop)

    def client(self, **overrides: Any) -> sa.SigningClient:
        """A client for all three providers, on ``HttpxTransport``, with quick retries."""
        options: dict[str, Any] = {
            "transport": sa.HttpxTransport(),
            "retry": sa.RetryPolicy(backoff_initial=0.001, backoff_max=0.01),
        }
        return self._sandbox.client(**{**options, **overrides})


async def _awaited(awaitable: Awaitable[T]) -> T:
    # run_coroutine_threadsafe takes coroutines only.
    return await awaitable


@asynccontextmanager
async def _threaded_sandbox() -> AsyncIterator[ThreadedSandbox]:
    async with Sandbox(seed=11) as sandbox:
        yield ThreadedSandbox(sandbox, asyncio.get_running_loop())


@pytest.fixture
def sandbox() -> Iterator[ThreadedSandbox]:
    """The real sandbox on 127.0.0.1, listening before the test starts."""
    yield from in_thread(_threaded_sandbox, name="sandbox")
