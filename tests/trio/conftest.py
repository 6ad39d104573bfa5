"""Running the SDK under asyncio *and* trio, against a server in its own thread.

**The backends.** anyio's pytest plugin runs every async test of the suite
(``anyio_mode = "auto"``; pytest-asyncio is strict, so it claims none of
these). Here :func:`anyio_backend` is parametrised, so each test runs once on
asyncio and once on trio; ``test_backend.py`` checks that each variant really
runs where its id says.

**The servers.** A trio test cannot share its loop with ``aiohttp.web``, so
each server runs on its own asyncio loop in a background thread: the
fake DANAconnect of ``tests/danaconnect/fake.py`` served on loopback, and the real
:class:`signing_async.sandbox.Sandbox` for every provider
(:class:`ThreadedSandbox`).
"""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Sandbox

from ..danaconnect.fake import FakeDanaConnect

T = TypeVar("T")


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


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every anyio test here runs once on asyncio and once on trio."""
    backend: str = request.param
    return backend


def zip_of(docs: dict[str, bytes]) -> bytes:
    """A signed circuit's ZIP: its documents, "signed" (unchanged)."""
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


@pytest.fixture
def danaconnect() -> Iterator[FakeDanaConnect]:
    """The loopback DANAconnect of ``tests/danaconnect``, served from a background thread."""
    yield from in_thread(FakeDanaConnect, name="danaconnect")


@pytest.fixture
def config(danaconnect: FakeDanaConnect) -> sa.DanaConnectConfig:
    """Client settings pointing both DANAconnect hosts at it."""
    return danaconnect.config()


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
