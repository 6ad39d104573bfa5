"""Fixtures for the integration tests: a running sandbox and sample files.

Every test here drives the real SDK (``AiohttpTransport`` unless it says
otherwise) against :class:`signing_async.sandbox.Sandbox` on a loopback
socket, and reads the sandbox's request log to see what reached the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import signing_async as sa
from signing_async.sandbox import Sandbox, samples

from .support import CREDENTIALS, FAST_RETRY, Samples


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    """A sandbox on 127.0.0.1 with credentials no other string could match by chance."""
    async with Sandbox(seed=7, credentials=CREDENTIALS) as sandbox:
        yield sandbox


@pytest.fixture
async def client(sb: Sandbox) -> AsyncIterator[sa.SigningClient]:
    """A client for every provider of ``sb``, with fast retries."""
    async with sb.client(retry=FAST_RETRY) as signing:
        yield signing


@pytest.fixture
def files(tmp_path: Path) -> Samples:
    """Sample PDFs on disk (in their own folder) and images in memory."""
    folder = tmp_path / "in"
    folder.mkdir()
    return Samples(
        contract=samples.write_pdf(folder / "contract.pdf", pages=2, text="Contract"),
        annex=samples.write_pdf(folder / "annex.pdf", text="Annex", size=200_000),
        terms=samples.make_pdf(text="Terms"),
        jpeg=samples.make_jpeg(),
        png=samples.make_png(),
    )
