"""Fixtures every test package may use: a minimal PDF, loopback HTTP servers, a secret check.

Every test also runs under :func:`no_secret_in_logs`: whatever it logs, at any
level and from any logger, must not contain a credential the suite uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from aiohttp import web

from .log_secrets import SecretWatch

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
"""A tiny one-page A4 PDF: enough for every ``%PDF-`` check."""


@pytest.fixture
def anyio_backend() -> str:
    """The event loop of every async test and fixture (anyio's plugin, auto mode).

    ``tests/trio/`` overrides it to run its tests on trio as well.
    """
    return "asyncio"


@pytest.fixture
def pdf_bytes() -> bytes:
    """The bytes of a minimal valid PDF."""
    return MINIMAL_PDF


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start ``aiohttp.web`` apps on 127.0.0.1 (a free port); returns their base URL.

    Every server started through the fixture is stopped when the test ends.
    """
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """Fail any test during which a log record, at any level, carried a known secret.

    A handler of its own, not ``caplog``: tests that use ``caplog`` keep theirs
    as it was. It hangs on the root logger (every library's records) and on
    ``signing_async`` (the SDK's, should a test stop them propagating), both
    at DEBUG for the test's duration; see :mod:`tests.log_secrets`.
    """
    watch = SecretWatch()
    with watch.attached():
        yield
    if watch.leaks:
        pytest.fail("a secret reached the logs:\n" + "\n".join(watch.leaks))
