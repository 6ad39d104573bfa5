"""A bulk run's concurrency is what is in flight: the pool grows, or a warning says why not.

The server counts the requests it holds at once (each on a connection of its
own: HTTP/1.1 without pipelining) and holds every one until the run's whole
concurrency has arrived, or, so that a smaller pool still ends, a while
after. The figure asserted is that count, never a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest

import signing_async as sa
from signing_async.transports import AiohttpTransport, HttpxTransport, Transport
from tests.hostile.server import HostileServer, RawRequest, answer_json

CREATED = b'{"documentId": "d-1", "status": "sent"}'


class Gate:
    """Holds requests until ``target`` are in at once (or ``patience`` seconds pass)."""

    def __init__(self, target: int, patience: float) -> None:
        self.target = target
        self.patience = patience
        self.holding = 0
        self.peak = 0
        self.full = asyncio.Event()
        self.armed = True

    async def handler(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if not self.armed:
            await answer_json(writer, 200, CREATED)
            return
        self.holding += 1
        self.peak = max(self.peak, self.holding)
        if self.holding >= self.target:
            self.full.set()
        # asyncio.TimeoutError: on Python 3.10 it is not yet the builtin TimeoutError.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.full.wait(), self.patience)
        self.holding -= 1
        await answer_json(writer, 200, CREATED)


def document(index: int, pdf: bytes) -> dict[str, Any]:
    widget = {"type": "signature", "page": 1, "x": 10, "y": 10, "w": 50, "h": 20}
    return {
        "file": pdf,
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": "ana@example.com"}],
        "placeholders": [{"role": "Client", "widgets": [widget]}],
        "metadata": {"external_id": f"ext-{index}"},
    }


@contextlib.asynccontextmanager
async def client_of(url: str, transport: Transport) -> AsyncIterator[sa.SigningClient]:
    config = sa.DanaSignConfig(server_url=url, api_token="t")
    async with sa.SigningClient(danasign=config, transport=transport) as client:
        yield client


async def run_all(client: sa.SigningClient, pdf: bytes, count: int, concurrency: int) -> None:
    items = (document(index, pdf) for index in range(count))
    async with client.documents.create_many(items, concurrency=concurrency) as outcomes:
        statuses = {outcome.status async for outcome in outcomes}
    assert statuses == {"succeeded"}


@pytest.mark.parametrize("warm", [False, True], ids=["fresh", "pool-in-use"])
@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_a_pool_the_sdk_created_grows_to_the_concurrency(
    kind: str, warm: bool, pdf_bytes: bytes
) -> None:
    concurrency = 120  # above the default pool of 100
    gate = Gate(concurrency, patience=10)  # opening 120 connections takes a while here
    transport: Transport = AiohttpTransport() if kind == "aiohttp" else HttpxTransport()
    async with HostileServer(gate.handler) as server, client_of(server.url, transport) as client:
        if warm:  # the pool exists already, with a connection in it
            gate.armed = False
            await client.documents.create(**document(-1, pdf_bytes))
            gate.armed = True
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # growing our own pool is no cause for a warning
            await run_all(client, pdf_bytes, concurrency, concurrency)
    assert gate.peak == concurrency


async def test_a_session_passed_in_is_left_alone_and_a_warning_says_so(pdf_bytes: bytes) -> None:
    gate = Gate(20, patience=0.2)
    async with HostileServer(gate.handler) as server:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=10))
        try:
            async with client_of(server.url, AiohttpTransport(session)) as client:
                with pytest.warns(RuntimeWarning, match=r"more than the 10 connections") as caught:
                    await run_all(client, pdf_bytes, 20, 20)
            assert session.connector is not None
            assert session.connector.limit == 10  # the caller's pool is the caller's
        finally:
            await session.close()
    assert "TCPConnector(limit=20)" in str(caught[0].message)
    assert gate.peak == 10


async def test_an_httpx_client_passed_in_is_left_alone_and_a_warning_says_so(
    pdf_bytes: bytes,
) -> None:
    gate = Gate(20, patience=0.2)
    async with HostileServer(gate.handler) as server:
        limits = httpx.Limits(max_connections=10)
        async with (
            httpx.AsyncClient(limits=limits) as own,
            client_of(server.url, HttpxTransport(own)) as client,
        ):
            with pytest.warns(RuntimeWarning, match=r"more than the 10 connections"):
                await run_all(client, pdf_bytes, 20, 20)
    assert gate.peak == 10


async def test_a_pool_large_enough_is_not_shrunk(pdf_bytes: bytes) -> None:
    gate = Gate(8, patience=0.2)
    transport = AiohttpTransport(limit=200)
    async with HostileServer(gate.handler) as server, client_of(server.url, transport) as client:
        await run_all(client, pdf_bytes, 8, 8)
        session = transport._get_session()
        assert session.connector is not None
        assert session.connector.limit == 200
    assert gate.peak == 8
